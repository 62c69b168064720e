"""BE, background erasing (Wang et al., CVPR 2021): static-frame mixing, as a batched op.

``x̃_t = (1 - λ) x_t + λ x_j`` for every frame ``t``, with ``x_j`` a frame of the same clip (the
authors' "SpatialMixup" v2, ``docs/be.md``). Same meaning as
``reference/be.py``.
"""

from __future__ import annotations

import torch

from fame_bench.augment.maps import LAYOUT, check_clips, check_finite, divide


def background_erasing(clips, frame_index, weight) -> torch.Tensor:
    """BE's static-frame mixing of clips ``(B, C, T, H, W)``, same shape, dtype and device.

    ``frame_index`` ``(B,)``: the frame ``j`` mixed into each clip; ``weight``: the paper's ``λ``
    in [0, 1], a scalar or ``(B,)``. Float clips are mixed in float32 (float64 in float64) and
    cast back; uint8 clips are mixed on ``x / 255`` and rounded back (half to even).
    """
    check_clips(clips, min_frames=1)
    batch, _, frames = clips.shape[:3]
    device = clips.device
    index = torch.as_tensor(frame_index, device=device)
    if (
        index.shape != (batch,)
        or index.dtype.is_floating_point
        or index.dtype == torch.bool
        or bool((index < 0).any() | (index >= frames).any())
    ):
        raise ValueError(
            f"frame_index must be ({batch},) integers in [0, T = {frames}) of {LAYOUT}"
        )
    work = torch.float64 if clips.dtype == torch.float64 else torch.float32
    lam = torch.as_tensor(weight, dtype=work, device=device)
    if lam.dim() > 1 or (lam.dim() == 1 and lam.shape[0] != batch):
        raise ValueError(
            f"weight (BE's λ) must be a scalar or ({batch},); got shape {tuple(lam.shape)}"
        )
    if not bool(((lam >= 0) & (lam <= 1)).all()):
        raise ValueError("weight (BE's λ) must be in [0, 1]")
    lam = lam.expand(batch).view(batch, 1, 1, 1, 1)
    x = divide(clips.to(work), 255.0) if clips.dtype == torch.uint8 else clips.to(work)
    if clips.dtype != torch.uint8:
        check_finite(x)
    static = x[torch.arange(batch, device=device), :, index.long()][:, :, None]  # (B, C, 1, H, W)
    mixed = (1 - lam) * x + lam * static
    if clips.dtype == torch.uint8:
        return torch.round(mixed * 255.0).clamp_(0, 255).to(torch.uint8)
    return mixed.to(clips.dtype)
