"""Global motion compensation for the seed region (variants ``fame_mc``, ``seed_mc``).

Beyond the paper, which names a moving camera as FAME's limit (docs/fame.md, "Beyond the
paper"): each frame pair's global translation is estimated (whole pixels from an FFT
cross-correlation of the frames with their mean removed and their borders tapered, so that the
frames' wrap-around seam does not pull it to lag 0, for frames of 32 pixels a side or more on
their block sums followed by a coarse Lucas-Kanade step; then one damped Lucas-Kanade step of at
most two pixels at full size, on a 1/16-pixel grid) and the later frame is aligned to the earlier
one before differencing. Same functions, names and numbers as the
motion-compensation section of ``reference/fame.py``: shifts are on a dyadic grid, so the
bilinear weights are exact and the aligned frames agree bit for bit; only the estimate's float64
sums and FFTs may differ in their last bits between libraries, which the rounding to the grid
absorbs.

Batched over the clips and a chunk of frame pairs (``PairAligner``, ``chunk_pairs``): one run
of the tensor ops per chunk, not per frame; each frame is transformed once.

``mc_downsample`` k > 1 (opt-in, an approximation): the same estimate, alignment and change
maps, on frames summed over k x k blocks (``block_sums``), the mean change then spread back over
each block's pixels (``expand_blocks``). k = 1 is the exact path above.
"""

from __future__ import annotations

import functools

import torch

#: Version of the compensated seed's numbers, bumped whenever they change on purpose: run hashes
#: hold it (``fame.MASK_VERSIONS``), so records made with an earlier version are not reused.
#: 1: plain circular cross-correlation, 1-pixel Lucas-Kanade clip; 2: mean removed and border
#: taper before the correlation, 2-pixel clip; 3: frames of 32 pixels a side or more estimated
#: on block sums first (``estimate_pooling``; smaller frames as in 2).
MC_VERSION = 3
SHIFT_GRID = 16  # shifts are multiples of 1 / SHIFT_GRID pixel
LK_DAMPING = 1e-3
#: The Lucas-Kanade step is clipped to this many pixels per axis (see the reference).
LK_MAX_STEP = 2.0
#: The correlation's window tapers the outer 1 / WINDOW_TAPER of each side (see the reference).
WINDOW_TAPER = 8
#: Frames whose shorter side is at least 2 x ESTIMATE_SIDE are estimated on block sums first
#: (``estimate_pooling``; see the reference's ``whole_shifts``).
ESTIMATE_SIDE = 16
#: A chunk of frame pairs of all clips is estimated and aligned in one batch: as many pairs as
#: keep its float32 frames within this many bytes (at least one). Per-pixel work, not Python
#: overhead, dominates once a batch's frame has some 10^5 values, and larger chunks then lose to
#: page faults and cache misses. Measured on the CPU against the frame-by-frame loop (0.5, 1, 2,
#: 8 MiB): 0.5 MiB was never slower and 2x faster on 8 clips of 16 frames at 32².
CHUNK_BYTES = 2**19


def check_downsample(k, height: int | None = None, width: int | None = None) -> int:
    """``mc_downsample`` must be an integer k >= 1; with frames ``height`` x ``width`` and
    k > 1, the pooled frame needs an interior pixel for the Lucas-Kanade step (sides >= 3k)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"mc_downsample must be an integer >= 1 (1: the exact path); got {k!r}")
    if k > 1 and height is not None and min(height, width) < 3 * k:
        raise ValueError(f"mc_downsample={k} needs frames of at least {3 * k} x {3 * k} pixels "
                         f"(3 x 3 blocks of {k} x {k}); got {height} x {width}")
    return k


def estimate_pooling(height: int, width: int) -> int:
    """The block side k of the shift estimate of ``height`` x ``width`` frames,
    ``max(1, min(height, width) // ESTIMATE_SIDE)``, as the reference's."""
    return max(1, min(height, width) // ESTIMATE_SIDE)


def grey(frame: torch.Tensor) -> torch.Tensor:
    """Channel sum of float32 frames ``(B, 3, ...)`` (in channel order), float32 ``(B, ...)``."""
    return frame[:, 0] + frame[:, 1] + frame[:, 2]


@functools.lru_cache(maxsize=16)  # read only; built once per frame size and device
def taper_window(height: int, width: int, device=None) -> torch.Tensor:
    """The separable window ``(H, W)`` float64 of ``correlation_spectrum``: 1 inside, a raised
    cosine over the outer ``1 / WINDOW_TAPER`` of each side (``m = max(1, n // WINDOW_TAPER)``
    pixels: ``1/2 - 1/2 cos(π (k + 1/2) / m)`` for ``k < m``, mirrored at the far end), as the
    reference's ``taper_window``."""
    def axis(n):
        m = max(1, n // WINDOW_TAPER)
        k = torch.arange(n, dtype=torch.float64, device=device)
        edge = torch.minimum(k, n - 1 - k)  # pixels from the nearer border
        ramp = 0.5 - 0.5 * torch.cos(torch.pi * (edge + 0.5) / m)
        return torch.where(edge < m, ramp, 1.0)

    return axis(height)[:, None] * axis(width)[None, :]


def correlation_spectrum(greys: torch.Tensor) -> torch.Tensor:
    """``rfft2`` ``(..., H, W // 2 + 1)`` complex128 of grey frames ``(..., H, W)`` prepared for
    ``integer_shift``: each frame's mean removed, then multiplied by ``taper_window`` (float64;
    see the reference's ``correlation_frames`` for why)."""
    frames = greys.to(torch.float64, copy=True)
    frames -= frames.mean(dim=(-2, -1), keepdim=True)
    frames *= taper_window(*frames.shape[-2:], device=frames.device)
    return torch.fft.rfft2(frames)


def integer_shift(previous_spectrum: torch.Tensor, current_spectrum: torch.Tensor,
                  height: int, width: int) -> torch.Tensor:
    """Whole-pixel global translation ``(..., 2)`` float64 ``(dy, dx)`` from the frames of
    ``previous_spectrum`` to those of ``current_spectrum`` (``correlation_spectrum`` of grey
    frames, ``(..., H, W // 2 + 1)``): the lag of the largest circular cross-correlation of the
    windowed frames, ``current(y + dy, x + dx) ≈ previous(y, x)``."""
    return lag_of_peak(previous_spectrum.conj() * current_spectrum, height, width)


def lag_of_peak(cross_spectrum: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``integer_shift`` from the cross-power spectrum ``conj(P) · C`` ``(..., H, W // 2 + 1)``.

    Rounded to 2^-30 of the largest magnitude before the argmax, so near-ties (flat or periodic
    frames) go to the lower flat index, the smallest lag, as in the reference.
    """
    lead = cross_spectrum.shape[:-2]
    correlation = torch.fft.irfft2(cross_spectrum, s=(height, width)).reshape(
        *lead, height * width)
    # the largest magnitude, without an abs() copy (and aminmax was 10x slower on the CPU)
    scale = torch.maximum(correlation.amax(dim=-1, keepdim=True),
                          correlation.amin(dim=-1, keepdim=True).neg_())
    levels = correlation.div_(torch.where(scale > 0, scale, 1.0)).mul_(2.0**30).round_()
    best = levels.argmax(dim=-1)
    dy = torch.div(best, width, rounding_mode="floor")
    dx = best - dy * width
    dy = torch.where(2 * dy >= height, dy - height, dy)  # lags past half the side are negative
    dx = torch.where(2 * dx >= width, dx - width, dx)
    return torch.stack([dy, dx], dim=-1).double()


def whole_shifts(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """The whole-pixel shift ``(..., 2)`` float64 from grey frames ``previous`` to ``current``
    ``(..., H, W)`` float32 from which ``refine_shift`` takes the last step, as the reference's
    ``whole_shifts``: ``integer_shift``, on the frames pooled by ``estimate_pooling`` followed by
    ``from_pooled``. (``PairAligner`` does the same with each frame transformed once.)"""
    k = estimate_pooling(*previous.shape[-2:])
    if k > 1:
        previous, current = block_sums(previous, k), block_sums(current, k)
    peak = integer_shift(correlation_spectrum(previous), correlation_spectrum(current),
                         *previous.shape[-2:])
    return from_pooled(previous, current, peak, k)


def from_pooled(previous: torch.Tensor, current: torch.Tensor, peak: torch.Tensor,
                k: int) -> torch.Tensor:
    """The full-size whole shift from the correlation's ``peak`` between frames pooled over k x k
    blocks ``previous``, ``current``: ``peak`` itself for k = 1, else the coarse
    ``refine_shift`` times k, rounded (half to even)."""
    if k == 1:
        return peak
    return torch.round(refine_shift(previous, current, peak) * k)


def shifted_window(frames: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
    """``frames`` ``(..., H, W)`` read at ``(y + dy, x + dx)`` for ``y`` in ``0..H``, ``x`` in
    ``0..W`` (one row and column more, for the bilinear weights) with the integer shift ``whole``
    ``(..., 2)`` (leading dims broadcast against the frames'); outside the frame, its clamped
    border. One gather of the flattened frames (which may be a strided view)."""
    height, width = frames.shape[-2:]
    whole = whole.long()
    device = frames.device
    rows = (torch.arange(height + 1, device=device) + whole[..., :1]).clamp_(0, height - 1)
    cols = (torch.arange(width + 1, device=device) + whole[..., 1:]).clamp_(0, width - 1)
    index = (rows[..., :, None] * width + cols[..., None, :]).flatten(-2)
    lead = torch.broadcast_shapes(frames.shape[:-2], index.shape[:-1])
    window = torch.gather(frames.flatten(-2).expand(*lead, height * width), -1,
                          index.expand(*lead, index.shape[-1]))
    return window.unflatten(-1, (height + 1, width + 1))


def shift_valid(shift: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(..., H, W)`` for shifts ``(..., 2)``: where the bilinear sample at ``(y, x) + shift``
    reads only pixels inside the frame (both neighbours along an axis whose shift has a fraction,
    one along the other)."""
    whole = torch.floor(shift)
    rows = torch.arange(height, device=shift.device) + whole[..., :1].long()
    cols = torch.arange(width, device=shift.device) + whole[..., 1:].long()
    valid_rows = (rows >= 0) & (rows + (shift[..., :1] > whole[..., :1]).long() <= height - 1)
    valid_cols = (cols >= 0) & (cols + (shift[..., 1:] > whole[..., 1:]).long() <= width - 1)
    return valid_rows[..., :, None] & valid_cols[..., None, :]


def sample_at(frames: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Bilinear samples ``(..., H, W)`` of ``frames`` ``(..., H, W)`` at ``(y + dy, x + dx)``,
    ``shift`` ``(..., 2)`` float64 multiples of ``1 / SHIFT_GRID`` (exact weights; leading dims
    broadcast against the frames'); rows first, then columns. Meaningless where
    ``shift_valid`` is false (the clamped border)."""
    whole = torch.floor(shift)
    frac = (shift - whole).to(frames.dtype)
    fy = frac[..., 0, None, None]
    fx = frac[..., 1, None, None]
    # (1 - f) a + f b with the products taken in place where their inputs are not needed
    # again: the same float32 operations as the reference, three frame-sized allocations.
    window = shifted_window(frames, whole)
    rows = window[..., :-1, :] * (1 - fy)
    rows += window[..., 1:, :].mul_(fy)
    samples = rows[..., :-1] * (1 - fx)
    samples += rows[..., 1:].mul_(fx)
    return samples


def sample_shifted(frames: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``sample_at`` for frames ``(B, K, H, W)`` and one shift per clip ``(B, 2)``, as the
    reference's ``sample_shifted``."""
    return sample_at(frames, shift[:, None])


def refine_shift(previous: torch.Tensor, current: torch.Tensor, whole: torch.Tensor):
    """One damped, inverse-compositional Lucas-Kanade step from the integer shift ``whole``
    ``(..., 2)`` on grey frames ``(..., H, W)`` float32 (the previous frame's gradients on the
    interior; products in float32, sums in float64; see the reference), clipped to
    ``LK_MAX_STEP`` pixels and rounded to the ``1 / SHIFT_GRID`` grid."""
    height, width = previous.shape[-2:]
    aligned = shifted_window(current, whole)[..., 1:-2, 1:-2]
    inner = shift_valid(whole, height, width)[..., 1:-1, 1:-1]
    centre = previous[..., 1:-1, 1:-1]
    grad_y = (previous[..., 2:, 1:-1] - previous[..., :-2, 1:-1]).mul_(0.5)
    grad_x = (previous[..., 1:-1, 2:] - previous[..., 1:-1, :-2]).mul_(0.5)
    error = (aligned - centre).masked_fill_(~inner, 0.0)
    product = torch.empty_like(grad_y)  # one buffer for the five products

    def total(a, b):
        return torch.mul(a, b, out=product).sum(dim=(-2, -1), dtype=torch.float64)

    a_yy, a_xx, a_xy = total(grad_y, grad_y), total(grad_x, grad_x), total(grad_y, grad_x)
    b_y, b_x = total(grad_y, error), total(grad_x, error)
    damping = LK_DAMPING * (a_yy + a_xx)
    det = (a_yy + damping) * (a_xx + damping) - a_xy * a_xy
    safe = torch.where(det > 0, det, 1.0)
    step_y = torch.where(det > 0, -((a_xx + damping) * b_y - a_xy * b_x) / safe, 0.0)
    step_x = torch.where(det > 0, -((a_yy + damping) * b_x - a_xy * b_y) / safe, 0.0)
    step = torch.stack([step_y, step_x], dim=-1).clamp(-LK_MAX_STEP, LK_MAX_STEP)
    return torch.round((whole + step) * SHIFT_GRID) / SHIFT_GRID


def fill_invalid(change: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``change`` ``(..., H, W)`` float32 (non-negative) with the pixels that are not ``valid``
    set to the mean of the valid ones per map (0 where none is), in fixed point as the
    reference (see there why not 0).

    The reference rounds ``change · 2^24`` in float64; here in float32, which is exact and the
    same integers (a float32 scaled by a power of two, then rounded to an integer, is
    representable: below 2^24 every integer is, above it the value already is one), summed in
    float64 (exact: integers far below 2^53).
    """
    fixed = torch.where(valid, change, 0.0).mul_(2.0**24).round_()
    count = valid.sum(dim=(-2, -1)).clamp(min=1)
    mean = (fixed.sum(dim=(-2, -1), dtype=torch.float64) / count / 2.0**24).float()
    return torch.where(valid, change, mean[..., None, None])


def chunk_pairs(batch: int, pairs: int, height: int, width: int) -> int:
    """Frame pairs per chunk for ``batch`` clips of ``pairs`` frame pairs of 3 x ``height`` x
    ``width`` float32 frames: as many as fit ``CHUNK_BYTES``, at least one (of all clips)."""
    return max(1, min(pairs, CHUNK_BYTES // (batch * 3 * height * width * 4)))


class PairAligner:
    """Compensated frame changes of a clip batch, chunk after chunk of frames:
    ``changes(frames)`` with float32 frames ``(B, 3, K + 1, H, W)`` in time order returns the
    ``K`` maps ``(B, K, H, W)`` float32: ``sum_c |x_t aligned to x_{t-1} - x_{t-1}|`` for
    ``t = 1..K`` of the chunk, with the pixels whose counterpart left the frame set to the
    pair's mean (``fill_invalid``).

    Consecutive calls overlap by one frame (the last frame of a chunk is the first of the
    next); its grey frame and spectrum are kept, so each frame is transformed once.
    """

    def __init__(self) -> None:
        self._grey = None
        self._pooled = None
        self._spectrum = None

    def whole_shifts(self, frames: torch.Tensor) -> torch.Tensor:
        """The whole-pixel shifts ``(B, K, 2)`` of the chunk's frame pairs, frames as
        ``changes``'s: its estimate alone (what ``changes`` starts with): the transforms and peak
        search, and on pooled frames the coarse Lucas-Kanade step (the reference's
        ``whole_shifts``)."""
        return self._estimate(frames)[0]

    def changes(self, frames: torch.Tensor) -> torch.Tensor:
        height, width = frames.shape[-2:]
        whole, first_grey, later_grey = self._estimate(frames)
        later = frames[:, :, 1:]
        greys = torch.cat([first_grey, later_grey[:, :-1]], dim=1)
        shift = refine_shift(greys, later_grey, whole)  # (B, K, 2)
        # per (clip, pair), broadcast over the channels of frames (B, 3, K, H, W)
        step = sample_at(later, shift[:, None]).sub_(frames[:, :, :-1]).abs_()
        change = torch.sum(step, dim=1)  # adds the 3 channels in order, as the reference
        return fill_invalid(change, shift_valid(shift, height, width))

    def _estimate(self, frames: torch.Tensor):
        """``(whole shifts (B, K, 2), grey of the chunk's first frame (B, 1, H, W), greys of
        its later frames (B, K, H, W))``; keeps the last frame's grey and spectrum for the next
        chunk."""
        k = estimate_pooling(*frames.shape[-2:])

        def pooled(greys):
            return block_sums(greys, k) if k > 1 else greys

        later_grey = grey(frames[:, :, 1:])  # (B, K, H, W)
        later_pooled = pooled(later_grey)
        later_spectrum = correlation_spectrum(later_pooled)
        if self._grey is None:
            self._grey = grey(frames[:, :, :1])
            self._pooled = pooled(self._grey)
            self._spectrum = correlation_spectrum(self._pooled)
        # conj(previous) · current per pair, the first pair's previous frame from the last call
        cross = torch.empty_like(later_spectrum)
        torch.mul(self._spectrum.conj(), later_spectrum[:, :1], out=cross[:, :1])
        torch.mul(later_spectrum[:, :-1].conj(), later_spectrum[:, 1:], out=cross[:, 1:])
        peak = lag_of_peak(cross, *later_pooled.shape[-2:])
        earlier_pooled = torch.cat([self._pooled, later_pooled[:, :-1]], dim=1) if k > 1 else None
        whole = from_pooled(earlier_pooled, later_pooled, peak, k)
        first_grey = self._grey
        self._grey, self._pooled = later_grey[:, -1:], later_pooled[:, -1:]
        self._spectrum = later_spectrum[:, -1:]
        return whole, first_grey, later_grey


# --- mc_downsample k > 1: compensation on pooled frames (an approximation) ---------------------


def block_sums(frames: torch.Tensor, k: int) -> torch.Tensor:
    """``frames`` ``(..., H, W)`` float32 summed over k x k blocks, ``(..., H // k, W // k)``
    (rows and columns past the last whole block dropped): average pooling up to the factor k²,
    on which the correlation's peak and the Lucas-Kanade step do not depend. The k² strided
    slices are added in row-major order, as the reference."""
    height, width = frames.shape[-2] // k * k, frames.shape[-1] // k * k
    total = frames[..., 0:height:k, 0:width:k].clone()
    for i in range(k):
        for j in range(k):
            if i or j:
                total += frames[..., i:height:k, j:width:k]
    return total


def expand_blocks(maps: torch.Tensor, k: int, height: int, width: int) -> torch.Tensor:
    """Maps of k x k blocks ``(..., h, w)`` spread back to ``(..., height, width)``: each pixel
    takes its block's value, the rows and columns past the last whole block their nearest one."""
    rows = (torch.arange(height, device=maps.device) // k).clamp_(max=maps.shape[-2] - 1)
    cols = (torch.arange(width, device=maps.device) // k).clamp_(max=maps.shape[-1] - 1)
    return maps.index_select(-2, rows).index_select(-1, cols)
