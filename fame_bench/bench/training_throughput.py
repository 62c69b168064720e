"""Training throughput: clips/s per method and backbone, and FAME's / BE's share of a step.

Every number comes from ``fame_bench.train.loop.pretrain`` itself (the same code path as a real
run): ``step_ms`` is the mean wall time of a training step after the first, ``augment_ms`` the time
spent inside the FAME/BE module during those steps, measured in the same run, so the share is a
ratio within one run (robust to other load on the machine; absolute times are not).
Throughput counts training videos (instances) per second: a MoCo step processes two clips of each
video, a VTHCL step a slow and a fast clip. Writes ``reports/training_throughput.md``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import torch

from fame_bench.train.config import PretrainConfig
from fame_bench.train.loop import pretrain

ROWS = [
    ("moco", dict(method="moco")),
    ("moco+fame", dict(method="moco", augment="fame")),
    ("moco+fame (both branches)", dict(method="moco", augment="fame", fame_on="both")),
    ("moco+be", dict(method="moco", augment="be")),
    ("vthcl", dict(method="vthcl")),
    ("supervised", dict(method="supervised")),
]


def measure(preset: str = "ci", steps: int = 5, seed: int = 0, **overrides) -> dict:
    """Run ``steps`` training steps (the first is warm-up, not timed) in a scratch directory."""
    base = PretrainConfig.preset(preset)
    batch = overrides.pop("batch_size", base.batch_size)
    kw = dict(steps=steps, batch_size=batch, num_videos=batch * steps, ckpt_every=10**9,
              progress=False, seed=seed, queue_size=overrides.pop("queue_size", 4 * batch))
    kw.update(overrides)
    with tempfile.TemporaryDirectory() as tmp:
        result = pretrain(PretrainConfig.preset(preset, out_dir=str(Path(tmp) / "run"), **kw))
    result["clips_per_s"] = batch / (result["step_ms"] / 1000.0)
    result["batch_size"] = batch
    return result


def fame_step_share(preset: str = "ci", steps: int = 5, seed: int = 0) -> dict:
    """FAME's share of one MoCo+FAME training step on ``preset``, measured in the same run:
    ``{"step_ms", "augment_ms", "share", "batch_size", "preset"}``."""
    r = measure(preset, steps, seed, method="moco", augment="fame")
    return {"step_ms": r["step_ms"], "augment_ms": r["augment_ms"], "share": r["augment_share"],
            "batch_size": r["batch_size"], "preset": preset}


def _table(rows: list[tuple[str, str, dict]]) -> list[str]:
    lines = ["| method | backbone | batch | step (ms) | clips/s | FAME/BE (ms) | share of step |",
             "|---|---|---|---|---|---|---|"]
    for name, backbone, r in rows:
        share = f"{100 * r['augment_share']:.1f} %" if r["augment_ms"] > 0 else "—"
        aug = f"{r['augment_ms']:.1f}" if r["augment_ms"] > 0 else "—"
        lines.append(f"| {name} | {backbone} | {r['batch_size']} | {r['step_ms']:.0f} | "
                     f"{r['clips_per_s']:.1f} | {aug} | {share} |")
    return lines


def _device_rows(device: str, steps: int, big_steps: int) -> list[tuple[str, str, dict]]:
    rows = []
    for name, kw in ROWS:
        rows.append((name, "tiny_r2plus1d", measure("ci", steps, device=device, **kw)))
    for name, kw in ROWS[:2]:
        # torchvision R(2+1)D-18 at the ci input (8x32x32), a few steps: affordable on CPU.
        rows.append((name, "r2plus1d_18", measure("ci", big_steps, device=device,
                                                  backbone="r2plus1d_18", batch_size=8, **kw)))
    return rows


def _preset_check(preset: str) -> list[str]:
    """A full plain-MoCo pretraining of ``preset``: wall time and the loss curve's landmarks."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = PretrainConfig.preset(preset, out_dir=str(Path(tmp) / "run"), progress=False)
        r = pretrain(cfg)
    curve = r["loss_curve"]
    filled = cfg.queue_size // (2 * cfg.batch_size)  # steps until the queue holds real keys
    after = [v for s, v in curve if s >= filled]
    peak = max(after) if after else float("nan")
    lowest = min(after) if after else float("nan")
    return [
        f"- `{preset}` preset, MoCo (no FAME): {cfg.steps} steps of batch {cfg.batch_size}, "
        f"queue {cfg.queue_size}, wall time {r['wall_time_s']:.1f} s (data included), "
        f"step {r['step_ms']:.0f} ms.",
        f"- loss: {curve[0][1]:.3f} at step 0 (queue still random), peak {peak:.3f} once the "
        f"queue holds real keys (step ≥ {filled}), lowest {lowest:.3f} after it, "
        f"{curve[-1][1]:.3f} at the last step; "
        f"ln(K+1) = {torch.log(torch.tensor(cfg.queue_size + 1.0)):.3f}.",
        "- curve (step, loss): " + ", ".join(f"({s}, {v:.2f})" for s, v in curve),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--big-steps", type=int, default=3)
    parser.add_argument("--out", default="reports/training_throughput.md")
    parser.add_argument("--skip-preset-check", action="store_true")
    args = parser.parse_args(argv)

    cpu_rows = _device_rows("cpu", args.steps, args.big_steps)
    lines = [
        "# Training throughput",
        "",
        "Generated by `nox -s training_throughput` "
        "(`python -m fame_bench.bench.training_throughput`) "
        "from measurements of `fame_bench.train.loop.pretrain`; do not edit by hand.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads available, the `ci` presets run with 1 thread; "
        f"torch {torch.__version__}. Steps per row: {args.steps} "
        f"({args.big_steps} for r2plus1d_18), the first not timed. Input: `ci` preset clips "
        "(8 frames of 32×32; VTHCL: 8 slow + 16 fast frames).",
        "",
        "Absolute times depend on the other load on this shared machine; the FAME/BE share is a "
        "ratio measured inside each run.",
        "",
        "## CPU",
        "",
        *_table(cpu_rows),
        "",
        "## CUDA",
        "",
    ]
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        lines += [f"Device: {name} (AMP float16).", "",
                  *_table(_device_rows("cuda", args.steps, args.big_steps))]
    else:
        lines.append("no CUDA device in this run")
    if not args.skip_preset_check:
        lines += ["", "## Preset check (loss must fall; targets: ci ≤ 15 s, cpu ≤ 45 s)", ""]
        for preset in ("ci", "cpu"):
            lines += _preset_check(preset)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
