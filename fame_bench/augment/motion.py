"""Global motion compensation for the seed region (variants ``fame_mc``, ``seed_mc``).

Beyond the paper, which names a moving camera as FAME's limit (docs/fame.md, "Beyond the
paper"): each frame pair's global translation is estimated (whole pixels from an FFT
cross-correlation, then one damped Lucas-Kanade step on a 1/16-pixel grid) and the later frame is
aligned to the earlier one before differencing. Same functions, names and numbers as the
motion-compensation section of ``reference/fame.py``: shifts are on a dyadic grid, so the
bilinear weights are exact and the aligned frames agree bit for bit; only the estimate's float64
sums and FFTs may differ in their last bits between libraries, which the rounding to the grid
absorbs.

Batched over clips; the only loop is over frames (in ``accumulate_frames``).
"""

from __future__ import annotations

import torch

SHIFT_GRID = 16  # shifts are multiples of 1 / SHIFT_GRID pixel
LK_DAMPING = 1e-3


def grey(frame: torch.Tensor) -> torch.Tensor:
    """Channel sum of a float32 frame ``(B, 3, H, W)`` (in channel order), float32 ``(B, H, W)``."""
    return frame[:, 0] + frame[:, 1] + frame[:, 2]


def integer_shift(previous_spectrum: torch.Tensor, current_spectrum: torch.Tensor,
                  height: int, width: int) -> torch.Tensor:
    """Whole-pixel global translation ``(B, 2)`` float64 ``(dy, dx)`` from the frame of
    ``previous_spectrum`` to that of ``current_spectrum`` (``rfft2`` of grey frames): the lag of
    the largest circular cross-correlation, ``current(y + dy, x + dx) ≈ previous(y, x)``.

    Rounded to 2^-30 of the largest magnitude before the argmax, so near-ties (flat or periodic
    frames) go to the lower flat index, the smallest lag, as in the reference.
    """
    batch = previous_spectrum.shape[0]
    correlation = torch.fft.irfft2(previous_spectrum.conj() * current_spectrum,
                                   s=(height, width)).reshape(batch, -1)
    scale = correlation.abs().amax(dim=1, keepdim=True)
    levels = torch.round(correlation / torch.where(scale > 0, scale, 1.0) * 2.0**30)
    best = levels.argmax(dim=1)
    dy = torch.div(best, width, rounding_mode="floor")
    dx = best - dy * width
    dy = torch.where(2 * dy >= height, dy - height, dy)  # lags past half the side are negative
    dx = torch.where(2 * dx >= width, dx - width, dx)
    return torch.stack([dy, dx], dim=1).double()


def shifted_window(frames: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
    """``frames`` ``(B, K, H, W)`` read at ``(y + dy, x + dx)`` for ``y`` in ``0..H``, ``x`` in
    ``0..W`` (one row and column more, for the bilinear weights) with the integer shift ``whole``
    ``(B, 2)``; outside the frame, its clamped border. One gather of the flattened frames."""
    batch, channels, height, width = frames.shape
    whole = whole.long()
    device = frames.device
    rows = (torch.arange(height + 1, device=device)[None] + whole[:, :1]).clamp(0, height - 1)
    cols = (torch.arange(width + 1, device=device)[None] + whole[:, 1:]).clamp(0, width - 1)
    index = (rows[:, :, None] * width + cols[:, None, :]).view(batch, 1, -1)
    window = torch.gather(frames.reshape(batch, channels, height * width), 2,
                          index.expand(batch, channels, index.shape[-1]))
    return window.view(batch, channels, height + 1, width + 1)


def shift_valid(shift: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(B, H, W)``: where the bilinear sample at ``(y, x) + shift`` reads only pixels inside
    the frame (both neighbours along an axis whose shift has a fraction, one along the other)."""
    whole = torch.floor(shift)
    rows = torch.arange(height, device=shift.device)[None] + whole[:, :1].long()
    cols = torch.arange(width, device=shift.device)[None] + whole[:, 1:].long()
    valid_rows = (rows >= 0) & (rows + (shift[:, :1] > whole[:, :1]).long() <= height - 1)
    valid_cols = (cols >= 0) & (cols + (shift[:, 1:] > whole[:, 1:]).long() <= width - 1)
    return valid_rows[:, :, None] & valid_cols[:, None, :]


def sample_shifted(frames: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Bilinear samples ``(B, K, H, W)`` of ``frames`` ``(B, K, H, W)`` at ``(y + dy, x + dx)``,
    ``shift`` ``(B, 2)`` float64 multiples of ``1 / SHIFT_GRID`` (exact weights); rows first,
    then columns. Meaningless where ``shift_valid`` is false (the clamped border)."""
    batch = frames.shape[0]
    whole = torch.floor(shift)
    frac = (shift - whole).to(frames.dtype)
    fy = frac[:, 0].view(batch, 1, 1, 1)
    fx = frac[:, 1].view(batch, 1, 1, 1)
    window = shifted_window(frames, whole)
    rows = (1 - fy) * window[:, :, :-1] + fy * window[:, :, 1:]
    return (1 - fx) * rows[..., :-1] + fx * rows[..., 1:]


def refine_shift(previous: torch.Tensor, current: torch.Tensor, whole: torch.Tensor):
    """One damped, inverse-compositional Lucas-Kanade step from the integer shift ``whole``
    ``(B, 2)`` on grey frames ``(B, H, W)`` float32 (the previous frame's gradients on the
    interior; products in float32, sums in float64; see the reference), clipped to one pixel and
    rounded to the ``1 / SHIFT_GRID`` grid."""
    height, width = previous.shape[1:]
    aligned = shifted_window(current[:, None], whole)[:, 0, 1:-2, 1:-2]
    inner = shift_valid(whole, height, width)[:, 1:-1, 1:-1]
    centre = previous[:, 1:-1, 1:-1]
    grad_y = (previous[:, 2:, 1:-1] - previous[:, :-2, 1:-1]) * 0.5
    grad_x = (previous[:, 1:-1, 2:] - previous[:, 1:-1, :-2]) * 0.5
    error = torch.where(inner, aligned - centre, 0.0)

    def total(values):
        return values.sum(dim=(1, 2), dtype=torch.float64)

    a_yy, a_xx, a_xy = total(grad_y * grad_y), total(grad_x * grad_x), total(grad_y * grad_x)
    b_y, b_x = total(grad_y * error), total(grad_x * error)
    damping = LK_DAMPING * (a_yy + a_xx)
    det = (a_yy + damping) * (a_xx + damping) - a_xy * a_xy
    safe = torch.where(det > 0, det, 1.0)
    step_y = torch.where(det > 0, -((a_xx + damping) * b_y - a_xy * b_x) / safe, 0.0)
    step_x = torch.where(det > 0, -((a_yy + damping) * b_x - a_xy * b_y) / safe, 0.0)
    step = torch.stack([step_y, step_x], dim=1).clamp(-1.0, 1.0)
    return torch.round((whole + step) * SHIFT_GRID) / SHIFT_GRID


def fill_invalid(change: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``change`` ``(B, H, W)`` float32 with the pixels that are not ``valid`` set to the mean of
    the valid ones per clip (0 where none is), in fixed point as the reference (see there why
    not 0)."""
    fixed = torch.round(torch.where(valid, change, 0.0).double() * 2.0**24)
    count = valid.sum(dim=(1, 2)).clamp(min=1)
    mean = (fixed.sum(dim=(1, 2)) / count / 2.0**24).float()
    return torch.where(valid, change, mean[:, None, None])


class Aligner:
    """Aligns each frame of a clip batch to the frame before it, frame after frame:
    ``align(previous, current)`` with float32 frames ``(B, 3, H, W)`` in time order returns
    ``(current aligned to previous, valid (B, H, W))``.

    One frame pair at a time, keeping the last frame's spectrum, so each frame is transformed
    once. (Estimating all pairs in one batch was 2.5x slower on the CPU: its FFTs and maps
    no longer fit the cache; measured.)
    """

    def __init__(self) -> None:
        self._grey = None
        self._spectrum = None

    def align(self, previous: torch.Tensor, current: torch.Tensor):
        if self._grey is None:
            self._grey = grey(previous)
            self._spectrum = torch.fft.rfft2(self._grey.double())
        current_grey = grey(current)
        current_spectrum = torch.fft.rfft2(current_grey.double())
        height, width = current.shape[-2:]
        whole = integer_shift(self._spectrum, current_spectrum, height, width)
        shift = refine_shift(self._grey, current_grey, whole)
        self._grey, self._spectrum = current_grey, current_spectrum
        return sample_shifted(current, shift), shift_valid(shift, height, width)
