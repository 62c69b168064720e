"""``fame-bench reproduce <table> [--preset cpu] [--seeds 3]``: runs what a table needs, writes it.

Each table's rows are run (or taken from the run cache) for every seed, then
``reports/<table>.md`` and its figures are written from the run records only. ``all`` does every
table and the index ``reports/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from fame_bench.reports import figures, tables
from fame_bench.reports.definitions import TABLES, TableDef
from fame_bench.reports.paper import claims_for, departures_for, numbers_for
from fame_bench.reports.stats import group_by_name
from fame_bench.reports.verdicts import check_all
from fame_bench.train.experiment import ExperimentSpec, run_experiment

PRESETS = ("ci", "cpu", "paper")
MASK_VARIANTS = (("Gauss", "gauss", "code"), ("Seed", "seed", "code"), ("Grid", "grid", "code"),
                 ("FAME", "fame", "code"), ("FAME, hue='turns'", "fame", "turns"))


def run_rows(tdef: TableDef, preset: str, seeds: list[int], runs_dir: Path,
             data_root: str | None = None, log=print, pretrain_set: dict | None = None,
             eval_set: dict | None = None) -> list[dict]:
    """Every row × seed of ``tdef`` (from the cache where present); ``pretrain_set`` /
    ``eval_set`` override config fields of every row (they enter the record's hash)."""
    records = []
    for _, spec in tdef.rows:
        spec = _with_overrides(_with_data_root(spec, data_root), pretrain_set, eval_set)
        for seed in seeds:
            start = time.perf_counter()
            record = run_experiment(spec, preset, seed, runs_dir=runs_dir)
            log(f"[{tdef.name}] {spec.name} seed {seed}: {time.perf_counter() - start:.1f} s")
            records.append(record)
    return records


#: With ``--data-root``: the real datasets standing behind each synthetic one (pretraining set,
#: downstream set): UCF101-scale pretraining; Diving48 for the fine-grained stand-in.
REAL_COUNTERPART = {"synthetic": ("ucf101", "ucf101"),
                    "synthetic_finegrained": ("ucf101", "diving48")}


def _with_data_root(spec: ExperimentSpec, data_root: str | None) -> ExperimentSpec:
    """The same row on the real datasets under ``data_root`` (the paper preset)."""
    if data_root is None:
        return spec
    overrides = dict(spec.pretrain_overrides)
    overrides["data_root"] = data_root
    pretrain_set, eval_set = REAL_COUNTERPART.get(spec.dataset, (spec.dataset, spec.dataset))
    return dataclasses.replace(spec, dataset=pretrain_set, eval_dataset=eval_set,
                               pretrain_overrides=tuple(sorted(overrides.items())))


def _with_overrides(spec: ExperimentSpec, pretrain_set: dict | None,
                    eval_set: dict | None) -> ExperimentSpec:
    if not pretrain_set and not eval_set:
        return spec
    pre = {**dict(spec.pretrain_overrides), **(pretrain_set or {})}
    ev = {**dict(spec.eval_overrides), **(eval_set or {})}
    return dataclasses.replace(spec, pretrain_overrides=tuple(sorted(pre.items())),
                               eval_overrides=tuple(sorted(ev.items())))


def parse_assignments(items: list[str] | None) -> dict:
    """``["steps=10", "jitter=[0.4,0.4,0.4,0]"]`` → ``{"steps": 10, "jitter": (0.4, ...)}``;
    values are JSON where they parse (lists become tuples), else strings."""
    out = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected FIELD=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out[key.strip().replace("-", "_")] = tuple(value) if isinstance(value, list) else value
    return out


# --- table4: mask IoU and gallery -------------------------------------------------------------


def measure_mask_iou(preset: str, seeds: list[int], beta: float = 0.5) -> dict:
    """IoU and recall of each FAME mask variant against the ground truth, at ``beta``, by
    engineer B's :func:`fame_bench.bench.mask_quality.measure` (per-seed means).

    Returns ``{"split", "beta", "variants": {row: {"beta", "iou": [...], "recall": [...]}}}``.
    """
    from fame_bench.bench.mask_quality import measure
    from fame_bench.data.synthetic import SyntheticConfig

    results = measure(SyntheticConfig.preset(preset), seeds, split="test_biased")
    variants = {}
    for (row, row_beta), entry in results.items():
        if row_beta != beta and not row.startswith("grid"):
            continue
        if row.startswith("grid") and row_beta != 0.5:
            continue
        variants[row] = {"beta": 0.5 if row.startswith("grid") else row_beta,
                         "iou": [float(np.mean(a)) for a in entry["iou"]],
                         "recall": [float(np.mean(a)) for a in entry["recall"]]}
    return {"split": "test_biased", "beta": beta, "variants": variants}


def mask_gallery_arrays(preset: str, seed: int, beta: float = 0.5, clips: int = 4) -> dict:
    """Middle frames, ground truth and each variant's mask for the first ``clips`` clips."""
    import torch

    from fame_bench.augment import foreground_mask
    from fame_bench.data.synthetic import SyntheticConfig, make_split

    split = make_split(SyntheticConfig.preset(preset), "test_biased", seed=seed)
    videos = torch.as_tensor(split.videos[:clips]).float() / 255.0  # (N, C, T, H, W)
    masks = {label: foreground_mask(videos, beta, variant=variant, hue=hue).float().numpy()
             for label, variant, hue in MASK_VARIANTS}
    return {"frames": videos[:, :, videos.shape[2] // 2].permute(0, 2, 3, 1).numpy(),
            "truth": torch.as_tensor(split.masks[:clips]).any(dim=1).float().numpy(),
            "masks": masks}


# --- vthcl: the Instance Correspondence Map ----------------------------------------------------


def icm_figure(records: list[dict], path: Path, clips: int = 4) -> str:
    """The ICM of the first VTHCL run (engineer C's ``save_icm_figure``) on ``test_biased``
    clips sampled as in pretraining; returns the Markdown line for the report."""
    run = next((r for r in records if r["method"] == "vthcl" and r.get("pretrain")
                and "res5" in r["config"]["pretrain"].get("vthcl_levels", ())), None)
    if run is None:
        return "_ICM not drawn: no VTHCL run with a res5 head is recorded._"
    import torch

    from fame_bench.methods.vthcl import save_icm_figure
    from fame_bench.train.batches import load_synthetic, make_batch
    from fame_bench.train.checkpoint import load_method
    from fame_bench.train.config import PretrainConfig

    cfg = PretrainConfig.from_dict(run["config"]["pretrain"])
    cfg = dataclasses.replace(cfg, num_videos=clips, batch_size=clips)
    batch = make_batch(load_synthetic(cfg, "test_biased"), cfg, step=0, rank=0, world_size=1,
                       device=torch.device("cpu"))
    model = load_method(run["pretrain"]["run_dir"])
    path.parent.mkdir(parents=True, exist_ok=True)
    save_icm_figure(model, batch["slow"], batch["fast"], path, max_clips=clips)
    return (f"![Instance Correspondence Map of {run['name']} seed {run['seed']}]"
            f"(figures/{path.name})\n\nInstance Correspondence Map (VTHCL paper): cosine "
            "similarity of each res5 position of the slow clip, projected by φ_5, with the fast "
            "clip's embedding; `test_biased` clips (ground truth: the moving object).")


# --- one report -----------------------------------------------------------------------------


def _moco_chance_loss(records: list[dict]) -> float | None:
    queues = {r["config"]["pretrain"].get("queue_size") for r in records if r["method"] == "moco"}
    queues.discard(None)
    return math.log(queues.pop() + 1) if len(queues) == 1 else None


def _chance(records: list[dict]) -> float | None:
    for record in records:
        classes = (record.get("config", {}).get("data") or {}).get("num_classes")
        if classes:
            return 1.0 / float(classes)
    return None


def _reports_dir_option(reports_dir: Path) -> str:
    """The ``--reports-dir`` part of a regeneration command; empty for the default."""
    return "" if reports_dir.name == "reports" else f" --reports-dir {reports_dir}"


def write_report(tdef: TableDef, records: list[dict], preset: str, seeds: list[int],
                 reports_dir: Path, wall_time_s: float, extras: dict | None = None) -> Path:
    """``reports/<table>.md`` and its figures, from ``records`` (and ``extras`` for table4)."""
    extras = extras or {}
    fig_dir = reports_dir / "figures"
    groups = group_by_name(records)
    ordered = {name: groups[name] for name in tdef.names if name in groups}
    labels = {spec.name: label for label, spec in tdef.rows}
    rows = [(label, spec.name) for label, spec in tdef.rows]

    figures.loss_curves(ordered, labels, fig_dir / f"{tdef.name}_loss.png",
                        chance_loss=_moco_chance_loss(records))
    figures.bar_chart(ordered, labels, list(tdef.bar_metrics), fig_dir / f"{tdef.name}_bars.png",
                      chance=_chance(records))
    out = [
        f"# {tdef.title}",
        "",
        f"_Generated by `nox -s reproduce_{tdef.name} -- --preset {preset}"
        f"{'' if len(seeds) == 3 else f' --seeds {len(seeds)}'}"
        f"{_reports_dir_option(reports_dir)}` "
        f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC) from the run records in "
        f"`runs/{preset}/`. Do not edit by hand._",
        "",
        tdef.what,
        "",
        "## What was run",
        "",
        tables.header_block(records, preset, seeds, wall_time_s),
        "",
        "Metrics (synthetic benchmark, `docs/synthetic_benchmark.md`): top-1 on the biased, swapped and "
        "background-only test splits; **motion probe**: a linear probe trained on unbiased data, "
        "tested on the swapped split; **bias gap** = biased − swapped; **background reliance** "
        "= background-only accuracy − chance. All in %.",
        "",
        "## Results — linear probe (frozen backbone)",
        "",
        tables.results_table(groups, rows, "linear"),
        "",
    ]
    if tables.has_protocol(groups, "finetune"):
        out += ["## Results — finetune", "", tables.results_table(groups, rows, "finetune"), ""]
    if tables.has_protocol(groups, "retrieval"):
        out += ["## Retrieval (test clips query the train set)", "",
                tables.retrieval_table(groups, rows), ""]
    if "mask_iou" in extras:
        out += ["## Mask IoU against the ground truth (our measurement; the paper had none)", "",
                tables.mask_iou_table(extras["mask_iou"]), "",
                f"Split `{extras['mask_iou']['split']}` (every clip), β = "
                f"{extras['mask_iou']['beta']}, against the union of the per-frame masks over "
                "time; measured by `fame_bench.bench.mask_quality` (its report has β 0.3/0.7). "
                "The oracle keeps the top-β pixels of the ground truth itself: no mask of that "
                "size does better.", ""]
    out += [
        "## The papers' numbers (printed by the papers, not measured here)",
        "",
        tables.paper_table(numbers_for(tdef.name)),
        "",
        "## Verdicts (computed from the numbers above)",
        "",
        "Each claim is read on the metric named in its line (by default the motion probe, the "
        "direct measure of motion in the frozen features). \"Within noise\": the difference is "
        "smaller than the sum of the two rows' stds over seeds (at least 1 point).",
        "",
        tables.verdict_list(check_all(claims_for(tdef.name), groups)),
        "",
        "## Augmentation cost (from the runs' own step timings)",
        "",
        tables.cost_table(groups, rows),
        "",
        "Timings are on a shared CPU: read the share of the step, not the absolute ms.",
        "",
        "## Figures",
        "",
        f"![mean ± std over seeds](figures/{tdef.name}_bars.png)",
        "",
        f"![loss curves](figures/{tdef.name}_loss.png)",
        "",
    ]
    if tdef.violin_rows:
        figures.temporal_violins(groups, labels, list(tdef.violin_rows),
                                 fig_dir / f"{tdef.name}_figure2.png")
        out += [f"![temporal kernel weights per stage](figures/{tdef.name}_figure2.png)", ""]
    if "gallery" in extras:
        g = extras["gallery"]
        figures.mask_gallery(g["frames"], g["truth"], g["masks"],
                             fig_dir / f"{tdef.name}_masks.png")
        out += [f"![mask gallery: frame, ground truth, each variant](figures/{tdef.name}"
                "_masks.png)", ""]
    if "icm" in extras:
        out += [extras["icm"], ""]
    out += ["## Where this differs from the papers", "",
            *(f"- {d}" for d in departures_for(
                tdef.name, any(spec.augment == "be" for _, spec in tdef.rows))), ""]
    path = reports_dir / f"{tdef.name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out))
    return path


def reproduce_table(name: str, preset: str, seeds: list[int], runs_dir: Path, reports_dir: Path,
                    data_root: str | None = None, pretrain_set: dict | None = None,
                    eval_set: dict | None = None) -> Path:
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; expected one of {sorted(TABLES)} or 'all'")
    tdef = TABLES[name]
    start = time.perf_counter()
    records = run_rows(tdef, preset, seeds, runs_dir, data_root, pretrain_set=pretrain_set,
                       eval_set=eval_set)
    extras: dict = {}
    if tdef.mask_gallery:
        iou = measure_mask_iou(preset, seeds)
        (runs_dir / preset).mkdir(parents=True, exist_ok=True)
        (runs_dir / preset / f"{name}_mask_iou.json").write_text(json.dumps(iou, indent=1))
        extras.update(mask_iou=iou, gallery=mask_gallery_arrays(preset, seeds[0]))
    if tdef.icm:
        extras["icm"] = icm_figure(records, reports_dir / "figures" / f"{name}_icm.png")
    return write_report(tdef, records, preset, seeds, reports_dir,
                        time.perf_counter() - start, extras)


#: Reports written by their own nox sessions (measurements, not paper tables).
MEASUREMENT_REPORTS = (
    ("augmentation_cost.md", "nox -s augmentation_cost"),
    ("mask_quality.md", "nox -s mask_quality"),
    ("data_throughput.md", "nox -s data_throughput"),
    ("training_throughput.md", "nox -s training_throughput"),
)


def verdict_counts(text: str) -> dict[str, int]:
    """Count a report's verdict lines: agreeing beyond noise, agreeing within noise (or on one
    seed), not agreeing, not measured."""
    counts = {"clear": 0, "noise": 0, "against": 0, "missing": 0}
    for line in text.splitlines():
        if line.startswith("- ✓ "):
            weak = "(difference within noise)" in line or "(one seed" in line
            counts["noise" if weak else "clear"] += 1
        elif line.startswith("- ✗ "):
            counts["against"] += 1
        elif line.startswith("- – "):
            counts["missing"] += 1
    return counts


def write_index(reports_dir: Path, written: list[Path], preset: str) -> Path:
    """``reports/README.md``: a link to each report and its count of verdicts."""
    lines = ["# fame-bench reports", "",
             f"_Generated by `nox -s reproduce_all -- --preset {preset}"
             f"{_reports_dir_option(reports_dir)}` "
             f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC). Every number in these reports "
             "is measured by the code from run records; the papers' numbers are printed in "
             "separate, labelled tables._", "",
             "## Paper tables", "",
             "A claim \"agrees\" when the sign of our difference matches the paper's; it agrees "
             "*clearly* only when the difference exceeds the spread over seeds.", "",
             "| report | agrees, beyond noise | agrees, within noise | does not agree "
             "| not measured |",
             "|---|---|---|---|---|"]
    for path in written:
        text = path.read_text()
        title = text.splitlines()[0].lstrip("# ")
        c = verdict_counts(text)
        lines.append(f"| [{title}]({path.name}) | {c['clear']} | {c['noise']} | {c['against']} "
                     f"| {c['missing']} |")
    others = sorted(p for p in reports_dir.glob("*/*.md") if p.parent.name != "figures")
    if others:  # the same tables at other presets, written with --reports-dir reports/<preset>
        lines += ["", "## Other presets", ""]
        lines += [f"- [{p.relative_to(reports_dir)}]({p.relative_to(reports_dir)}): "
                  f"{p.read_text().splitlines()[0].lstrip('# ')}" for p in others]
    measured = [(n, c) for n, c in MEASUREMENT_REPORTS if (reports_dir / n).exists()]
    if measured:
        lines += ["", "## Measurements", "", "| report | regenerated by |", "|---|---|"]
        lines += [f"| [{name}]({name}) | `{command}` |" for name, command in measured]
    lines.append("")
    index = reports_dir / "README.md"
    index.write_text("\n".join(lines))
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fame-bench reproduce", description=__doc__)
    parser.add_argument("table", choices=[*TABLES, "all"])
    parser.add_argument("--preset", default="cpu", choices=PRESETS)
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0..n-1), ≥ 1")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--reports-dir", default="reports")
    parser.add_argument("--data-root", default=None,
                        help="root of the real datasets (paper preset)")
    parser.add_argument("--set", dest="pretrain_set", action="append", metavar="FIELD=VALUE",
                        help="override a PretrainConfig field in every row (repeatable)")
    parser.add_argument("--eval-set", action="append", metavar="FIELD=VALUE",
                        help="override an EvalConfig field in every row (repeatable)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    seeds = list(range(args.seeds))
    names = list(TABLES) if args.table == "all" else [args.table]
    written = []
    for name in names:
        path = reproduce_table(name, args.preset, seeds, Path(args.runs_dir),
                               Path(args.reports_dir), args.data_root,
                               pretrain_set=parse_assignments(args.pretrain_set),
                               eval_set=parse_assignments(args.eval_set))
        print(f"wrote {path}")
        written.append(path)
    if args.table == "all":
        print(f"wrote {write_index(Path(args.reports_dir), written, args.preset)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
