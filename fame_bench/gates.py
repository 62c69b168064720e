"""CI regression gates: ``python -m fame_bench.gates [--update] [--seeds 0 1]``.

Measures, on the ``ci`` preset with fixed seeds, and compares with ``suites/baselines.json``:

- accuracy: MoCo + FAME (β = 0.5)'s motion probe on the swapped split and its margin over plain
  MoCo (the biased-probe figures are printed beside them, not gated:
  ``docs/synthetic_benchmark.md``);
- mask quality: IoU of FAME's mask (taken from ``fame()`` itself) against the ground truth;
- augmentation cost: FAME / bare-merge time ratio on CPU, and FAME's share of a training step
  (from the MoCo + FAME gate runs' own step timings);
- learnability (``fame_bench.reports.validity``, no baseline): on the gate's own runs (plus a
  random-init row and the supervised oracle), the oracle's motion probe, the random floor, every
  pretraining loss falling below chance and MoCo beating random init beyond noise. A failed
  check fails the gates: the preset can no longer tell the methods apart.

A figure beyond its tolerance fails with a message naming the figure, the baseline and the
measured value. ``--update`` rewrites the baseline file from this measurement (keeping each
figure's tolerance): a deliberate act, reviewed like any change of that file. ``--checks-only``
makes only the runs and prints the learnability checks (exit 1 when one fails).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fame_bench.augment.fame import fame as fame_op
from fame_bench.bench.augmentation_cost import cpu_fame_merge_ratio
from fame_bench.bench.mask_quality import iou_and_recall
from fame_bench.data.synthetic import SyntheticConfig, make_split
from fame_bench.provenance import git_commit
from fame_bench.reports.definitions import MOCO, ORACLE, RANDOM, fame
from fame_bench.reports.runner import Job, default_jobs, run_jobs
from fame_bench.reports.stats import group_by_name, metric_stat, pretrain_stat
from fame_bench.reports.validity import learnability_checks

BASELINES = Path(__file__).resolve().parent.parent / "suites" / "baselines.json"
GATE_PRESET = "ci"
GATE_SEEDS = (0, 1, 2, 3)  # four: a paired t interval over two seeds is ±12.7 sd wide

#: Default tolerances used by ``--update`` for a figure that has none yet.
DEFAULT_TOLERANCE = {
    "fame_motion_probe_swapped": 0.08,
    "fame_margin_over_moco": 0.08,
    "fame_mask_iou": 0.05,
    "fame_merge_ratio": 0.5,
    "fame_step_share": 0.10,
}
DIRECTION = {
    "fame_motion_probe_swapped": "higher_is_better",
    "fame_margin_over_moco": "higher_is_better",
    "fame_mask_iou": "higher_is_better",
    "fame_merge_ratio": "lower_is_better",
    "fame_step_share": "lower_is_better",
}
NOTES = {
    "fame_motion_probe_swapped": "MoCo+FAME β=0.5, linear motion probe on the swapped split",
    "fame_margin_over_moco": "motion probe: MoCo+FAME minus MoCo (same seeds)",
    "fame_mask_iou": "IoU of fame()'s mask vs ground truth, ci test_biased, 32 clips, β=0.5",
    "fame_merge_ratio": "FAME op time / bare merge time, CPU, 1 thread, B=16 3x16x112², "
                        "interleaved repeats, median",
    "fame_step_share": "FAME's share of a MoCo training step (the gate runs' own timing), CPU",
}


@dataclass(frozen=True)
class GateResult:
    figure: str
    measured: float
    baseline: float | None
    tolerance: float | None
    direction: str
    set_by_commit: str = ""

    @property
    def gated(self) -> bool:
        return self.baseline is not None and self.tolerance is not None

    @property
    def passed(self) -> bool:
        if not self.gated:
            return True
        if self.direction == "higher_is_better":
            return self.measured >= self.baseline - self.tolerance
        if self.direction == "lower_is_better":
            return self.measured <= self.baseline + self.tolerance
        raise ValueError(f"direction of {self.figure!r} must be higher_is_better or "
                         f"lower_is_better, got {self.direction!r}")

    def message(self) -> str:
        if not self.gated:
            return f"{self.figure}: measured {self.measured:.4f} (no baseline: not gated)"
        bound = ("≥ " + f"{self.baseline - self.tolerance:.4f}"
                 if self.direction == "higher_is_better"
                 else "≤ " + f"{self.baseline + self.tolerance:.4f}")
        verdict = "ok" if self.passed else "REGRESSION"
        return (f"{verdict}: {self.figure}: measured {self.measured:.4f}, baseline "
                f"{self.baseline:.4f} ± {self.tolerance:.4f} ({self.direction}, needs {bound}; "
                f"set by commit {self.set_by_commit or 'unknown'})")


def compare(measured: dict[str, float], baselines: dict) -> list[GateResult]:
    """Each measured figure against ``baselines["figures"]`` (figures without one are not gated).

    A baseline figure that was not measured is a failure too: a gate must not silently vanish.
    """
    figures = baselines.get("figures", {})
    results = []
    for name, value in measured.items():
        base = figures.get(name)
        if base is None:
            results.append(GateResult(name, float(value), None, None,
                                      DIRECTION.get(name, "higher_is_better")))
            continue
        results.append(GateResult(name, float(value), float(base["value"]),
                                  float(base["tolerance"]), base["direction"],
                                  base.get("set_by_commit", "")))
    for name, base in figures.items():
        if name not in measured:
            results.append(GateResult(name, float("nan"), float(base["value"]),
                                      float(base["tolerance"]), base["direction"],
                                      base.get("set_by_commit", "")))
    return results


# --- measurements -----------------------------------------------------------------------------


def gate_specs() -> dict:
    """MoCo and MoCo + FAME (β = 0.5), with random init and the supervised oracle for the
    learnability checks; linear probes only (the gates read no finetune)."""
    from dataclasses import replace

    no_finetune = (("finetune_steps", 0),)
    return {"moco": replace(MOCO, name="gate_moco", eval_overrides=no_finetune),
            "fame": replace(fame(0.5), name="gate_moco_fame_b0.5", eval_overrides=no_finetune),
            "random": replace(RANDOM, name="gate_random", eval_overrides=no_finetune),
            "oracle": replace(ORACLE, name="gate_oracle", eval_overrides=no_finetune)}


def measure_accuracy(seeds: tuple[int, ...], runs_dir: Path) -> tuple[dict, dict, list]:
    """Gated and informational accuracy figures from MoCo and MoCo + FAME runs, and the
    learnability checks on every gate run."""
    specs = gate_specs()
    jobs = [Job(spec, GATE_PRESET, s) for spec in specs.values() for s in seeds]
    done = run_jobs(jobs, runs_dir, workers=default_jobs(), log=lambda line: print(
        f"gates: {line}", flush=True))
    runs = {key: [done[(GATE_PRESET, spec.name, s)] for s in seeds]
            for key, spec in specs.items()}
    gated, info = accuracy_figures(runs["moco"], runs["fame"])
    return gated, info, learnability(runs)


def learnability(runs: dict[str, list[dict]]) -> list:
    """The learnability checks (``fame_bench.reports.validity.Check``) on the gate's runs,
    ``{key: records}`` (keys of :func:`gate_specs`; rows are recognised by their records)."""
    return learnability_checks(group_by_name([r for records in runs.values() for r in records]))


def accuracy_figures(moco: list[dict], fame: list[dict]) -> tuple[dict, dict]:
    """Gated: FAME's motion probe (swapped) and its margin over MoCo; info: the biased probe."""
    fame_motion = metric_stat(fame, "linear", "motion_probe_swapped")
    moco_motion = metric_stat(moco, "linear", "motion_probe_swapped")
    gated = {"fame_motion_probe_swapped": fame_motion.mean,
             "fame_margin_over_moco": fame_motion.mean - moco_motion.mean}
    gated["fame_step_share"] = pretrain_stat(fame, "augment_share").mean
    info = {"moco: linear motion_probe_swapped": moco_motion.mean,
            "fame: motion probe std over seeds": fame_motion.std,
            "moco: motion probe std over seeds": moco_motion.std}
    for name, records in (("moco", moco), ("fame", fame)):
        for key in ("test_biased", "test_swapped", "test_background_only", "bias_gap"):
            info[f"{name}: linear {key}"] = metric_stat(records, "linear", key).mean
    return gated, info


def measure_mask_iou(beta: float = 0.5, clips: int = 32, seed: int = 0) -> float:
    """IoU of the mask ``fame()`` returns against the ground truth (union over time)."""
    import torch

    split = make_split(SyntheticConfig.preset(GATE_PRESET), "test_biased", seed=seed)
    videos = torch.as_tensor(split.videos[:clips]).float() / 255.0  # (N, C, T, H, W)
    truth = torch.as_tensor(split.masks[:clips]).any(dim=1)  # (N, H, W)
    _, mask = fame_op(videos, beta)
    iou, _ = iou_and_recall(mask.bool(), truth)
    keep = truth.flatten(1).any(dim=1).numpy()
    return float(iou[keep].mean())


def measure_cost() -> dict[str, float]:
    """FAME / bare-merge time on CPU (interleaved repeats, median: a ratio within one run), by
    the same function as ``reports/augmentation_cost.md`` and the benchmarks
    (``augmentation_cost.cpu_fame_merge_ratio``: B = 16, 3x16x112², one thread).

    FAME's share of a training step comes from the gate's own MoCo + FAME runs
    (``accuracy_figures``): the loop times the augmentation inside every step.
    """
    return {"fame_merge_ratio": float(cpu_fame_merge_ratio(repeats=15)["ratio"])}


def measure(seeds: tuple[int, ...] = GATE_SEEDS, runs_dir: Path | None = None,
            parts: tuple[str, ...] = ("accuracy", "mask", "cost")) -> tuple[dict, dict, list]:
    """All gated figures, informational ones and the learnability checks (``accuracy`` part).
    Runs go to a fresh temporary directory unless ``runs_dir`` is given, so the gate measures
    the code as it is, never a cached record."""
    gated: dict[str, float] = {}
    info: dict[str, float] = {}
    checks: list = []
    with tempfile.TemporaryDirectory(prefix="fame-gates-") as tmp:
        root = Path(runs_dir) if runs_dir is not None else Path(tmp)
        if "accuracy" in parts:
            g, i, checks = measure_accuracy(seeds, root)
            gated.update(g)
            info.update(i)
        if "mask" in parts:
            gated["fame_mask_iou"] = measure_mask_iou()
        if "cost" in parts:
            gated.update(measure_cost())
    return gated, info, checks


# --- baseline file ----------------------------------------------------------------------------


def known_failures(baselines: dict) -> dict:
    """``{check key: {"rows": [...], "reason": str}}``: learnability failures measured when the
    preset was frozen and written down (``docs/calibration.md``); only a failure beyond them
    fails the gates."""
    return baselines.get("known_learnability_failures", {})


def is_known(check, known: dict) -> bool:
    """A failed check is known when it is read per row and every row failing it is listed."""
    entry = known.get(check.key)
    return bool(entry and check.failing and set(check.failing) <= set(entry.get("rows", ())))


def load_baselines(path: Path = BASELINES) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"no baseline file at {path}: run `python -m fame_bench.gates "
                                "--update` once and commit it")
    return json.loads(path.read_text())


def updated_baselines(measured: dict[str, float], old: dict, commit: str,
                      seeds: tuple[int, ...]) -> dict:
    figures = {}
    for name, value in measured.items():
        previous = old.get("figures", {}).get(name, {})
        figures[name] = {
            "value": round(float(value), 4),
            "tolerance": previous.get("tolerance", DEFAULT_TOLERANCE.get(name, 0.05)),
            "direction": previous.get("direction", DIRECTION.get(name, "higher_is_better")),
            "set_by_commit": commit,
            "note": previous.get("note", NOTES.get(name, "")),
        }
    out = {"preset": GATE_PRESET, "seeds": list(seeds), "figures": figures}
    if known_failures(old):  # written down by hand with its reason: kept as it is
        out["known_learnability_failures"] = known_failures(old)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fame_bench.gates", description=__doc__)
    parser.add_argument("--update", action="store_true",
                        help="rewrite the baseline file from this measurement")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(GATE_SEEDS))
    parser.add_argument("--baselines", type=Path, default=BASELINES)
    parser.add_argument("--runs-dir", type=Path, default=None,
                        help="keep the gate's runs here (default: a temporary directory)")
    parser.add_argument("--checks-only", action="store_true",
                        help="make the runs and print the learnability checks only (no mask, "
                             "cost or baseline comparison); exit 1 when a check fails")
    args = parser.parse_args(argv)
    if args.checks_only and args.update:
        parser.error("--checks-only measures no baseline figure: it cannot --update")
    seeds = tuple(args.seeds)
    start = time.perf_counter()
    parts = ("accuracy",) if args.checks_only else ("accuracy", "mask", "cost")
    gated, info, checks = measure(seeds, args.runs_dir, parts=parts)
    print(f"gates: measured on preset {GATE_PRESET!r}, seeds {list(seeds)} in "
          f"{time.perf_counter() - start:.0f} s")
    for name, value in info.items():
        print(f"  info: {name} = {value:.4f}")
    print("gates: learnability checks (✓ passed, ✗ failed, – not evaluated)")
    for check in checks:
        print(f"  {check.line()}")
    known = known_failures(load_baselines(args.baselines)) if args.baselines.exists() else {}
    failed_checks = [c for c in checks if c.passed is False and not is_known(c, known)]
    for c in checks:
        if c.passed is False and is_known(c, known):
            print(f"gates: known failure, recorded in the baselines ({known[c.key]['reason']}): "
                  f"{c.key} on {', '.join(c.failing)}")
    if args.update:
        old = json.loads(args.baselines.read_text()) if args.baselines.exists() else {}
        new = updated_baselines(gated, old, git_commit(), seeds)
        args.baselines.write_text(json.dumps(new, indent=2) + "\n")
        print(f"gates: baselines rewritten in {args.baselines} — review and commit that change")
        if failed_checks:
            print(f"gates: warning: {len(failed_checks)} learnability check(s) fail on these "
                  "runs; the gates will fail until they pass", file=sys.stderr)
        return 0
    results = [] if args.checks_only else compare(gated, load_baselines(args.baselines))
    for result in results:
        print("  " + result.message())
    failed = [r for r in results if not r.passed]
    for r in failed:
        print(f"GATE FAILED — {r.message()}", file=sys.stderr)
    for c in failed_checks:
        print(f"LEARNABILITY CHECK FAILED — {c.line()}", file=sys.stderr)
    if failed or failed_checks:
        return 1
    print("gates: all learnability checks pass" if args.checks_only
          else "gates: all figures within tolerance, every learnability check passes or is a "
          "known failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
