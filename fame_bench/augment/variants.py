"""The mask variants of the paper's ablation other than FAME itself: Gauss and Grid (docs/fame.md).

(The Seed variant is ``top(S, floor(beta * N))`` and lives with ``foreground_mask``.)
"""

from __future__ import annotations

import torch

from fame_bench.augment.maps import top


def gauss_mask(batch: int, height: int, width: int, count, device) -> torch.Tensor:
    """Gauss variant: ``top`` of a centred 2-D Gaussian, boolean ``(B, H, W)``.

    ``exp(-d² / 2σ²)`` decreases with the squared distance ``d²`` to the centre for any ``σ``, so
    its top set is that of ``-d²``, computed exactly in integer half-pixel units; symmetric ties
    go to the lower flat index. The same for every clip, unless ``count`` is per clip ``(B,)``.
    """
    rows = (2 * torch.arange(height, device=device) - (height - 1)) ** 2
    cols = (2 * torch.arange(width, device=device) - (width - 1)) ** 2
    score = -(rows[:, None] + cols[None, :]).to(torch.float64)
    if isinstance(count, torch.Tensor):
        return top(score.expand(batch, height, width), count)
    return top(score[None], count).expand(batch, height, width)


def grid_cell_mask(seed: torch.Tensor, cells: int = 4, keep: int = 8) -> torch.Tensor:
    """Grid variant: ``cells x cells`` cells scored by the sum of ``S``; the ``keep`` best win.

    Cell edges at ``floor(i * H / cells)``. Sums on ``S`` in fixed point (integer units of
    2^-24), so they are exact in any order; ties between cells go to the lower cell index.
    Returns boolean ``(B, H, W)``.
    """
    batch, height, width = seed.shape
    device = seed.device
    row_cell = torch.arange(height, device=device) * cells // height
    col_cell = torch.arange(width, device=device) * cells // width
    cell_of_pixel = (row_cell[:, None] * cells + col_cell[None, :]).reshape(-1)
    fixed_point = torch.round(seed.to(torch.float64) * 2.0**24).long().reshape(batch, -1)
    sums = torch.zeros(batch, cells * cells, dtype=torch.long, device=device)
    sums.scatter_add_(1, cell_of_pixel.expand(batch, -1), fixed_point)
    chosen = top(sums.view(batch, 1, cells * cells), keep).view(batch, cells * cells)
    return chosen[:, cell_of_pixel].view(batch, height, width)
