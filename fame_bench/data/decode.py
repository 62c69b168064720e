"""Decoding the frames a sampler asked for, with PyAV (FFmpeg), seeking instead of decoding all.

Why PyAV by default: its wheels bundle FFmpeg, so ``pip install`` is all it needs. torchcodec was
measured against it on the same files (``reports/data_throughput.md``); it needs the system's
FFmpeg shared libraries (e.g. Debian's ``libavcodec59`` ...) and a build matching the installed
torch, so it is an optional backend: ``backend="torchcodec"``, or ``"auto"`` to use it when it
imports.

PyAV is imported when a file is first opened, not with this module: the synthetic benchmark, the
augmentations and the trainer import this module without ever decoding a file, and must run on a
machine without PyAV (a GPU image, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


class VideoDecodeError(RuntimeError):
    """A video that cannot be opened or yields no frame: missing, empty, truncated, corrupt."""


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int
    fps: float
    height: int
    width: int


def _pyav():
    try:
        import av  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("decoding video files needs PyAV: expected the 'av' package "
                          "(pip install av)") from err
    return av


def _open(path: str | Path):
    av = _pyav()
    path = Path(path)
    if not path.is_file():
        raise VideoDecodeError(f"missing video file: {path}")
    if path.stat().st_size == 0:
        raise VideoDecodeError(f"empty video file: {path}")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise VideoDecodeError(f"cannot open {path}: {err}") from err
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"no video stream in {path}")
    return container


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 25.0


def probe(path: str | Path) -> VideoInfo:
    """Frame count (from the header; from the duration when the header has none), fps, size."""
    with _open(path) as container:
        stream = container.streams.video[0]
        fps = _fps(stream)
        count = int(stream.frames or 0)
        if count <= 0:
            duration = stream.duration * stream.time_base if stream.duration else None
            if duration is None and container.duration:
                duration = container.duration / _pyav().time_base
            count = int(round(float(duration) * fps)) if duration else 0
        if count <= 0:
            raise VideoDecodeError(f"no frames in {path}")
        return VideoInfo(count, fps, stream.codec_context.height, stream.codec_context.width)


def _scaled_size(height: int, width: int, short_side: int | None) -> tuple[int, int]:
    if not short_side:
        return height, width
    if height <= width:
        return short_side, max(1, int(round(width * short_side / height)))
    return max(1, int(round(height * short_side / width))), short_side


BACKENDS = ("pyav", "torchcodec", "auto")


def torchcodec_available() -> bool:
    try:
        from torchcodec.decoders import VideoDecoder  # noqa: F401, PLC0415
    except Exception:  # noqa: BLE001 - missing FFmpeg libraries raise OSError/RuntimeError
        return False
    return True


def _decode_torchcodec(path: str | Path, wanted: np.ndarray, short_side: int | None):
    from torchcodec.decoders import VideoDecoder  # noqa: PLC0415
    from torchvision.transforms.v2 import functional as TF  # noqa: PLC0415

    _open(path).close()  # same missing / empty / unreadable checks and messages as PyAV
    try:
        decoder = VideoDecoder(str(path), device="cpu")
        count = decoder.metadata.num_frames or len(decoder)
        frames = decoder.get_frames_at(np.minimum(wanted, count - 1).tolist()).data
    except (RuntimeError, ValueError, IndexError, OSError) as err:
        raise VideoDecodeError(f"cannot decode {path}: {err}") from err
    if short_side:
        size = _scaled_size(frames.shape[-2], frames.shape[-1], short_side)
        frames = TF.resize(frames, list(size), antialias=True)
    return frames.contiguous()


def decode_frames(
    path: str | Path, indices, short_side: int | None = None, backend: str = "pyav"
) -> torch.Tensor:
    """Frames ``indices`` (any order, repeats allowed) as uint8 ``(T, C, H, W)``, resized by
    FFmpeg's scaler so the short side is ``short_side`` (``None``: native size). ``backend``:
    ``"pyav"`` (default), ``"torchcodec"`` or ``"auto"`` (torchcodec when it imports).

    Seeks to the key frame before the first wanted frame and decodes forward to the last one.
    A frame past the real end (a header that over-counts, a truncated file) repeats the last
    decoded frame; no decodable frame at all raises :class:`VideoDecodeError`.
    """
    wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
    if wanted.size == 0:
        raise ValueError("indices must not be empty")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torchcodec" or (backend == "auto" and torchcodec_available()):
        return _decode_torchcodec(path, wanted, short_side)
    av = _pyav()
    first, last = int(wanted.min()), int(wanted.max())
    needed = set(wanted.tolist())
    decoded: dict[int, np.ndarray] = {}
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: ~2x faster on H.264 even on 2 cores
        fps, time_base = _fps(stream), stream.time_base
        start_pts = stream.start_time or 0
        height, width = _scaled_size(
            stream.codec_context.height, stream.codec_context.width, short_side
        )
        try:
            if first > 0:
                target = start_pts + int(first / fps / time_base)
                container.seek(target, stream=stream, backward=True, any_frame=False)
            position = None
            for frame in container.decode(stream):
                if frame.pts is not None:
                    position = int(round(float((frame.pts - start_pts) * time_base) * fps))
                else:  # no timestamp: count from the previous frame
                    position = 0 if position is None else position + 1
                if position < first:
                    continue
                if position in needed:
                    decoded[position] = frame.to_ndarray(format="rgb24", width=width, height=height)
                if position >= last:
                    break
        except (av.error.FFmpegError, OSError, ValueError) as err:
            if not decoded:
                raise VideoDecodeError(f"cannot decode {path}: {err}") from err
    if not decoded:
        raise VideoDecodeError(f"no frame decoded from {path} at indices {first}..{last}")
    have = np.array(sorted(decoded))
    # Each wanted index takes the nearest decoded frame at or before it (or the first one).
    pick = have[np.clip(np.searchsorted(have, wanted, side="right") - 1, 0, have.size - 1)]
    frames = np.stack([decoded[int(p)] for p in pick])  # (T, H, W, C)
    return torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
