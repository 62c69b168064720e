"""The mask variants of the paper's ablation other than FAME itself: Gauss and Grid (docs/fame.md),
and our control Gauss with a random centre per clip (``gauss_random``, not in the paper).

(The Seed variant is ``top(S, floor(beta * N))`` and lives with ``foreground_mask``.)
"""

from __future__ import annotations

import torch

from fame_bench.augment.maps import top


def draw_device(generator) -> torch.device:
    """Where draws from ``generator`` are made: its own device (``None``: torch's default CPU
    generator). The draws are tiny; clips may live elsewhere."""
    return torch.device("cpu") if generator is None else generator.device


def random_centres(batch: int, height: int, width: int, generator=None) -> torch.Tensor:
    """The ``gauss_random`` centres: int64 ``(B, 2)`` ``(row, col)``, uniform over the pixels.

    Row first, then column, each ``randint`` over the whole frame from ``generator`` (``None``:
    torch's default generator), on the generator's device; the blob may sit at an edge, where
    ``top`` still keeps exactly ``count`` pixels (the nearest ones inside the frame).
    """
    device = draw_device(generator)
    rows = torch.randint(0, height, (batch,), generator=generator, device=device)
    cols = torch.randint(0, width, (batch,), generator=generator, device=device)
    return torch.stack([rows, cols], dim=1)


def gauss_mask(batch: int, height: int, width: int, count, device,
               centres: torch.Tensor | None = None) -> torch.Tensor:
    """Gauss variant: ``top`` of a centred 2-D Gaussian, boolean ``(B, H, W)``.

    ``exp(-d² / 2σ²)`` decreases with the squared distance ``d²`` to the centre for any ``σ``, so
    its top set is that of ``-d²``, computed exactly in integer half-pixel units; symmetric ties
    go to the lower flat index. The same for every clip, unless ``count`` is per clip ``(B,)``
    or ``centres`` ``(B, 2)`` (pixel ``(row, col)``, ``gauss_random``) moves it per clip.
    """
    if centres is None:
        rows = (2 * torch.arange(height, device=device) - (height - 1)) ** 2
        cols = (2 * torch.arange(width, device=device) - (width - 1)) ** 2
        score = -(rows[:, None] + cols[None, :]).to(torch.float64)
        if isinstance(count, torch.Tensor):
            return top(score.expand(batch, height, width), count)
        return top(score[None], count).expand(batch, height, width)
    centres = centres.to(device=device, dtype=torch.long)
    rows = (torch.arange(height, device=device) - centres[:, :1]) ** 2  # (B, H), whole pixels
    cols = (torch.arange(width, device=device) - centres[:, 1:]) ** 2  # (B, W)
    return top(-(rows[:, :, None] + cols[:, None, :]).to(torch.float64), count)


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
