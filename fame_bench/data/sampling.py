"""Clip sampling: which frames of a video make each clip. The one place these rules live —
training batches (synthetic tensors), the real-video datasets and feature extraction all call it.

Pure functions of their arguments (and a ``torch.Generator``), used the same way on in-memory
videos (index the T axis) and on real videos (the indices say which frames to decode). A clip
of ``clip_len`` frames at ``stride`` spans ``(clip_len - 1) * stride + 1`` frames. The rules:

- **Random clip** (training): its start is uniform over ``0 .. T - span``.
- **Uniform clips** (evaluation): one clip is centred, starting at ``(T - span) // 2``;
  ``n > 1`` clips start at ``round(linspace(0, T - span, n))`` (first at frame 0, last ending on
  the last frame). Deterministic.
- **Short video** (``T < span``): every clip starts at frame 0 and repeats the last frame
  (indices are clamped), the usual practice of the papers' loaders — never an error.
- A fractional stride (VTHCL's fast clip, ``τ / α``) floors each position.
"""

from __future__ import annotations

import torch


def _check(num_frames: int, clip_len: int, stride: float) -> None:
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if clip_len < 1:
        raise ValueError(f"clip_len must be >= 1, got {clip_len}")
    if stride <= 0:
        raise ValueError(f"stride must be > 0, got {stride}")


def clip_span(clip_len: int, stride: float) -> int:
    """Frames covered by ``clip_len`` frames at ``stride``."""
    return int((clip_len - 1) * stride) + 1


def random_starts(num_frames: int, span: int, shape: tuple[int, ...],
                  generator: torch.Generator | None) -> torch.Tensor:
    """Start frames ``shape`` (LongTensor) drawn uniformly from ``0 .. max(T - span, 0)``."""
    last_start = max(num_frames - span, 0)
    return torch.randint(0, last_start + 1, shape, generator=generator)


def clip_positions(starts: torch.Tensor, clip_len: int, stride: float,
                   num_frames: int) -> torch.Tensor:
    """Frame indices ``(*starts.shape, clip_len)`` of clips at ``starts``, clamped to the video."""
    offsets = torch.floor(torch.arange(clip_len, dtype=torch.float64) * stride).long()
    return (starts[..., None] + offsets).clamp_(max=num_frames - 1)


def random_clip_indices(num_frames: int, clip_len: int, stride: int, shape: tuple[int, ...],
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Clips at independent random starts: frame indices ``(*shape, clip_len)``."""
    _check(num_frames, clip_len, stride)
    starts = random_starts(num_frames, clip_span(clip_len, stride), shape, generator)
    return clip_positions(starts, clip_len, stride, num_frames)


def two_clip_indices(
    num_frames: int, clip_len: int, stride: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two clips from independent random timestamps of one video (MoCo/FAME pretraining: query
    and key). Returns two LongTensors ``(clip_len,)``."""
    first = random_clip_indices(num_frames, clip_len, stride, (1,), generator)[0]
    second = random_clip_indices(num_frames, clip_len, stride, (1,), generator)[0]
    return first, second


def slow_fast_span(clip_len: int, stride: int, alpha: int, same_span: bool = True) -> int:
    """Frames that VTHCL's slow and fast clips together span (the fast clip can reach past the
    slow one: its last frame is ``stride - stride / α`` later)."""
    fast_len = alpha * clip_len if same_span else clip_len
    return max(clip_span(clip_len, stride), clip_span(fast_len, stride / alpha))


def slow_fast_indices(
    num_frames: int,
    clip_len: int,
    stride: int,
    alpha: int,
    generator: torch.Generator | None = None,
    same_span: bool = True,
    batch: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """VTHCL's two views of one instance at tempo ratio ``alpha`` (α): the slow clip has
    ``clip_len`` frames at ``stride``; the fast clip starts at the same frame at ``stride / alpha``
    and has ``alpha * clip_len`` frames (``same_span=True``: the same time span) or ``clip_len``
    frames (``same_span=False``: 1/α of the span). When ``stride / alpha < 1`` the fast clip
    repeats frames (positions are floored) — give the video enough frames to avoid it (e.g. 32
    synthetic frames for α = 4). ``batch``: ``None`` gives ``(clip_len,)`` and ``(fast_len,)``;
    an integer gives ``batch`` instances, ``(batch, clip_len)`` and ``(batch, fast_len)``."""
    _check(num_frames, clip_len, stride)
    if alpha < 1:
        raise ValueError(f"alpha must be >= 1, got {alpha}")
    fast_len = alpha * clip_len if same_span else clip_len
    span = slow_fast_span(clip_len, stride, alpha, same_span)
    starts = random_starts(num_frames, span, (1 if batch is None else batch,), generator)
    slow = clip_positions(starts, clip_len, stride, num_frames)
    fast = clip_positions(starts, fast_len, stride / alpha, num_frames)
    return (slow[0], fast[0]) if batch is None else (slow, fast)


def uniform_clip_indices(
    num_frames: int, clip_len: int, stride: int, num_clips: int
) -> torch.Tensor:
    """``num_clips`` clips uniformly spaced over the video (evaluation: scores are averaged);
    one clip is centred. Returns a LongTensor ``(num_clips, clip_len)``; deterministic."""
    _check(num_frames, clip_len, stride)
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    last_start = max(num_frames - clip_span(clip_len, stride), 0)
    if num_clips == 1:
        starts = torch.tensor([last_start // 2])
    else:
        starts = torch.linspace(0, last_start, num_clips).round().long()
    return clip_positions(starts, clip_len, stride, num_frames)
