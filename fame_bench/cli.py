"""``fame-bench``: pretrain | linear | finetune | retrieval | reproduce.

``fame-bench pretrain --preset ci --method moco --augment fame --fame-beta 0.5 --seed 0
--out runs/x``: any ``PretrainConfig`` field is an option (``--field-name value``; tuples as
comma lists, booleans as true/false). ``linear``/``finetune``/``retrieval`` evaluate a run's
backbone (or a random-init one with ``--random``) on the synthetic benchmark and print JSON.
``reproduce <table>`` hands over to ``fame_bench.reports.reproduce``.

A user error (a bad value, a missing or corrupt file, a run directory held by another process)
prints one line, ``fame-bench: error: ...``, on stderr and exits with status 2; set
``FAME_BENCH_TRACEBACK=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from fame_bench.train.config import PretrainConfig
from fame_bench.train.runlock import RunLockedError

#: What a user causes and can fix: a bad option value, a missing, corrupt or foreign file, a
#: run directory in use. Anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError, RunLockedError)

_ALIASES = {"out_dir": ["--out"]}


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _field_type(default):
    if isinstance(default, bool):
        return _parse_bool
    if isinstance(default, tuple):
        kind = type(default[0]) if default else str
        return lambda text: tuple(kind(v) for v in text.split(",") if v)
    if isinstance(default, dict):
        return json.loads
    return type(default)


def _add_pretrain_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="ci", choices=["ci", "cpu", "gpu", "paper"])
    defaults = PretrainConfig()
    for f in dataclasses.fields(PretrainConfig):
        if f.name == "preset_name":
            continue
        flags = [f"--{f.name.replace('_', '-')}", *_ALIASES.get(f.name, [])]
        parser.add_argument(*flags, dest=f.name, default=None,
                            type=_field_type(getattr(defaults, f.name)),
                            help=f"PretrainConfig.{f.name} (preset value if omitted)")


def config_from_args(args: argparse.Namespace) -> PretrainConfig:
    names = {f.name for f in dataclasses.fields(PretrainConfig)} - {"preset_name"}
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return PretrainConfig.preset(args.preset, **overrides)


def _pretrain(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fame_bench.train.loop import pretrain
    from fame_bench.train.runlog import run_log

    cfg = config_from_args(args)
    with run_log(Path(cfg.out_dir) / "run.log"):
        result = pretrain(cfg)
    print(json.dumps({k: v for k, v in result.items() if k != "loss_curve"}, indent=1))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import torch

    from fame_bench.data.synthetic import SyntheticConfig
    from fame_bench.evaluate.bias import evaluate_synthetic
    from fame_bench.evaluate.config import EvalConfig
    from fame_bench.models.backbones import build_backbone
    from fame_bench.train.checkpoint import load_backbone

    if args.random:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed)
            backbone = build_backbone(args.backbone).eval()
    elif args.run:
        backbone = load_backbone(args.run)
    else:
        raise ValueError("give --run RUN_DIR (a pretraining run) or --random")
    variant = "finegrained" if args.dataset == "synthetic_finegrained" else "bias"
    data_cfg = SyntheticConfig.preset(args.preset, variant=variant)
    eval_cfg = EvalConfig.preset(args.preset)
    if args.command != "finetune" and hasattr(eval_cfg, "finetune_steps"):
        eval_cfg = dataclasses.replace(eval_cfg, finetune_steps=0)
    result = evaluate_synthetic(backbone, data_cfg, eval_cfg, args.seed)
    print(json.dumps(result.get(args.command, result), indent=1))
    return 0


def _reproduce(argv: list[str]) -> int:
    from fame_bench.reports.reproduce import main as reproduce_main

    return int(reproduce_main(argv) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fame-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_pretrain_options(sub.add_parser("pretrain", help="pretrain one method"))
    for name in ("linear", "finetune", "retrieval"):
        p = sub.add_parser(name, help=f"{name} evaluation on the synthetic benchmark")
        p.add_argument("--run", default=None, help="run directory holding checkpoint.pt")
        p.add_argument("--random", action="store_true", help="evaluate a random-init backbone")
        p.add_argument("--backbone", default="tiny_r2plus1d")
        p.add_argument("--preset", default="ci", choices=["ci", "cpu", "gpu", "paper"])
        p.add_argument("--dataset", default="synthetic",
                       choices=["synthetic", "synthetic_finegrained"])
        p.add_argument("--seed", type=int, default=0)
    sub.add_parser("reproduce", help="regenerate a paper table (see fame_bench.reports)",
                   add_help=False)
    return parser


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
    if args.command == "pretrain":
        return _pretrain(args)
    return _evaluate(args)


if __name__ == "__main__":
    raise SystemExit(main())
