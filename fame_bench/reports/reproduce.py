"""``fame-bench reproduce <table> [--preset cpu] [--seeds 3|0,2,5]``: runs what a table needs,
writes it.

Each table's rows are run (or taken from the run cache) for every seed, then
``reports/<table>.md``, its data (``<table>.json``, ``<table>.csv``) and its figures are written
from the run records only. ``all`` does every
table and the index ``reports/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from fame_bench.cli_help import DEFAULT_PRESET, preset_help
from fame_bench.names import PRESETS
from fame_bench.provenance import git_state
from fame_bench.reports import data, figures, tables
from fame_bench.reports.definitions import TABLES, TableDef
from fame_bench.reports.paper import claims_for, departures_for, numbers_for
from fame_bench.reports.runner import (
    Job,
    Progress,
    default_jobs,
    fmt_duration,
    run_jobs,
    unique_jobs,
)
from fame_bench.reports.stats import chance_accuracy, group_by_name, num_classes
from fame_bench.reports.validity import chance_loss, is_plain_moco, learnability_checks
from fame_bench.reports.verdicts import OUTCOMES, check_all, outcome_counts
from fame_bench.train.experiment import (
    REAL_DATASETS,
    ExperimentSpec,
    cached_record,
    plan_experiment,
)

DEFAULT_SEEDS = 5
MASK_VARIANTS = (("Gauss", "gauss", "code"), ("Seed", "seed", "code"), ("Grid", "grid", "code"),
                 ("FAME", "fame", "code"), ("FAME, hue='turns'", "fame", "turns"))


#: PretrainConfig fields the reproduction sets itself, and where they come from: ``--set`` may
#: not override them (a row's method or seed silently replaced would mislabel its numbers).
OWNED_FIELDS = {
    "seed": "--seeds", "out_dir": "--runs-dir", "preset_name": "--preset",
    "data_root": "--data-root", "method": "the table's rows", "augment": "the table's rows",
    "dataset": "the table's rows; with --data-root, --set dataset=NAME picks the real "
               "pretraining set", "fame_beta": "the table's rows",
    "fame_variant": "the table's rows", "fame_both": "the table's rows",
    "vthcl_alpha": "the table's rows", "vthcl_levels": "the table's rows",
}


def row_specs(tdef: TableDef, data_root: str | None = None, pretrain_set: dict | None = None,
              eval_set: dict | None = None) -> list[ExperimentSpec]:
    """The specs of ``tdef``'s rows, on ``data_root`` and with the overrides applied."""
    pretrain_set = dict(pretrain_set or {})
    pretrain_dataset = pretrain_set.pop("dataset", None) if data_root else None
    if pretrain_dataset is not None and pretrain_dataset not in REAL_DATASETS:
        raise ValueError(f"--set dataset={pretrain_dataset}: with --data-root the pretraining set "
                         f"is one of {REAL_DATASETS}")
    owned = sorted(set(pretrain_set) & set(OWNED_FIELDS))
    if owned:
        raise ValueError(f"--set {owned[0]}: the reproduction sets this field itself (from "
                         f"{OWNED_FIELDS[owned[0]]}); it cannot be overridden")
    return [_with_overrides(_with_data_root(spec, data_root, pretrain_dataset), pretrain_set,
                            eval_set)
            for _, spec in tdef.rows]


def check_rows(tdefs: list[TableDef], preset: str, seeds: list[int], runs_dir: Path,
               data_root: str | None = None, pretrain_set: dict | None = None,
               eval_set: dict | None = None) -> None:
    """Build and validate the configs of every row × seed of ``tdefs`` (a ``ValueError`` names
    the first bad field) before any row runs."""
    for tdef in tdefs:
        for spec in row_specs(tdef, data_root, pretrain_set, eval_set):
            for seed in seeds:
                plan_experiment(spec, preset, seed, runs_dir)


def table_jobs(tdef: TableDef, preset: str, seeds: list[int], data_root: str | None = None,
               pretrain_set: dict | None = None, eval_set: dict | None = None) -> list[Job]:
    """Every row × seed of ``tdef``, overrides applied."""
    return [Job(spec, preset, seed)
            for spec in row_specs(tdef, data_root, pretrain_set, eval_set) for seed in seeds]


def run_rows(tdef: TableDef, preset: str, seeds: list[int], runs_dir: Path,
             data_root: str | None = None, log=print, pretrain_set: dict | None = None,
             eval_set: dict | None = None, jobs: int = 1, force: bool = False) -> list[dict]:
    """Every row × seed of ``tdef`` (from the cache where present; ``force``: recomputed),
    ``jobs`` runs at a time; ``pretrain_set`` / ``eval_set`` override config fields of every row
    (they enter the record's hash). Every row's configs are validated before the first one
    runs."""
    check_rows([tdef], preset, seeds, runs_dir, data_root, pretrain_set, eval_set)
    table = table_jobs(tdef, preset, seeds, data_root, pretrain_set, eval_set)
    done = run_jobs(table, runs_dir, workers=jobs, log=lambda line: log(f"[{tdef.name}] {line}"),
                    force=force)
    return [done[job.key] for job in table]


def dry_run(names: list[str], preset: str, seeds: list[int], runs_dir: Path,
            data_root: str | None = None, pretrain_set: dict | None = None,
            eval_set: dict | None = None, workers: int = 1, force: bool = False,
            out=print) -> list[tuple[Job, bool]]:
    """List every row × seed of the tables ``names`` (each run once), cached or not, where its
    record lies, and the ETA of the runs left from past wall times; runs nothing. Returns
    ``(job, cached)`` pairs."""
    jobs = unique_jobs([job for name in names for job in table_jobs(
        TABLES[name], preset, seeds, data_root, pretrain_set, eval_set)])
    progress = Progress(jobs, runs_dir, workers)
    listed = []
    for job in jobs:
        plan = plan_experiment(job.spec, preset, job.seed, runs_dir)
        cached = not force and cached_record(plan) is not None
        listed.append((job, cached))
        past = progress.estimate(job)
        state = "cached" if cached else \
            f"to run ({'≈ ' + fmt_duration(past) if past is not None else 'never timed'})"
        out(f"{job.spec.name:<28} seed {job.seed}  {state:<24} {plan.path.parent}")
    left = [job for job, cached in listed if not cached]
    out(f"{len(listed)} runs: {len(listed) - len(left)} cached, {len(left)} to run"
        f"{' (--force: every one)' if force else ''}; ETA {progress.eta(left)} with "
        f"{workers} worker(s), from the wall times of past runs of the same rows")
    return listed


#: With ``--data-root``: the real datasets standing behind each synthetic one (pretraining set,
#: downstream set): UCF101-scale pretraining; Diving48 for the fine-grained stand-in.
REAL_COUNTERPART = {"synthetic": ("ucf101", "ucf101"),
                    "synthetic_finegrained": ("ucf101", "diving48")}


def _with_data_root(spec: ExperimentSpec, data_root: str | None,
                    pretrain_dataset: str | None = None) -> ExperimentSpec:
    """The same row on the real datasets under ``data_root`` (the paper preset), pretrained on
    ``pretrain_dataset`` when given (e.g. ``k400``; default: ``REAL_COUNTERPART``)."""
    if data_root is None:
        return spec
    overrides = dict(spec.pretrain_overrides)
    overrides["data_root"] = data_root
    pretrain_set, eval_set = REAL_COUNTERPART.get(spec.dataset, (spec.dataset, spec.dataset))
    pretrain_set = pretrain_dataset or pretrain_set
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


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: a count (``"3"``: seeds 0, 1, 2) or a comma list (``"0,2,5"``; one seed:
    ``"5,"``)."""
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise ValueError
            return list(range(count))
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(
            f"expected a count >= 1 (seeds 0..n-1) or a comma list of distinct seeds >= 0 "
            f"(e.g. 0,2,5; one seed: 5,), got {text!r}")
    return seeds


def seeds_argument(seeds: list[int]) -> str:
    """``--seeds`` for ``seeds``, as :func:`parse_seeds` reads it back."""
    if seeds == list(range(len(seeds))):
        return str(len(seeds))
    return ",".join(map(str, seeds)) + ("," if len(seeds) == 1 else "")


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
    """The plain-MoCo rows' chance loss ln(K + 1), drawn on the loss figure (one value only)."""
    levels = {chance_loss(r) for r in records if is_plain_moco(r)}
    levels.discard(None)
    return levels.pop() if len(levels) == 1 else None


def _assignment(option: str, field: str, value) -> str:
    """``--set field=value`` as it would be typed (``parse_assignments`` reads it back)."""
    if isinstance(value, str):
        try:
            json.loads(value)
            text = json.dumps(value)  # a string that JSON would read as something else
        except json.JSONDecodeError:
            text = value
    else:
        text = json.dumps(list(value) if isinstance(value, tuple) else value)
    return f" {option} {shlex.quote(f'{field}={text}')}"


def regeneration_command(table: str, preset: str, seeds: int | list[int], reports_dir: Path,
                         runs_dir: Path = Path("runs"), data_root: str | None = None,
                         pretrain_set: dict | None = None, eval_set: dict | None = None) -> str:
    """The full command that regenerates report ``table`` (``all``: every table and the index),
    with every option that differs from its default; ``seeds``: a count (seeds 0..n-1) or the
    list of seeds."""
    parts = [f"nox -s reproduce_{table} -- --preset {preset}"]
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if seeds != list(range(DEFAULT_SEEDS)):
        parts.append(f" --seeds {seeds_argument(seeds)}")
    if Path(runs_dir) != Path("runs"):
        parts.append(f" --runs-dir {shlex.quote(str(runs_dir))}")
    if Path(reports_dir) != Path("reports"):
        parts.append(f" --reports-dir {shlex.quote(str(reports_dir))}")
    if data_root:
        parts.append(f" --data-root {shlex.quote(str(data_root))}")
    parts += [_assignment("--set", k, v) for k, v in (pretrain_set or {}).items()]
    parts += [_assignment("--eval-set", k, v) for k, v in (eval_set or {}).items()]
    return "".join(parts)


def _retrieval_heading(records: list[dict]) -> str:
    """Which splits query which gallery (from the records' EvalConfig), and chance R@1."""
    from fame_bench.evaluate.config import EvalConfig

    if any(r.get("dataset") not in ("synthetic", "synthetic_finegrained") for r in records):
        return "## Retrieval (test videos query the train set)"
    default = EvalConfig()
    pairs = {((r["config"].get("eval") or {}).get("retrieval_query_split",
                                                  default.retrieval_query_split),
              (r["config"].get("eval") or {}).get("retrieval_gallery_split",
                                                  default.retrieval_gallery_split))
             for r in records}
    text = "; ".join(f"`{q}` videos query a `{g}` gallery" for q, g in sorted(pairs))
    return f"## Retrieval ({text})"


def write_report(tdef: TableDef, records: list[dict], preset: str, seeds: list[int],
                 reports_dir: Path, wall_time_s: float, extras: dict | None = None,
                 command: str | None = None, runs_dir: Path = Path("runs")) -> Path:
    """``reports/<table>.md`` with ``<table>.json`` / ``<table>.csv`` (the same results as data)
    and its figures, from ``records`` (and ``extras`` for table4). ``command`` is the
    regeneration command printed in the report (default: from ``preset``, ``seeds`` and the
    directories)."""
    extras = extras or {}
    command = command or regeneration_command(tdef.name, preset, seeds, reports_dir,
                                              runs_dir)
    fig_dir = reports_dir / "figures"
    groups = group_by_name(records)
    ordered = {name: groups[name] for name in tdef.names if name in groups}
    labels = {spec.name: label for label, spec in tdef.rows}
    rows = [(label, spec.name) for label, spec in tdef.rows]
    commit, dirty = git_state()
    frame = data.measurements(records, tdef.name, labels, preset, dirty)
    verdicts = check_all(claims_for(tdef.name), groups)
    checks = learnability_checks(ordered)
    generated = datetime.now(timezone.utc)

    figures.loss_curves(ordered, labels, fig_dir / f"{tdef.name}_loss.png",
                        chance_loss=_moco_chance_loss(records))
    figures.bar_chart(ordered, labels, list(tdef.bar_metrics), fig_dir / f"{tdef.name}_bars.png",
                      chance=chance_accuracy(records))
    out = [
        f"# {tdef.title}",
        "",
        f"_Generated by `{command}` ({generated:%Y-%m-%d %H:%M} UTC, commit {commit}"
        f"{' with uncommitted changes' if dirty else ''}) from the run records in "
        f"`{Path(runs_dir) / preset}/`. Do not edit by hand. The same results as data: "
        f"[{tdef.name}.json]({tdef.name}.json), [{tdef.name}.csv]({tdef.name}.csv)._",
        "",
        tdef.what,
        "",
        "## Learnability checks (can this preset tell the methods apart?)",
        "",
        tables.check_list(checks),
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
        tables.results_table(frame, rows, "linear"),
        "",
    ]
    if data.has_protocol(frame, "finetune"):
        out += ["## Results — finetune", "", tables.results_table(frame, rows, "finetune"), ""]
    if data.has_protocol(frame, "retrieval"):
        from fame_bench.evaluate.retrieval import retrieval_chance

        classes = num_classes(records)
        out += [_retrieval_heading(records), "",
                tables.retrieval_table(frame, rows, retrieval_chance(classes) if classes
                                       else None), ""]
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
        "direct measure of motion in the frozen features). Two rows are compared seed by seed "
        "(same seed, same data): mean paired difference, its 95 % confidence interval (Student "
        "t; bootstrap from 8 seeds) and the paired t-test p. ✓ **agrees beyond noise**: the CI "
        "excludes 0 on the claimed side; (✓) / (✗) **agrees / disagrees within noise**: the CI "
        "includes 0; ✗ **disagrees beyond noise**; ∅ **no signal at this scale**: every row is "
        "within noise of chance; – not measured, or one seed (no noise estimate). A ≈ claim "
        "agrees beyond noise when the whole CI lies inside its equivalence margin.",
        "",
        tables.verdict_list(verdicts),
        "",
        "## Augmentation cost (from the runs' own step timings)",
        "",
        tables.cost_table(frame, rows),
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
    meta = {"table": tdef.name, "title": tdef.title, "preset": preset, "seeds": list(seeds),
            "command": command, "generated_utc": f"{generated:%Y-%m-%d %H:%M}",
            "commit": commit, "dirty": dirty,
            "rows": [{"row": name, "label": label} for label, name in rows]}
    data.write_data(reports_dir, tdef.name, frame, meta, [v.to_dict() for v in verdicts],
                    [c.to_dict() for c in checks])
    path = reports_dir / f"{tdef.name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out))
    return path


def reproduce_table(name: str, preset: str, seeds: list[int], runs_dir: Path, reports_dir: Path,
                    data_root: str | None = None, pretrain_set: dict | None = None,
                    eval_set: dict | None = None, jobs: int = 1, force: bool = False) -> Path:
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; expected one of {sorted(TABLES)} or 'all'")
    tdef = TABLES[name]
    start = time.perf_counter()
    records = run_rows(tdef, preset, seeds, runs_dir, data_root, pretrain_set=pretrain_set,
                       eval_set=eval_set, jobs=jobs, force=force)
    extras: dict = {}
    if tdef.mask_gallery:
        iou = measure_mask_iou(preset, seeds)
        (runs_dir / preset).mkdir(parents=True, exist_ok=True)
        (runs_dir / preset / f"{name}_mask_iou.json").write_text(json.dumps(iou, indent=1))
        extras.update(mask_iou=iou, gallery=mask_gallery_arrays(preset, seeds[0]))
    if tdef.icm:
        extras["icm"] = icm_figure(records, reports_dir / "figures" / f"{name}_icm.png")
    command = regeneration_command(name, preset, seeds, reports_dir, runs_dir, data_root,
                                   pretrain_set, eval_set)
    return write_report(tdef, records, preset, seeds, reports_dir,
                        time.perf_counter() - start, extras, command=command, runs_dir=runs_dir)


#: Reports written by their own nox sessions (measurements, not paper tables).
MEASUREMENT_REPORTS = (
    ("augmentation_cost.md", "nox -s augmentation_cost"),
    ("mask_quality.md", "nox -s mask_quality"),
    ("data_throughput.md", "nox -s data_throughput"),
    ("training_throughput.md", "nox -s training_throughput"),
    ("beyond.md", "nox -s reproduce_beyond"),
)


def _missing_tables(reports_dir: Path, written: list[Path]) -> list[str]:
    """A line naming the paper tables this index lacks, and how to make them (or nothing)."""
    missing = [t for t in TABLES if t not in {path.stem for path in written}]
    if not missing:
        return []
    return [f"_Not in this index (no data file in `{reports_dir}`): "
            + ", ".join(f"`{t}` (`nox -s reproduce_{t}`)" for t in missing) + "._", ""]


def write_index(reports_dir: Path, written: list[Path], preset: str,
                command: str | None = None) -> Path:
    """``reports/README.md``: a link to each report, its count of verdicts per outcome and its
    learnability checks, read from the report's data file (``<table>.json``), never from its
    Markdown. ``command``: the regeneration command (default: ``reproduce_all`` at ``preset``)."""
    command = command or regeneration_command("all", preset, DEFAULT_SEEDS, reports_dir)
    tables_data = [(path, data.load_data(path.with_suffix(".json"))) for path in written]
    outcomes = list(OUTCOMES)
    lines = ["# fame-bench reports", "",
             f"_Generated by `{command}` ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC). "
             "Every number in these reports is measured by the code from run records; the "
             "papers' numbers are printed in separate, labelled tables. Each report's results "
             "are also written as data: `<table>.json` (with its verdicts and checks) and "
             "`<table>.csv`._", "",
             "## Paper tables", "",
             "Counts of each report's verdicts by outcome. Two rows are compared seed by seed; a "
             "claim agrees *beyond noise* only when the 95 % CI of the paired difference excludes "
             "0 on the claimed side; *no signal*: every row of the claim is within noise of "
             "chance.", "",
             *_missing_tables(reports_dir, written),
             "| report | " + " | ".join(f"{OUTCOMES[o]} {o}" for o in outcomes) + " |",
             "|---|" + "---|" * len(outcomes)]
    for path, payload in tables_data:
        counts = outcome_counts(payload["verdicts"])
        lines.append(f"| [{payload.get('title', path.stem)}]({path.name}) | "
                     + " | ".join(str(counts[o]) for o in outcomes) + " |")
    check_keys = list(dict.fromkeys(c["key"] for _, p in tables_data for c in p["checks"]))
    if check_keys:
        titles = {c["key"]: c["title"] for _, p in tables_data for c in p["checks"]}
        lines += ["", "## Learnability checks", "",
                  "Whether each report's preset can tell the methods apart at all (✓ passed, "
                  "✗ failed, – not evaluated; the numbers and reasons are in each report):", "",
                  *(f"- **{chr(ord('a') + i)}**: {titles[k]}" for i, k in enumerate(check_keys)),
                  "",
                  "| report | " + " | ".join(chr(ord("a") + i) for i in range(len(check_keys)))
                  + " |",
                  "|---|" + "---|" * len(check_keys)]
        for path, payload in tables_data:
            marks = {c["key"]: c["mark"] for c in payload["checks"]}
            lines.append(f"| [{payload.get('title', path.stem)}]({path.name}) | "
                         + " | ".join(marks.get(k, "–") for k in check_keys) + " |")
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
    parser = argparse.ArgumentParser(prog="fame-bench reproduce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", choices=[*TABLES, "all", "index"],
                        help="the report to regenerate; all: every table and the index; index: "
                             "the index alone, from the tables' data files present")
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=PRESETS, help=preset_help())
    parser.add_argument("--seeds", type=parse_seeds, default=list(range(DEFAULT_SEEDS)),
                        help=f"a count n (seeds 0..n-1) or a comma list of seeds (0,2,5; one "
                             f"seed: 5,) (default: {DEFAULT_SEEDS}: paired intervals need "
                             "several)")
    parser.add_argument("--runs-dir", default="runs",
                        help="where run directories go: <runs-dir>/<preset>/<row>/"
                             "seed<k>-<hash8>/ (default: runs)")
    parser.add_argument("--reports-dir", default="reports",
                        help="where <table>.md, .json, .csv and figures/ go (default: reports)")
    parser.add_argument("--data-root", default=None,
                        help="root of the real datasets: rows run on UCF101 (Diving48 for the "
                             "fine-grained rows) instead of the synthetic benchmark (paper "
                             "preset)")
    parser.add_argument("--set", dest="pretrain_set", action="append", metavar="FIELD=VALUE",
                        help="override a PretrainConfig field in every row (repeatable; JSON "
                             "values, lists for tuples); the fields: `fame-bench pretrain "
                             "--help`. With --data-root, --set dataset=k400 picks the "
                             "pretraining set")
    parser.add_argument("--eval-set", action="append", metavar="FIELD=VALUE",
                        help="override an EvalConfig field in every row (repeatable); the "
                             "fields: `fame-bench linear --help`")
    parser.add_argument("--jobs", type=int, default=0,
                        help="runs in parallel worker processes (default 0: one per core)")
    parser.add_argument("--force", action="store_true",
                        help="recompute every run, ignoring the records on disk")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the runs (rows × seeds), cached or not, with an ETA; run "
                             "nothing")
    args = parser.parse_args(argv)
    if args.jobs < 0:
        parser.error("--jobs must be >= 0 (0: one per core)")
    jobs = args.jobs or default_jobs()
    seeds = args.seeds
    if args.table == "index":
        reports_dir = Path(args.reports_dir)
        present = [reports_dir / f"{t}.md" for t in TABLES
                   if (reports_dir / f"{t}.json").exists()]
        command = "fame-bench reproduce index" + (
            "" if reports_dir == Path("reports") else f" --reports-dir {reports_dir}")
        print(f"wrote {write_index(reports_dir, present, args.preset, command)}")
        return 0
    names = list(TABLES) if args.table == "all" else [args.table]
    pretrain_set = parse_assignments(args.pretrain_set)
    eval_set = parse_assignments(args.eval_set)
    check_rows([TABLES[n] for n in names], args.preset, seeds, Path(args.runs_dir),
               args.data_root, pretrain_set, eval_set)
    if args.dry_run:
        dry_run(names, args.preset, seeds, Path(args.runs_dir), args.data_root, pretrain_set,
                eval_set, workers=jobs, force=args.force)
        return 0
    force = args.force
    if len(names) > 1:  # every table's runs in one pool, so no worker idles between tables
        every = [job for name in names for job in table_jobs(
            TABLES[name], args.preset, seeds, args.data_root, pretrain_set, eval_set)]
        run_jobs(every, Path(args.runs_dir), workers=jobs, force=force)
        force = False  # recomputed once above; the tables read those records
    written = []
    for name in names:
        path = reproduce_table(name, args.preset, seeds, Path(args.runs_dir),
                               Path(args.reports_dir), args.data_root,
                               pretrain_set=pretrain_set, eval_set=eval_set, jobs=jobs,
                               force=force)
        print(f"wrote {path} (and {path.stem}.json, {path.stem}.csv)")
        written.append(path)
    if args.table == "all":
        command = regeneration_command("all", args.preset, seeds, Path(args.reports_dir),
                                       Path(args.runs_dir), args.data_root, pretrain_set,
                                       eval_set)
        print(f"wrote {write_index(Path(args.reports_dir), written, args.preset, command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
