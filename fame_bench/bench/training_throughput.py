"""Training throughput: clips/s per method and backbone, and FAME's / BE's share of a step.

Every number comes from ``fame_bench.train.loop.pretrain`` itself (the same code path as a real
run): ``step_ms`` is the mean wall time of a training step after the first, ``augment_ms`` the time
spent inside the FAME/BE module during those steps, measured in the same run, so the share is a
ratio within one run (robust to other load on the machine; absolute times are not).
Throughput counts training videos (instances) per second: a MoCo step processes two clips of each
video, a VTHCL step a slow and a fast clip. Writes ``reports/training_throughput.md``; its GPU
rows (the ``paper`` shapes) are measured by ``device_check`` on a CUDA machine
(``measure_device``, ``render_device_block``) and kept when the CPU rows are regenerated.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from fame_bench.bench.report_sections import carry_over_gpu_block, placeholder_block
from fame_bench.bench.timing import OverBudget, time_limit
from fame_bench.data.synthetic import SyntheticConfig, render_clips
from fame_bench.train.batches import InMemoryVideos, clip_span
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


def measure(preset: str = "ci", steps: int = 5, seed: int = 0, data: InMemoryVideos | None = None,
            **overrides) -> dict:
    """Run ``steps`` training steps (the first is warm-up, not timed) in a scratch directory;
    ``data``: videos to train on instead of the preset's synthetic split."""
    base = PretrainConfig.preset(preset)
    batch = overrides.pop("batch_size", base.batch_size)
    kw = dict(steps=steps, batch_size=batch, num_videos=batch * steps, ckpt_every=10**9,
              progress=False, seed=seed, queue_size=overrides.pop("queue_size", 4 * batch))
    kw.update(overrides)
    with tempfile.TemporaryDirectory() as tmp:
        result = pretrain(PretrainConfig.preset(preset, out_dir=str(Path(tmp) / "run"), **kw),
                          data)
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


def _cpu_rows(device: str, steps: int, big_steps: int) -> list[tuple[str, str, dict]]:
    rows = []
    for name, kw in ROWS:
        rows.append((name, "tiny_r2plus1d", measure("ci", steps, device=device, **kw)))
    for name, kw in ROWS[:2]:
        # torchvision R(2+1)D-18 at the ci input (8x32x32), a few steps: affordable on CPU.
        rows.append((name, "r2plus1d_18", measure("ci", big_steps, device=device,
                                                  backbone="r2plus1d_18", batch_size=8, **kw)))
    return rows


# --- on a CUDA device: the rows ``device_check`` measures ------------------------------------


@dataclass(frozen=True)
class DeviceShape:
    """Model and clips of the device rows: the ``paper`` shapes, or tiny ones for a CPU smoke
    run. ``batches``: the small and the large batch (FAME's share is read at both)."""

    backbone: str = "r2plus1d_18"
    clip_len: int = 16
    size: int = 112
    vthcl_slow_stride: int = 8
    batches: tuple[int, int] = (8, 64)
    queue_size: int = 2048


PAPER_SHAPE = DeviceShape()

# (row name, PretrainConfig overrides, index into DeviceShape.batches), in the order they are
# measured: what the targets need first, the rest as the time budget allows.
DEVICE_ROWS = [
    ("moco", dict(method="moco"), 1),
    ("moco+fame", dict(method="moco", augment="fame"), 1),
    ("moco", dict(method="moco"), 0),
    ("moco+be", dict(method="moco", augment="be"), 1),
    ("vthcl", dict(method="vthcl"), 1),
    ("moco+fame", dict(method="moco", augment="fame"), 0),
    ("moco+fame (compiled mask stage)", dict(method="moco", augment="fame", fame_compile=True),
     1),
]


def device_videos(shape: DeviceShape, count: int, distinct: int = 8, seed: int = 0
                  ) -> InMemoryVideos:
    """``count`` synthetic videos of the ``paper`` benchmark at ``shape.size``, long enough for
    every row's clips (VTHCL's slow and fast clips span the most frames): ``distinct`` clips
    rendered, repeated to ``count`` (rendering is CPU work, and the step's cost does not depend
    on which clips it sees)."""
    frames = max(clip_span(PretrainConfig.preset("paper", **_row_overrides(shape, o, b, "cpu")))
                 for _, o, b in DEVICE_ROWS)
    cfg = SyntheticConfig.preset("paper", size=shape.size, frames=frames)
    rendered = render_clips(cfg, "pretrain", range(min(distinct, count)), seed)
    index = torch.arange(count) % rendered.videos.shape[0]
    return InMemoryVideos(rendered.videos[index], rendered.labels[index])


def _row_overrides(shape: DeviceShape, overrides: dict, which: int, device: str) -> dict:
    """``paper`` preset overrides of one device row (synthetic clips, bfloat16 autocast)."""
    return dict(dataset="synthetic", data_preset="paper", backbone=shape.backbone,
                clip_len=shape.clip_len, crop_size=shape.size,
                vthcl_slow_stride=shape.vthcl_slow_stride, batch_size=shape.batches[which],
                queue_size=shape.queue_size, device=device, amp_dtype="bf16",
                num_workers=0, **overrides)


def describe(shape: DeviceShape) -> str:
    return (f"{shape.backbone}, clips of {shape.clip_len}×{shape.size}² (VTHCL: slow stride "
            f"{shape.vthcl_slow_stride}, α = 2), MoCo queue {shape.queue_size}")


def measure_device(device: str, shape: DeviceShape, deadline: float, steps: int = 8,
                   seed: int = 0, row_guess_s: float = 30.0) -> list[dict]:
    """The ``DEVICE_ROWS`` on ``device`` at ``shape`` (bfloat16 autocast on CUDA), each ``steps``
    steps of which the first is not timed: ``measure``'s result with the row's name, backbone,
    clip shape and a status (``measured``, ``error``, or ``skipped`` when less than
    ``row_guess_s`` (a scheduling guess, never reported) is left before ``deadline``, a
    ``time.monotonic()`` value). A row running past the deadline is stopped."""
    rows, data = [], None
    for name, overrides, which in DEVICE_ROWS:
        batch = shape.batches[which]
        entry = {"name": name, "backbone": shape.backbone, "batch_size": batch,
                 "clip": f"{shape.clip_len}×{shape.size}²", "overrides": overrides}
        if any(r["name"] == name and r["batch_size"] == batch for r in rows):
            continue  # a smoke shape may use one batch for both
        left = deadline - time.monotonic()
        if left < row_guess_s:
            rows.append({**entry, "status": "skipped", "note": f"time budget: {left:.0f} s left"})
            continue
        try:
            with time_limit(left):
                if data is None:
                    data = device_videos(shape, max(shape.batches), seed=seed)
                videos = InMemoryVideos(data.videos[:batch], data.labels[:batch])
                result = measure("paper", steps, seed, videos,
                                 **_row_overrides(shape, overrides, which, device))
            rows.append({**entry, "status": "measured", **result})
        except OverBudget as error:
            rows.append({**entry, "status": "error", "error": f"time budget: {error}"})
        except Exception as error:  # out of memory, say: the other rows still run
            rows.append({**entry, "status": "error",
                         "error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"})
        finally:
            if torch.device(device).type == "cuda":
                torch.cuda.empty_cache()
    return rows


def render_device_block(train: dict, where: str) -> list[str]:
    """The GPU rows of the report (between the markers) from ``device_check``'s training stage."""
    rows = train["rows"]
    measured = [r for r in rows if r["status"] == "measured"]
    lines = [
        f"Measured by `nox -s device_check` on {where}; every number below is in "
        f"`reports/device_check.json`. The `paper` shapes on synthetic clips: "
        f"{describe(DeviceShape(**train['shape']))}; bfloat16 autocast, {train['steps']} steps "
        "per row, the first not timed. FAME runs on both clips of each pair (symmetric loss). "
        "VTHCL's memory bank holds this run's videos, one batch (UCF101: 9537); its negatives "
        "are the whole bank in both cases (K = 16384 exceeds either).",
        "",
        *_table([(r["name"], r["backbone"], r) for r in measured]),
    ]
    for r in rows:
        if r["status"] != "measured":
            lines.append(f"- {r['name']}, batch {r['batch_size']}: {r['status']}: "
                         f"{r.get('error') or r['note']}")
    lines += ["", "Verdicts:"]
    for batch in sorted({r["batch_size"] for r in measured}, reverse=True):
        plain = next((r for r in measured if r["name"] == "moco" and r["batch_size"] == batch),
                     None)
        for r in measured:
            if r["batch_size"] != batch or not r["name"].startswith("moco+fame") or not plain:
                continue
            kept = r["clips_per_s"] / plain["clips_per_s"]
            met = "within" if kept >= 0.98 else "**not within**"
            lines.append(f"- {r['name']}, batch {batch}: {r['clips_per_s']:.1f} clips/s = "
                         f"{100 * kept:.1f} % of plain MoCo's {plain['clips_per_s']:.1f}: {met} "
                         "the 2 % target.")
    if lines[-1] == "Verdicts:":
        lines.append("- MoCo+FAME against MoCo: not both measured in this run; target untested.")
    return lines


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

    cpu_rows = _cpu_rows("cpu", args.steps, args.big_steps)
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
        "## GPU",
        "",
        placeholder_block(),
    ]
    if not args.skip_preset_check:
        lines += ["", "## Preset check (loss must fall; targets: ci ≤ 15 s, cpu ≤ 45 s)", ""]
        for preset in ("ci", "cpu"):
            lines += _preset_check(preset)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(carry_over_gpu_block("\n".join(lines) + "\n", out))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
