"""``fame-bench``: pretrain | linear | finetune | retrieval | check-data | reproduce.

``fame-bench pretrain --preset ci --method moco --augment fame --fame-beta 0.5 --seed 0
--out runs/x``: every ``PretrainConfig`` field is an option (``--field-name value``; tuples as
comma lists, booleans as true/false); ``--help`` gives each one's meaning, choices and default.
``linear``/``finetune``/``retrieval`` evaluate a run's backbone (or a random-init one with
``--random``) on the synthetic benchmark and print JSON; every ``EvalConfig`` field is an option.
With ``--dataset ucf101|hmdb51|diving48|k400 --data-root D [--fold 1|2|3|all]`` they evaluate on
a real dataset and also write ``eval.json`` into the run directory (a finetune resumes from its
checkpoint when rerun). ``check-data`` probes every video a dataset's split files list.
``reproduce <table>`` hands over to ``fame_bench.reports.reproduce`` (``reproduce --help``).
Every subcommand's default preset is ``cpu``.

A user error (a bad value, a missing or corrupt file, a run directory held by another process)
prints one line, ``fame-bench: error: ...``, on stderr and exits with status 2; set
``FAME_BENCH_TRACEBACK=1`` to see the traceback instead. Progress: a bar on a terminal, else a
line every 10 % of a long stage on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from fame_bench import __version__
from fame_bench.atomic import write_atomic
from fame_bench.cli_help import DEFAULT_PRESET, add_config_options, preset_help
from fame_bench.data import check
from fame_bench.data.synthetic import SyntheticConfig
from fame_bench.evaluate.bias import evaluate_synthetic
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.finetune_checkpoint import DEFAULT_EVERY
from fame_bench.evaluate.run_eval import (
    FOLDS,
    data_root_for,
    evaluate_folds,
    folds_for,
    reading_run,
)
from fame_bench.models.backbones import NAMES, seeded_backbone
from fame_bench.names import PRESETS
from fame_bench.names import REAL_DATASETS as REAL_SETS
from fame_bench.reports.reproduce import main as reproduce_main
from fame_bench.train.config import PretrainConfig
from fame_bench.train.experiment import environment
from fame_bench.train.loop import pretrain
from fame_bench.train.runlock import RunLockedError
from fame_bench.train.runlog import run_log
from fame_bench.train.trained import load_backbone

#: What a user causes and can fix: a bad option value, a missing, corrupt or foreign file, a
#: run directory in use. Anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError, RunLockedError)

_ALIASES = {"out_dir": ["--out"]}
SYNTHETIC_SETS = ("synthetic", "synthetic_finegrained")


def config_from_args(args: argparse.Namespace) -> PretrainConfig:
    names = {f.name for f in dataclasses.fields(PretrainConfig)} - {"preset_name"}
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return PretrainConfig.preset(args.preset, **overrides)


def eval_config_from_args(args: argparse.Namespace) -> EvalConfig:
    names = {f.name for f in dataclasses.fields(EvalConfig)}
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.command != "finetune" and "finetune_steps" not in overrides:
        overrides["finetune_steps"] = 0  # linear / retrieval: no finetune
    return EvalConfig.preset(args.preset, **overrides)


def _pretrain(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    with run_log(Path(cfg.out_dir) / "run.log"):
        result = pretrain(cfg)
    print(json.dumps({k: v for k, v in result.items() if k != "loss_curve"}, indent=1))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    eval_cfg = eval_config_from_args(args)  # bad values fail before any backbone is built
    if args.dataset not in SYNTHETIC_SETS:
        return _evaluate_real(args, eval_cfg)
    real_only = [f"--{n.replace('_', '-')}" for n in ("data_root", "fold", "out", "crop_size")
                 if getattr(args, n) is not None]
    if real_only:
        raise ValueError(f"{', '.join(real_only)} apply to the real datasets "
                         f"({', '.join(REAL_SETS)}), not to --dataset {args.dataset}")
    if args.random:
        backbone = seeded_backbone(args.backbone, args.seed).eval()
    elif args.run:
        backbone = load_backbone(args.run)
    else:
        raise ValueError("give --run RUN_DIR (a pretraining run) or --random")
    variant = "finegrained" if args.dataset == "synthetic_finegrained" else "bias"
    data_cfg = SyntheticConfig.preset(args.preset, variant=variant)
    result = evaluate_synthetic(backbone, data_cfg, eval_cfg, args.seed)
    print(json.dumps(result.get(args.command, result), indent=1))
    return 0


def _evaluate_real(args: argparse.Namespace, eval_cfg: EvalConfig) -> int:
    """One protocol on a real dataset, fold by fold, into ``eval.json`` (``run_eval``)."""
    root = data_root_for(args.data_root, args.dataset)
    folds = folds_for(args.dataset, args.fold)
    if not (args.random or args.run):
        raise ValueError("give --run RUN_DIR (a pretraining run) or --random")
    if args.run and not Path(args.run).is_dir():
        raise ValueError(f"--run {args.run}: no such run directory")
    if getattr(args, "ckpt_every", 0) < 0:
        raise ValueError(f"--ckpt-every must be >= 0, got {args.ckpt_every}")
    out = args.out or args.run  # a random init without --out: printed only
    env = environment(eval_cfg.device, {"pretrain": None,
                                        "eval": eval_cfg.threads or torch.get_num_threads()})
    options = dict(seed=args.seed, size=args.crop_size or 112, out_dir=out,
                   ckpt_every=getattr(args, "ckpt_every", 0), env=env)
    if args.random:
        backbone = seeded_backbone(args.backbone, args.seed).eval()
        results = evaluate_folds(backbone, args.command, args.dataset, root, folds, eval_cfg,
                                 source={"random": args.backbone}, **options)
    else:
        with reading_run(args.run):
            backbone = load_backbone(args.run)
            results = evaluate_folds(backbone, args.command, args.dataset, root, folds,
                                     eval_cfg, source={"run": str(args.run)}, **options)
    print(json.dumps({"protocol": args.command, "dataset": args.dataset,
                      "folds": folds,
                      "results": {k: v["metrics"] for k, v in results.items()},
                      "eval_json": None if out is None else
                      str(Path(out) / "eval.json")}, indent=1))
    return 0


def _check_data(args: argparse.Namespace) -> int:
    """Probe every listed video; write or verify a checksum manifest. 0: all good, 1: a
    missing, undecodable or mismatched file."""
    root = data_root_for(args.data_root, args.dataset)
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    expected = None
    if args.verify_manifest:  # an unusable manifest is named before any video is read
        try:
            manifest = json.loads(Path(args.verify_manifest).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{args.verify_manifest} is not valid JSON ({err})") from None
        expected = check.check_manifest(manifest, args.dataset, args.verify_manifest)
    report = check.check_dataset(args.dataset, root, args.workers)
    if expected is not None:
        report["manifest"] = {"verified": args.verify_manifest,
                              **check.verify_manifest(expected, args.dataset, root, args.workers)}
        report["ok"] = report["ok"] and report["manifest"]["ok"]
    elif args.manifest:
        manifest = check.make_manifest(args.dataset, root, args.workers)
        write_atomic(args.manifest, json.dumps(manifest, indent=1) + "\n")
        report["manifest"] = {"written": args.manifest, "files": len(manifest["files"])}
    print(check.table(report), file=sys.stderr)
    print(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


def _reproduce(argv: list[str]) -> int:
    return int(reproduce_main(argv) or 0)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """The module docstring as written, options wide enough to read."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fame-bench", description=__doc__,
                                     formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"fame-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    pre = sub.add_parser("pretrain", formatter_class=_Formatter,
                         usage="fame-bench pretrain [--preset PRESET] [--FIELD VALUE ...]",
                         help="pretrain one method (every PretrainConfig field is an option)",
                         description="Pretrain one method; an option left out takes the "
                                     "preset's value (listed per preset where they differ).")
    pre.add_argument("--preset", default=DEFAULT_PRESET, choices=PRESETS, help=preset_help())
    add_config_options(pre, PretrainConfig, PRESETS, skip=("preset_name",), aliases=_ALIASES,
                       untitled="method and augmentation")
    for name in ("linear", "finetune", "retrieval"):
        p = sub.add_parser(name, formatter_class=_Formatter,
                           usage=f"fame-bench {name} (--run RUN_DIR | --random) "
                                 "[--preset PRESET] [--FIELD VALUE ...]",
                           help=f"{name} evaluation on the synthetic benchmark or a real "
                                "dataset",
                           description=f"{name.capitalize()} evaluation of a pretrained run's "
                                       "backbone (or a random-init one) on the synthetic "
                                       "benchmark or a real dataset; prints JSON. Every "
                                       "EvalConfig field is an option; one left out takes the "
                                       "preset's value.")
        p.add_argument("--run", default=None, metavar="RUN_DIR",
                       help="run directory holding checkpoint.pt")
        p.add_argument("--random", action="store_true", help="evaluate a random-init backbone")
        p.add_argument("--backbone", default="tiny_r2plus1d", choices=NAMES,
                       help="backbone of --random (default: tiny_r2plus1d)")
        p.add_argument("--preset", default=DEFAULT_PRESET, choices=PRESETS, help=preset_help())
        p.add_argument("--dataset", default="synthetic", choices=SYNTHETIC_SETS + REAL_SETS,
                       help="synthetic benchmark variant (background-biased, or fine-grained "
                            "motion without backgrounds), or a real dataset read from "
                            "--data-root (default: synthetic)")
        real = p.add_argument_group(
            "real datasets", "results go into OUT/eval.json (OUT: --out, else --run), one "
            "entry per protocol, dataset and fold; the JSON printed names them")
        real.add_argument("--data-root", action="append", metavar="[NAME=]PATH",
                          help="root of a dataset in its official layout (README, 'Real "
                               "datasets'); NAME=PATH per dataset, repeatable, or a bare PATH "
                               "for --dataset")
        real.add_argument("--fold", default=None, choices=FOLDS,
                          help="official split of ucf101/hmdb51; all: folds 1-3 and their "
                               "mean (default: 1; diving48 and k400 have one split)")
        real.add_argument("--crop-size", type=int, default=None, metavar="N",
                          help="side of the test clips (default: 112)")
        real.add_argument("--out", default=None, metavar="DIR",
                          help="where eval.json (and finetune checkpoints) go (default: "
                               "--run; with --random and no --out: printed only)")
        if name == "finetune":
            real.add_argument("--ckpt-every", type=int, default=DEFAULT_EVERY, metavar="N",
                              help="finetune steps between checkpoints; a rerun of the same "
                                   "command resumes from the last one (default: 500)")
        p.add_argument("--seed", type=int, default=0,
                       help="renders the splits and seeds the probes (default: 0)")
        add_config_options(p, EvalConfig, PRESETS, prefix="evaluation: ",
                           untitled="general")
    chk = sub.add_parser("check-data", formatter_class=_Formatter,
                         help="probe every video a real dataset's split files list",
                         description="Open every video the split files of --dataset list (all "
                                     "splits and folds) and decode its first frame; count the "
                                     "missing and undecodable ones per split and fold. The "
                                     "table goes to stderr, the JSON report to stdout. Exit "
                                     "status 0: all good; 1: a missing, undecodable or "
                                     "mismatched file; 2: a user error.")
    chk.add_argument("--dataset", required=True, choices=REAL_SETS)
    chk.add_argument("--data-root", action="append", metavar="[NAME=]PATH",
                     help="root of the dataset in its official layout (as for linear)")
    sums = chk.add_mutually_exclusive_group()
    sums.add_argument("--manifest", metavar="OUT.json",
                      help="write a checksum manifest: SHA-256 of the split files and of "
                           "every listed video, paths relative to the root")
    sums.add_argument("--verify-manifest", metavar="MANIFEST.json",
                      help="verify the copy against a manifest written by --manifest")
    chk.add_argument("--workers", type=int, default=1, metavar="N",
                     help="threads probing and hashing (default: 1)")
    sub.add_parser("reproduce", add_help=False,
                   help="regenerate a paper table: `fame-bench reproduce --help`")
    return parser


@contextlib.contextmanager
def _log_to_stderr() -> Iterator[None]:
    """``fame_bench``'s log lines on stderr during the block (progress lines only off a
    terminal, where no bar shows them)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    if sys.stderr.isatty():
        handler.addFilter(lambda record: record.name != "fame_bench.progress")
    logger = logging.getLogger("fame_bench")
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except USER_ERRORS as err:
        if os.environ.get("FAME_BENCH_TRACEBACK"):
            raise
        print(f"fame-bench: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "reproduce":
        return _reproduce(argv[1:])
    args = build_parser().parse_args(argv)
    with _log_to_stderr():
        if args.command == "pretrain":
            return _pretrain(args)
        if args.command == "check-data":
            return _check_data(args)
        return _evaluate(args)


if __name__ == "__main__":
    raise SystemExit(main())
