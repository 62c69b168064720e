"""Input checks and the per-clip map helpers FAME uses twice: blur, minmax, top (docs/fame.md).

Maps are ``(B, H, W)``. The arithmetic mirrors ``reference/fame.py`` operation for operation
(float32, fixed summation order) so the two agree bit for bit on the CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

EPS = 1e-8
LAYOUT = "(B, C, T, H, W) with C = 3 (RGB)"
CLIP_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8)


def check_clips(clips, min_frames: int = 2, name: str = "clips") -> torch.Tensor:
    """Validate a batch ``(B, C=3, T, H, W)`` (float in [0, 1] or uint8); return it unchanged.

    The value range (and NaN/inf) is checked by ``check_range`` where the statistics are
    computed, in the same device sync.
    """
    if not isinstance(clips, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor {LAYOUT}; got {type(clips).__name__}")
    if clips.dim() != 5 or clips.shape[1] != 3:
        raise ValueError(f"{name} must have layout {LAYOUT}; got shape {tuple(clips.shape)}")
    batch, _, frames, height, width = clips.shape
    if batch < 1 or height < 1 or width < 1:
        raise ValueError(f"{name} must be non-empty {LAYOUT}; got shape {tuple(clips.shape)}")
    if frames < min_frames:
        raise ValueError(
            f"{name} need T >= {min_frames} frames in {LAYOUT} (the seed region is a frame "
            f"difference); got T = {frames}"
        )
    if clips.dtype not in CLIP_DTYPES:
        raise ValueError(f"{name} must be float in [0, 1] or uint8; got dtype {clips.dtype}")
    return clips


def check_finite(values: torch.Tensor, name: str = "clips") -> None:
    """Refuse NaN or inf (one device sync)."""
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name} contain NaN or inf; expected finite values in [0, 1]")


def check_range(clips: torch.Tensor, name: str = "clips") -> None:
    """Refuse float values outside [0, 1], NaN and inf with one device sync (uint8 is always in
    range). Pixels in 0..255 or [-1, 1] would index colour bins that do not exist."""
    refuse_out_of_range(clips, values_in_range(clips), name)


def values_in_range(clips: torch.Tensor) -> torch.Tensor | None:
    """Whether every value is in [0, 1], as a 0-dim boolean tensor on the clips' device (False
    for NaN too), without a device sync; ``None`` for uint8, always in range."""
    if clips.dtype == torch.uint8:
        return None
    low, high = torch.aminmax(clips)
    return (low >= 0) & (high <= 1)


def refuse_out_of_range(clips: torch.Tensor, in_range: torch.Tensor | None,
                        name: str = "clips") -> None:
    """``check_range`` given ``values_in_range(clips)``: the one device sync, where the caller
    chooses (after its work is queued)."""
    if in_range is None or bool(in_range):
        return
    check_finite(clips, name)
    low, high = torch.aminmax(clips)
    raise ValueError(
        f"{name} must be float in [0, 1] or uint8; got values in [{float(low):g}, "
        f"{float(high):g}] (divide 0..255 pixels by 255, or pass uint8)"
    )


def check_beta(beta) -> float | str:
    """``beta`` (the paper's foreground ratio β) must be a number in (0, 1] or ``"auto"``."""
    if isinstance(beta, str) and beta == "auto":
        return beta
    try:
        value = float(beta)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"beta must be a number in (0, 1] or 'auto'; got {beta!r}") from None
    if not (0.0 < value <= 1.0):
        raise ValueError(f"beta must be in (0, 1] or 'auto'; got {beta!r}")
    return value


def check_auto_beta(beta_bounds, auto_mass) -> tuple[float, float, float]:
    """``beta_bounds`` ``(low, high)`` with ``0 < low <= high <= 1`` and ``auto_mass`` in (0, 1]."""
    try:
        low, high = (float(b) for b in beta_bounds)
        mass = float(auto_mass)
    except (TypeError, ValueError):
        raise ValueError(f"beta_bounds must be two numbers (low, high) and auto_mass a number; "
                         f"got {beta_bounds!r}, {auto_mass!r}") from None
    if not (0.0 < low <= high <= 1.0) or not (0.0 < mass <= 1.0):
        raise ValueError(f"beta_bounds must satisfy 0 < low <= high <= 1 and auto_mass be in "
                         f"(0, 1]; got {beta_bounds!r}, {auto_mass!r}")
    return low, high, mass


def divide(values: torch.Tensor, divisor: float) -> torch.Tensor:
    """``values / divisor``, correctly rounded on every device.

    CUDA divides a tensor by a Python number as ``values * (1 / divisor)``, one rounding more:
    on an H200 that moved 578 of 200 704 mask pixels of uint8 clips (``x / 255``) away from
    the CPU's. Divided by a tensor on the device, CUDA takes the true division; the CPU always
    does. A power of two needs neither (its reciprocal is exact).
    """
    if values.device.type == "cpu":
        return values / divisor
    return values / torch.full((), divisor, dtype=values.dtype, device=values.device)


def unit_frame(clips: torch.Tensor, t: int | slice) -> torch.Tensor:
    """Frame ``t`` ``(B, C, H, W)`` (frames ``(B, C, K, H, W)`` for a slice ``t``) as float32 in
    [0, 1] (uint8 read as ``x / 255``); a view of float32 clips."""
    frame = clips[:, :, t]
    if frame.dtype == torch.uint8:
        return divide(frame.to(torch.float32), 255.0)
    return frame.to(torch.float32)


def blur_taps(size: int) -> list[float]:
    """1-D Gaussian taps: odd ``k = floor(0.1 * size) // 2 * 2 + 1``, ``σ = k / 3``, sum 1."""
    k = int(math.floor(0.1 * size)) // 2 * 2 + 1
    sigma = k / 3.0
    raw = [math.exp(-((i - k // 2) ** 2) / (2.0 * sigma * sigma)) for i in range(k)]
    total = math.fsum(raw)
    return [r / total for r in raw]


def _blur_axis(maps: torch.Tensor, taps: list[float], axis: int) -> torch.Tensor:
    # Shifted copies summed in tap order rather than conv1d: the order of the additions is
    # then fixed, which keeps plateaus of equal values exactly equal (the tie rule needs that).
    half = len(taps) // 2
    length = maps.shape[axis]
    pad = (half, half, 0, 0) if axis == 2 else (0, 0, half, half)
    padded = F.pad(maps.unsqueeze(1), pad, mode="reflect").squeeze(1)
    out = taps[0] * padded.narrow(axis, 0, length)
    for i in range(1, len(taps)):
        out += taps[i] * padded.narrow(axis, i, length)
    return out


def blur(maps: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of float32 ``(B, H, W)``, along W then H, mirrored borders."""
    taps = blur_taps(min(maps.shape[-2:]))
    if len(taps) == 1:
        return maps
    return _blur_axis(_blur_axis(maps, taps, axis=2), taps, axis=1)


def minmax(maps: torch.Tensor) -> torch.Tensor:
    """Per clip ``(m - min m) / (max(m - min m) + eps)`` over its ``H * W`` values."""
    shifted = maps - maps.amin(dim=(1, 2), keepdim=True)
    return shifted / (shifted.amax(dim=(1, 2), keepdim=True) + EPS)


def top(maps: torch.Tensor, count) -> torch.Tensor:
    """The paper's top(m, n): boolean ``(B, H, W)``, true on the ``count`` largest values per clip.

    Tie rule (docs/fame.md): among equal values the lower flat index ``h * W + w`` wins, as in a
    stable descending sort. A selection, not a sort: the ``count``-th largest value ``v`` comes
    from ``kthvalue``; everything above ``v`` is in, and of the values equal to ``v`` the first
    ones in flat order fill the remaining places. ``count`` may also be a tensor ``(B,)`` of
    per-clip counts (``beta="auto"``): then a stable sort ranks the pixels.
    """
    batch, height, width = maps.shape
    pixels = height * width
    flat = maps.reshape(batch, pixels)
    if isinstance(count, torch.Tensor):
        order = torch.sort(flat, dim=1, descending=True, stable=True).indices
        rank = torch.empty_like(order).scatter_(
            1, order, torch.arange(pixels, device=maps.device).expand(batch, pixels))
        return (rank < count.to(maps.device)[:, None]).view(batch, height, width)
    if count <= 0:
        return torch.zeros_like(flat, dtype=torch.bool).view(batch, height, width)
    if count >= pixels:
        return torch.ones_like(flat, dtype=torch.bool).view(batch, height, width)
    threshold = torch.kthvalue(flat, pixels - count + 1, dim=1, keepdim=True).values
    above = flat > threshold
    tied = flat == threshold
    places_left = count - above.sum(dim=1, keepdim=True)
    tied_so_far = running_sum(tied.view(batch, height, width), torch.int32)
    chosen = above | (tied & (tied_so_far <= places_left))
    return chosen.view(batch, height, width)


def running_sum(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Inclusive running sums ``(B, H * W)`` of integer or boolean ``values`` ``(B, H, W)`` in
    flat order ``h * W + w``, as ``dtype``: along each row, then over the rows' totals.

    The same integers as one ``cumsum`` over ``H * W``; two short scans instead of one long
    one, because ``torch.compile`` on CUDA (inductor's split scan, torch 2.11) failed to
    generate code for the long scan of a few rows.
    """
    batch = values.shape[0]
    along_rows = values.cumsum(dim=2, dtype=dtype)
    row_totals = along_rows[:, :, -1]
    rows_before = row_totals.cumsum(dim=1, dtype=dtype) - row_totals
    return (along_rows + rows_before[:, :, None]).reshape(batch, -1)


def auto_counts(seed: torch.Tensor, low: int, high: int, mass: float) -> torch.Tensor:
    """``beta="auto"``: per clip ``(B,)`` int64, the fewest pixels whose seed values ``S``
    ``(B, H, W)`` hold ``mass`` of the clip's total, clamped to ``[low, high]`` pixels.

    In fixed point (``S`` in integer units of 2^-24) so the sums are exact in any order, as in
    the reference; a static clip (``S = 0``) needs no pixel and gets ``low``.
    """
    batch = seed.shape[0]
    fixed_point = torch.round(seed.reshape(batch, -1).double() * 2.0**24).long()
    largest_first = torch.sort(fixed_point, dim=1, descending=True).values
    # mass of the pixels ranked above
    before = running_sum(largest_first.view(seed.shape), torch.int64) - largest_first
    need = torch.ceil(mass * largest_first.sum(dim=1).double())
    return (before < need[:, None]).sum(dim=1).clamp(low, high)


def bottom(maps: torch.Tensor, count: int) -> torch.Tensor:
    """bottom(m, n) = top(-m, n): the ``count`` smallest values, same tie rule."""
    return top(-maps, count)
