"""``fame-bench reproduce <table> [--preset cpu] [--seeds 3|0,2,5]``: runs what a table needs,
writes it.

Each table's rows are run (or taken from the run cache) for every seed, then
``reports/<table>.md``, its data (``<table>.json``, ``<table>.csv``) and its figures are written
from the run records only. ``all`` does every
table and the index ``reports/README.md``.

Under ``torchrun`` (``torchrun --nproc-per-node N -m fame_bench.cli reproduce ...``) every rank
runs the same runs one after another (``--jobs`` is ignored) and each pretraining is one DDP run
across the ranks; rank 0 alone writes the run records and the reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from fame_bench.bench.mask_quality import mask_gallery_arrays, table_mask_iou
from fame_bench.cli_help import DEFAULT_PRESET, preset_help
from fame_bench.names import PRESETS
from fame_bench.reports.commands import (
    DEFAULT_SEEDS,
    parse_assignments,
    parse_seeds,
    regeneration_command,
)
from fame_bench.reports.definitions import TABLES, TableDef
from fame_bench.reports.icm_figure import icm_section
from fame_bench.reports.render import write_index, write_report
from fame_bench.reports.runner import (
    Job,
    Progress,
    default_jobs,
    fmt_duration,
    run_jobs,
    run_jobs_on_ranks,
    unique_jobs,
)
from fame_bench.train import distributed
from fame_bench.train.config import PretrainConfig
from fame_bench.train.experiment import (
    REAL_DATASETS,
    ExperimentSpec,
    cached_record,
    plan_experiment,
)

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
    eval_set = dict(eval_set or {})
    eval_dataset = eval_set.pop("dataset", None)
    if eval_dataset is not None and (data_root is None or eval_dataset not in REAL_DATASETS):
        raise ValueError(f"--eval-set dataset={eval_dataset}: expected --data-root and one of "
                         f"{REAL_DATASETS} (the downstream set the rows are evaluated on)")
    owned = sorted(set(pretrain_set) & set(OWNED_FIELDS))
    if owned:
        raise ValueError(f"--set {owned[0]}: the reproduction sets this field itself (from "
                         f"{OWNED_FIELDS[owned[0]]}); it cannot be overridden")
    return [_with_overrides(_with_data_root(spec, data_root, pretrain_dataset, eval_dataset),
                            pretrain_set, eval_set)
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
    progress = Progress(jobs, runs_dir, workers, force)
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
                    pretrain_dataset: str | None = None,
                    eval_dataset: str | None = None) -> ExperimentSpec:
    """The same row on the real datasets under ``data_root`` (the paper preset), pretrained on
    ``pretrain_dataset`` and evaluated on ``eval_dataset`` when given (e.g. ``k400`` and
    ``hmdb51``; default: ``REAL_COUNTERPART``)."""
    if data_root is None:
        return spec
    overrides = dict(spec.pretrain_overrides)
    overrides["data_root"] = data_root
    pretrain_set, eval_set = REAL_COUNTERPART.get(spec.dataset, (spec.dataset, spec.dataset))
    pretrain_set = pretrain_dataset or pretrain_set
    eval_set = eval_dataset or eval_set
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
        iou = table_mask_iou(preset, seeds)
        (runs_dir / preset).mkdir(parents=True, exist_ok=True)
        (runs_dir / preset / f"{name}_mask_iou.json").write_text(json.dumps(iou, indent=1))
        extras.update(mask_iou=iou, gallery=mask_gallery_arrays(preset, seeds[0]))
    if tdef.icm:
        extras["icm"] = icm_section(records, reports_dir / "figures" / f"{name}_icm.png")
    command = regeneration_command(name, preset, seeds, reports_dir, runs_dir, data_root,
                                   pretrain_set, eval_set)
    return write_report(tdef, records, preset, seeds, reports_dir,
                        time.perf_counter() - start, extras, command=command, runs_dir=runs_dir)


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
                             "fields: `fame-bench linear --help`. With --data-root, "
                             "--eval-set dataset=hmdb51 picks the downstream set")
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
    ranks = distributed.launched_world_size()
    if ranks > 1:  # torchrun: every rank trains; rank 0 alone writes records and reports
        if args.jobs > 1:
            print(f"--jobs {args.jobs} ignored under torchrun: the {ranks} ranks run the runs "
                  "one after another, each pretraining across all ranks", file=sys.stderr)
        jobs = 1
        if (args.table == "index" or args.dry_run) and distributed.launched_rank() != 0:
            return 0  # nothing to train: rank 0 does it
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
    if ranks > 1:
        every = [job for name in names for job in table_jobs(
            TABLES[name], args.preset, seeds, args.data_root, pretrain_set, eval_set)]
        device = pretrain_set.get("device", PretrainConfig.preset(args.preset).device)
        _, is_main = run_jobs_on_ranks(every, Path(args.runs_dir), str(device), force=force)
        if not is_main:
            return 0
        force = False  # the process group is gone: the tables below read rank 0's records
    elif len(names) > 1:  # every table's runs in one pool, so no worker idles between tables
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
