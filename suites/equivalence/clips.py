"""Clips for the equivalence tests: noise, constant, flat colours, a moving square."""

from __future__ import annotations

import numpy as np

KINDS = ("noise", "constant", "blocks", "moving_square")


def make_clips(kind: str, batch: int, frames: int, height: int, width: int, seed: int):
    """Float32 clips ``(B, 3, T, H, W)`` in [0, 1] of the given kind."""
    rng = np.random.default_rng(seed)
    shape = (batch, 3, frames, height, width)
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
