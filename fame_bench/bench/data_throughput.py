"""Clips/s of decoding + sampling + transforms, so a user can see whether loading starves a GPU.

``python -m fame_bench.bench.data_throughput [--out reports/data_throughput.md] [--quick]``
(nox session ``data_throughput``). Writes real encoded videos of UCF101's shape (320×240, 25 fps,
xvid-like MPEG-4 in AVI, and H.264 in MP4) to a temporary folder, then measures:

1. **Decoder choice**: PyAV (seek + decode the sampled frames; and decoding the whole video, the
   naive way) against torchcodec (``VideoDecoder.get_frames_at``) on the same files and the same
   frame indices, interleaved repeats, median. torchcodec is optional: where it does not import
   (it needs the system's FFmpeg shared libraries), the report says so.
2. **The dataset pipeline** (``VideoClipDataset``: probe, sampling, decode with short side 128,
   random resized crop to 112, flip) in ``pretrain`` (2 clips per item) and ``eval`` (10 clips ×
   1 crop) modes, through a ``DataLoader`` with 0 and 2 workers.
3. **The batched colour path** (``batch_color_jitter`` + ``batch_grayscale``) on CPU, and on CUDA
   where present.

All numbers come from this run. The machine is shared (2 cores), so absolute clips/s are noisy;
the ratios between decoders are measured interleaved in one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from tabulate import tabulate
from torch.utils.data import DataLoader

from fame_bench.data.decode import decode_frames, probe, torchcodec_available
from fame_bench.data.fake_layouts import make_ucf101, write_video
from fame_bench.data.sampling import two_clip_indices
from fame_bench.data.transforms import batch_color_jitter, batch_grayscale
from fame_bench.data.video import SkipCollate, build_dataset
from fame_bench.provenance import git_commit


def _textured_frames(num_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Frames with texture and motion (a flat video would make every decoder look fast)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    base = np.kron(base, np.ones((8, 8, 1), np.uint8))
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        frames[t] = np.roll(base, shift=(t, 2 * t), axis=(0, 1))
        frames[t, 40:100, (3 * t) % (width - 60) : (3 * t) % (width - 60) + 60] = 240
    return frames


def _torchcodec():
    """``(VideoDecoder class or None, reason)``."""
    try:
        from torchcodec.decoders import VideoDecoder  # noqa: PLC0415
    except Exception as err:  # noqa: BLE001 - any import failure means "not usable here"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return None, f"{type(err).__name__}: {first[:160]}"
    import torchcodec  # noqa: PLC0415

    where = Path(torchcodec.__file__).parent.parent
    return VideoDecoder, (f"torchcodec {torchcodec.__version__} imported from {where} (not a "
                          "project dependency: it needs the system's FFmpeg shared libraries)")


def _pyav_whole(path: Path, indices: torch.Tensor) -> torch.Tensor:
    """The naive way: decode every frame, keep the sampled ones."""
    import av  # noqa: PLC0415

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return torch.from_numpy(np.stack(frames)[indices.numpy()])


def decoder_comparison(files: list[Path], repeats: int, clip_len: int = 16, stride: int = 2):
    video_decoder, tc_status = _torchcodec()
    generator = torch.Generator().manual_seed(0)
    ways = {
        "PyAV, seek to the clip": lambda p, idx: decode_frames(p, idx),
        "PyAV, decode whole video": _pyav_whole,
    }
    if video_decoder is not None:
        ways["torchcodec, get_frames_at"] = lambda p, idx: decode_frames(
            p, idx, backend="torchcodec"
        )
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for path in files:
            num_frames = probe(path).num_frames
            indices, _ = two_clip_indices(num_frames, clip_len, stride, generator)
            for name, decode in ways.items():  # interleaved: noise hits every way alike
                start = time.perf_counter()
                out = decode(path, indices)
                times.setdefault((path.suffix, name), []).append(time.perf_counter() - start)
                if out.shape[0] != clip_len:
                    raise RuntimeError(f"{name} returned {out.shape[0]} frames for {path}")
    rows = []
    for suffix in sorted({s for s, _ in times}):
        reference = statistics.median(times[(suffix, "PyAV, seek to the clip")])
        for (s, name), values in times.items():
            if s != suffix:
                continue
            median = statistics.median(values)
            rows.append([suffix, name, f"{1 / median:.1f}", f"{median * 1e3:.1f}",
                         f"{median / reference:.2f}"])
    return rows, tc_status


def pipeline_throughput(root: Path, batches: int, workers: list[int], backends: list[str]):
    rows = []
    for backend, mode, kwargs, per_item in [
        (backend, *setting)
        for backend in backends
        for setting in (("pretrain", {}, 2), ("eval", {"num_clips": 10, "num_crops": 1}, 10))
    ]:
        dataset = build_dataset("ucf101", root, "train", mode=mode, clip_len=16, stride=2,
                                size=112, backend=backend, **kwargs)
        for num_workers in workers:
            loader = DataLoader(dataset, batch_size=4, shuffle=True, num_workers=num_workers,
                                collate_fn=SkipCollate(),
                                generator=torch.Generator().manual_seed(0))
            items, start = 0, time.perf_counter()
            for step, batch in enumerate(loader):
                if batch is not None:
                    items += batch["clips"].shape[0]
                if step + 1 >= batches:
                    break
            elapsed = time.perf_counter() - start
            rows.append([backend, mode, num_workers, per_item, f"{items / elapsed:.1f}",
                         f"{items * per_item / elapsed:.1f}"])
    return rows


def colour_path(repeats: int):
    rows = []
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        clips = torch.rand(8, 3, 16, 112, 112, device=device)
        generator = torch.Generator().manual_seed(0)
        values = []
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            batch_grayscale(batch_color_jitter(clips, generator), generator)
            if device == "cuda":
                torch.cuda.synchronize()
            values.append(time.perf_counter() - start)
        median = statistics.median(values[1:] or values)
        rows.append([device, "8 × 3 × 16 × 112²", f"{median * 1e3:.1f}", f"{8 / median:.0f}"])
    if len(devices) == 1:
        rows.append(["cuda", "—", "no CUDA device in this run", "—"])
    return rows


# docs/fame.md's cost anchor: one R(2+1)D-18 MoCo step on an H100 takes 44 ms at B = 8 (bf16) and
# consumes 2 clips per video (query and key).
_H100_STEP_S, _H100_BATCH = 0.044, 8


def _starvation(pipeline_rows) -> str:
    pretrain = [r for r in pipeline_rows if r[1] == "pretrain"]
    if not pretrain:
        return ""
    best = max(pretrain, key=lambda r: float(r[-1]))
    needed = 2 * _H100_BATCH / _H100_STEP_S
    have = float(best[-1])
    return (
        f"For scale: an H100 R(2+1)D-18 MoCo step (44 ms at B = 8, docs/fame.md) eats "
        f"{needed:.0f} clips/s; the best pretraining figure here ({have:.1f} clips/s, "
        f"{best[0]}, {best[2]} workers on this 2-core machine) is {needed / have:.0f}× short, "
        f"so such a GPU needs about {needed / have * 2:.0f} decoding cores at this per-core rate."
    )


def _decision(decode_rows) -> str:
    """The default decoder, argued from this run's ratios."""
    ratios = {row[0]: float(row[4]) for row in decode_rows if row[1].startswith("torchcodec")}
    whole = {row[0]: float(row[4]) for row in decode_rows if "whole" in row[1]}
    seek = ", ".join(f"{s}: seeking is {r:.1f}× faster than decoding it all"
                     for s, r in whole.items())
    if not ratios:
        return (f"Default: **PyAV** (torchcodec not importable here). {seek}.")
    compare = ", ".join(
        f"{s}: torchcodec takes {r:.2f}× PyAV's time" for s, r in sorted(ratios.items())
    )
    return (
        f"Measured here — {compare}; {seek}. Default: **PyAV**, because it installs "
        "cleanly from PyPI alone (its wheels bundle FFmpeg), while torchcodec's wheel loads the "
        "system's FFmpeg shared libraries (apt `libavcodec59` … on this Debian) and must match "
        "the installed torch build; where it is set up, `backend=\"torchcodec\"` (or "
        "`\"auto\"`) in `build_dataset` uses it."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("reports/data_throughput.md"))
    parser.add_argument("--quick", action="store_true", help="fewer videos and repeats")
    args = parser.parse_args(argv)
    repeats, frames, batches = (2, 60, 2) if args.quick else (7, 150, 12)
    workers = [0, 2]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = _textured_frames(frames, 240, 320)
        files = [write_video(tmp / "clip.avi", video), write_video(tmp / "clip.mp4", video)]
        decode_rows, tc_status = decoder_comparison(files, repeats)
        root = make_ucf101(tmp / "ucf", groups=(1, 8, 9, 10), frames=4, size=16)
        for path in (root / "UCF-101").rglob("*.avi"):  # replace the tiny videos by 320x240 ones
            write_video(path, _textured_frames(frames, 240, 320, seed=len(path.name)))
        backends = ["pyav"] + (["torchcodec"] if torchcodec_available() else [])
        pipeline_rows = pipeline_throughput(root, batches, workers, backends)
    colour_rows = colour_path(repeats + 1)
    decision = _decision(decode_rows)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""# Data throughput

Generated by `python -m fame_bench.bench.data_throughput` (nox -s data_throughput) on {stamp},
commit {git_commit()}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores
visible, torch {torch.__version__} ({torch.get_num_threads()} threads). Videos: {frames} frames,
320×240, 25 fps, textured and moving (UCF101's format); clips: 16 frames at stride 2. The machine
is shared while this runs: absolute numbers are noisy, the ratio column is measured interleaved.

## 1. Decoder: PyAV against torchcodec, same files, same frame indices

torchcodec status here: {tc_status}.

{tabulate(decode_rows, headers=["file", "decoder", "clips/s", "ms/clip (median)",
                                "time ÷ PyAV seek"], tablefmt="github")}

{decision}

## 2. Dataset pipeline (probe + sampling + decode at short side 128 + crop 112 + flip)

{tabulate(pipeline_rows, headers=["decoder", "mode", "DataLoader workers", "clips per item",
                                  "items/s", "clips/s"], tablefmt="github")}

A GPU step that consumes more clips/s than the last column will wait for data: add workers (one
per core) or pre-decode to uint8 arrays. {_starvation(pipeline_rows)}

## 3. Batched colour jitter + grayscale (the per-batch GPU path)

{tabulate(colour_rows, headers=["device", "batch", "ms per batch (median)", "clips/s"],
          tablefmt="github")}
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
