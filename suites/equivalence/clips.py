"""Clips for the equivalence tests: noise, constant, flat colours, a moving square, and a
textured scene under a camera pan (for the motion-compensated variants)."""

from __future__ import annotations

import numpy as np

KINDS = ("noise", "constant", "blocks", "moving_square", "panning")


def make_clips(kind: str, batch: int, frames: int, height: int, width: int, seed: int):
    """Float32 clips ``(B, 3, T, H, W)`` in [0, 1] of the given kind."""
    rng = np.random.default_rng(seed)
    shape = (batch, 3, frames, height, width)
    if kind == "panning":
        return _panning(rng, shape)
    if kind == "noise":
        return rng.random(shape, dtype=np.float32)
    if kind == "constant":
        return np.broadcast_to(rng.random((batch, 3, 1, 1, 1), dtype=np.float32), shape).copy()
    # Flat-coloured backgrounds (many exact ties in every score) ...
    palette = rng.integers(0, 5, size=(batch, 3, 1, 2, 2)).astype(np.float32) / 4
    rows = np.arange(height) * 2 // height
    cols = np.arange(width) * 2 // width
    clips = np.broadcast_to(palette[:, :, :, rows][:, :, :, :, cols], shape).copy()
    if kind == "moving_square":  # ... with a flat square that moves one pixel per frame.
        side = max(1, min(height, width) // 3)
        for t in range(frames):
            top_row = min(t, height - side)
            clips[:, :, t, top_row : top_row + side, 1 : 1 + side] = 1.0
    return clips


def _panning(rng, shape) -> np.ndarray:
    """A smooth texture (three plane waves per channel) seen by a camera panning at a random
    velocity of up to 2 px/frame per axis (sub-pixel too), with a bright square moving on it."""
    batch, _, frames, height, width = shape
    velocity = rng.uniform(-2, 2, size=(batch, 2))
    t = np.arange(frames)
    y = np.arange(height)[None, None, :, None] + (velocity[:, :1] * t)[:, :, None, None]
    x = np.arange(width)[None, None, None, :] + (velocity[:, 1:] * t)[:, :, None, None]
    clips = np.zeros(shape, dtype=np.float64)
    for c in range(3):
        for _ in range(3):
            fy, fx = rng.uniform(-0.3, 0.3, size=2)
            phase = rng.uniform(0, 2 * np.pi)
            clips[:, c] += np.sin(2 * np.pi * (fy * y + fx * x) / 2 + phase) / 6
    clips = 0.5 + clips
    side = max(1, min(height, width) // 4)
    for f in range(frames):
        top_row = min(f, height - side)
        clips[:, :, f, top_row : top_row + side, 1 : 1 + side] = 1.0
    return np.clip(clips, 0, 1).astype(np.float32)
