"""Frame-index samplers: pure functions of their arguments (and a ``torch.Generator``).

Used the same way on in-memory synthetic clips (index the T axis) and on decoded real videos
(the indices say which frames to decode). A clip of ``clip_len`` frames at ``stride`` spans
``(clip_len - 1) * stride + 1`` frames; a video shorter than that is padded by repeating its last
frame (indices are clamped), the usual practice of the papers' loaders.
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


def _random_start(num_frames: int, span: int, generator: torch.Generator | None) -> int:
    last_start = max(num_frames - span, 0)
    return int(torch.randint(0, last_start + 1, (1,), generator=generator))


def _positions(start: int, count: int, stride: float, num_frames: int) -> torch.Tensor:
    offsets = torch.floor(torch.arange(count, dtype=torch.float64) * stride).long()
    return (start + offsets).clamp_(max=num_frames - 1)


def two_clip_indices(
    num_frames: int, clip_len: int, stride: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two clips from independent random timestamps of one video (MoCo/FAME pretraining: query
    and key). Returns two LongTensors ``(clip_len,)``."""
    _check(num_frames, clip_len, stride)
    span = clip_span(clip_len, stride)
    first = _positions(_random_start(num_frames, span, generator), clip_len, stride, num_frames)
    second = _positions(_random_start(num_frames, span, generator), clip_len, stride, num_frames)
    return first, second


def slow_fast_indices(
    num_frames: int,
    clip_len: int,
    stride: int,
    alpha: int,
    generator: torch.Generator | None = None,
    same_span: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """VTHCL's two views of one instance at tempo ratio ``alpha`` (α): the slow clip has
    ``clip_len`` frames at ``stride``; the fast clip starts at the same frame at ``stride / alpha``
    and has ``alpha * clip_len`` frames (``same_span=True``: the same time span) or ``clip_len``
    frames (``same_span=False``: 1/α of the span). When ``stride / alpha < 1`` the fast clip
    repeats frames (positions are floored) — give the video enough frames to avoid it (e.g. 32
    synthetic frames for α = 4)."""
    _check(num_frames, clip_len, stride)
    if alpha < 1:
        raise ValueError(f"alpha must be >= 1, got {alpha}")
    fast_len = alpha * clip_len if same_span else clip_len
    # The fast clip can reach past the slow one (its last frame is stride - stride/α later).
    span = max(clip_span(clip_len, stride), clip_span(fast_len, stride / alpha))
    start = _random_start(num_frames, span, generator)
    slow = _positions(start, clip_len, stride, num_frames)
    fast = _positions(start, fast_len, stride / alpha, num_frames)
    return slow, fast


def uniform_clip_indices(
    num_frames: int, clip_len: int, stride: int, num_clips: int
) -> torch.Tensor:
    """``num_clips`` clips uniformly spaced over the video (evaluation: scores are averaged).
    Returns a LongTensor ``(num_clips, clip_len)``; deterministic."""
    _check(num_frames, clip_len, stride)
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    last_start = max(num_frames - clip_span(clip_len, stride), 0)
    starts = torch.linspace(0, last_start, num_clips).round().long()
    return torch.stack([_positions(int(s), clip_len, stride, num_frames) for s in starts])
