"""BE, background erasing (Wang et al., CVPR 2021), in plain NumPy.

The authors' "SpatialMixup" (version 2): a static frame ``x_j`` of the same clip is mixed into
every frame, ``x̃_t = (1 - λ) x_t + λ x_j`` (``docs/be.md``).
"""

from __future__ import annotations

import numpy as np

from reference.fame import LAYOUT, check_clips


def background_erasing(clips, frame_index, weight) -> np.ndarray:
    """BE's static-frame mixing of clips ``(B, C, T, H, W)``.

    ``frame_index`` ``(B,)``: the frame ``j`` of each clip that is mixed in; ``weight``: the
    paper's ``λ`` in [0, 1], a scalar or ``(B,)``. Float clips are mixed in float32 (float64 stays
    float64) and keep their dtype; uint8 clips are mixed in float32 and rounded back (half to even).
    """
    x = check_clips(clips, min_frames=1, unit_range=False)
    batch, _, frames = x.shape[:3]
    frame_index = np.asarray(frame_index)
    if (
        frame_index.shape != (batch,)
        or not np.issubdtype(frame_index.dtype, np.integer)
        or frame_index.min() < 0
        or frame_index.max() >= frames
    ):
        raise ValueError(
            f"frame_index must be ({batch},) integers in [0, T = {frames}) of {LAYOUT}"
        )
    lam = np.asarray(weight, dtype=np.float64)
    if lam.ndim > 1 or (lam.ndim == 1 and lam.shape[0] != batch):
        raise ValueError(
            f"weight (BE's λ) must be a scalar or ({batch},); got shape {tuple(lam.shape)}"
        )
    lam = np.broadcast_to(lam, (batch,))
    if not np.all((lam >= 0) & (lam <= 1)):
        raise ValueError(f"weight (BE's λ) must be in [0, 1], a scalar or ({batch},); got {weight}")
    work = np.float64 if clips.dtype == np.float64 else np.float32
    x = clips.astype(np.float64) if work == np.float64 else x
    lam = lam.astype(work)[:, None, None, None, None]
    static = x[np.arange(batch), :, frame_index][:, :, None]  # (B, C, 1, H, W)
    mixed = (1 - lam) * x + lam * static
    if clips.dtype == np.uint8:
        return np.clip(np.round(mixed * np.float32(255)), 0, 255).astype(np.uint8)
    return mixed.astype(clips.dtype)
