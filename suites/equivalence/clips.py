"""Clips for the equivalence tests: noise, constant, flat colours, a moving square, and a
textured scene under a camera pan (for the motion-compensated variants); and the fixture that
pins the exact motion-compensated seed (``python -m suites.equivalence.clips`` rewrites it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

KINDS = ("noise", "constant", "blocks", "moving_square", "panning")
MC_FIXTURE = Path(__file__).parent / "data" / "mc_exact_k1.npz"


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


def mc_fixture_clips() -> np.ndarray:
    """The clips of ``MC_FIXTURE`` ``(4, 3, 6, 24, 20)`` (see ``data/README.md``)."""
    return np.concatenate([make_clips("panning", 3, 6, 24, 20, seed=21),
                           make_clips("moving_square", 1, 6, 24, 20, seed=22)])


def write_mc_fixture(path: Path = MC_FIXTURE) -> None:
    """Compute ``MC_FIXTURE`` with the PyTorch op at k = 1 (the exact path) and write it: only
    when the compensated seed changes on purpose, with ``motion.MC_VERSION`` bumped."""
    import torch

    from fame_bench.augment import foreground_mask
    from fame_bench.augment.fame import frame_statistics

    clips = torch.from_numpy(mc_fixture_clips())
    motion, _ = frame_statistics(clips, compensate=True)
    mask = foreground_mask(clips, 0.5, variant="fame_mc")
    np.savez_compressed(path, motion=motion.numpy(), fame_mc_mask=mask.numpy().astype(bool))


if __name__ == "__main__":
    write_mc_fixture()
    print(f"wrote {MC_FIXTURE}")
