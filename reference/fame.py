"""FAME, foreground-background merging (Ding et al., CVPR 2022), in plain NumPy.

The readable reference for ``fame_bench.augment``: one function per step of
``docs/fame.md``, batched over the leading axis. Clips are arrays ``(B, C, T, H, W)``
with ``C = 3`` (RGB), float in [0, 1] or uint8 in 0..255 (read as ``x / 255``).

Numerics are chosen so that the PyTorch op can agree with this file bit for bit: every step runs
in float32 (as the authors' code; cos and sin of the hue correctly rounded), sums over time and
channels are explicit loops in a fixed order, the blur is a fixed-order sum of shifted copies,
and ``top`` follows the tie rule (among equal scores the lower flat index ``h * W + w`` wins, the
order of a stable descending sort).

All-static clips: when a clip does not move, the seed region ``S`` is all zero, every score
ties, and the tie rule decides: the mask is the first ``floor(beta * N)`` pixels in row-major
order (the top rows). Defined and deterministic, never NaN.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-8
COLOUR_BINS = 1000  # 10 x 10 x 10 quantised HSV colours, numbered 1..1000 (bin 0 unused)
# fame_mc / seed_mc: FAME and Seed on the motion-compensated seed region (beyond the paper)
# gauss_random: Gauss at a random centre per clip, our control for the mask's place (not in
# the paper)
VARIANTS = ("fame", "seed", "grid", "gauss", "fame_mc", "seed_mc", "gauss_random")
COMPENSATED = ("fame_mc", "seed_mc")
#: beta="auto": the per-clip β is the smallest fraction of pixels holding ``AUTO_MASS`` of the
#: seed region's mass, clamped to ``AUTO_BOUNDS`` (docs/fame.md, "Beyond the paper").
AUTO_BOUNDS = (0.2, 0.7)
AUTO_MASS = 0.8
#: Motion compensation: shifts are multiples of 1 / SHIFT_GRID pixel, refined by one damped
#: Lucas-Kanade step of at most LK_MAX_STEP pixels per axis; the whole-pixel estimate correlates
#: frames whose outer 1 / WINDOW_TAPER of each side is tapered (``taper_window``).
SHIFT_GRID = 16
LK_DAMPING = 1e-3
LK_MAX_STEP = 2.0
WINDOW_TAPER = 8
#: Frames whose shorter side is at least 2 x ESTIMATE_SIDE are estimated on block sums
#: (``estimate_pooling``), the last step at full size.
ESTIMATE_SIDE = 16
HUES = ("code", "turns")
LAYOUT = "(B, C, T, H, W) with C = 3 (RGB)"


# --- input checks -----------------------------------------------------------------------------


def check_clips(clips, min_frames: int = 2, name: str = "clips",
                unit_range: bool = True) -> np.ndarray:
    """Validate a batch ``(B, C=3, T, H, W)`` (float in [0, 1] or uint8) and return it as float32
    in [0, 1] units. ``unit_range=False`` (BE, a linear mix) accepts any finite floats."""
    if not isinstance(clips, np.ndarray):
        raise ValueError(f"{name} must be a numpy array {LAYOUT}; got {type(clips).__name__}")
    if clips.ndim != 5 or clips.shape[1] != 3:
        raise ValueError(f"{name} must have layout {LAYOUT}; got shape {clips.shape}")
    batch, _, frames, height, width = clips.shape
    if batch < 1 or height < 1 or width < 1:
        raise ValueError(f"{name} must be non-empty {LAYOUT}; got shape {clips.shape}")
    if frames < min_frames:
        raise ValueError(
            f"{name} need T >= {min_frames} frames in {LAYOUT} (the seed region is a frame "
            f"difference); got T = {frames}"
        )
    if clips.dtype == np.uint8:
        return clips.astype(np.float32) / np.float32(255)
    if not np.issubdtype(clips.dtype, np.floating):
        raise ValueError(f"{name} must be float in [0, 1] or uint8; got dtype {clips.dtype}")
    if not np.isfinite(clips).all():
        raise ValueError(f"{name} contain NaN or inf; expected finite values in [0, 1]")
    low, high = clips.min(), clips.max()
    if unit_range and (low < 0 or high > 1):  # also keeps float64 beyond float32's range out
        raise ValueError(
            f"{name} must be float in [0, 1] or uint8; got values in [{float(low):g}, "
            f"{float(high):g}] (divide 0..255 pixels by 255, or pass uint8)"
        )
    return clips.astype(np.float32)


def check_beta(beta) -> float | str:
    """``beta`` (the paper's foreground ratio β) must be a number in (0, 1] or ``"auto"``."""
    if isinstance(beta, str) and beta == "auto":
        return beta
    try:
        value = float(beta)
    except (TypeError, ValueError):
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


# --- helpers used twice: blur, minmax, top ----------------------------------------------------


def blur_taps(size: int) -> list[float]:
    """1-D Gaussian taps of the blur: odd ``k = floor(0.1 * size) // 2 * 2 + 1``, ``σ = k / 3``."""
    k = int(math.floor(0.1 * size)) // 2 * 2 + 1
    sigma = k / 3.0
    raw = [math.exp(-((i - k // 2) ** 2) / (2.0 * sigma * sigma)) for i in range(k)]
    total = math.fsum(raw)
    return [r / total for r in raw]


def _blur_axis(maps: np.ndarray, taps: list[float], axis: int) -> np.ndarray:
    """Convolve along ``axis`` with mirrored borders (``d c b | a b c d | c b a``)."""
    k = len(taps)
    if k == 1:
        return maps
    half = k // 2
    pad = [(0, 0)] * maps.ndim
    pad[axis] = (half, half)
    padded = np.pad(maps, pad, mode="reflect")
    length = maps.shape[axis]
    out = None
    for i, tap in enumerate(taps):
        shifted = np.take(padded, np.arange(i, i + length), axis=axis)
        term = np.float32(tap) * shifted
        out = term if out is None else out + term
    return out


def blur(maps: np.ndarray) -> np.ndarray:
    """Separable Gaussian blur of ``(B, H, W)`` maps, along W then H; ``k`` from ``min(H, W)``."""
    taps = blur_taps(min(maps.shape[-2:]))
    return _blur_axis(_blur_axis(maps, taps, axis=2), taps, axis=1)


def minmax(maps: np.ndarray) -> np.ndarray:
    """Per clip ``(m - min m) / (max(m - min m) + eps)`` over its ``H * W`` values."""
    shifted = maps - maps.min(axis=(1, 2), keepdims=True)
    return shifted / (shifted.max(axis=(1, 2), keepdims=True) + np.float32(EPS))


def top(maps: np.ndarray, count) -> np.ndarray:
    """The paper's top(m, n): boolean ``(B, H, W)``, true on the ``count`` largest pixels per clip
    (``count``: one number, or one per clip ``(B,)``, as ``beta="auto"`` makes).

    Tie rule: a stable descending sort, so among equal values the lower flat index wins.
    """
    batch, height, width = maps.shape
    pixels = height * width
    flat = maps.reshape(batch, pixels)
    order = np.argsort(-flat, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(pixels), order.shape), axis=1)
    counts = np.broadcast_to(np.asarray(count), (batch,))
    return (rank < counts[:, None]).reshape(batch, height, width)


def bottom(maps: np.ndarray, count: int) -> np.ndarray:
    """bottom(m, n) = top(-m, n): the ``count`` smallest pixels, same tie rule."""
    return top(-maps, count)


# --- motion compensation (variants fame_mc, seed_mc) ------------------------------------------


def check_downsample(k, height: int | None = None, width: int | None = None) -> int:
    """``mc_downsample`` must be an integer k >= 1; with frames ``height`` x ``width`` and
    k > 1, the pooled frame needs an interior pixel for the Lucas-Kanade step (sides >= 3k)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"mc_downsample must be an integer >= 1 (1: the exact path); got {k!r}")
    if k > 1 and height is not None and min(height, width) < 3 * k:
        raise ValueError(f"mc_downsample={k} needs frames of at least {3 * k} x {3 * k} pixels "
                         f"(3 x 3 blocks of {k} x {k}); got {height} x {width}")
    return k


def grey(frame: np.ndarray) -> np.ndarray:
    """Channel sum of a float32 frame ``(B, 3, H, W)`` (in channel order), float32 ``(B, H, W)``."""
    return frame[:, 0] + frame[:, 1] + frame[:, 2]


def taper_window(height: int, width: int) -> np.ndarray:
    """Separable window ``(H, W)`` float64: 1 inside, a raised cosine over the outer
    ``m = max(1, n // WINDOW_TAPER)`` pixels of each side of length ``n``
    (``1/2 - 1/2 cos(π (k + 1/2) / m)`` at ``k`` pixels from the nearer border)."""
    def axis(n):
        m = max(1, n // WINDOW_TAPER)
        k = np.arange(n, dtype=np.float64)
        edge = np.minimum(k, n - 1 - k)
        return np.where(edge < m, 0.5 - 0.5 * np.cos(np.pi * (edge + 0.5) / m), 1.0)

    return axis(height)[:, None] * axis(width)[None, :]


def correlation_frames(greys: np.ndarray) -> np.ndarray:
    """Grey frames ``(..., H, W)`` as :func:`integer_shift` correlates them: float64, each
    frame's mean removed, times :func:`taper_window`.

    The plain circular correlation of the frames was biased toward lag 0 on smooth textures:
    their wrap-around seam (the last row and column meet the first) stays put while the content
    moves, and a smooth texture's broad correlation peak is pulled onto it. The window takes the
    seam out; the mean is removed first, or the window's own bump, which does not move either,
    would pull the peak to 0 the same way. Only the outer eighth of each side is tapered, so
    the frame's middle, where the object tends to be, weighs no more than the rest of the
    background (a Hann window over the whole frame, which does, locked onto the object more often
    and gave lower mask IoU at every pan speed on the synthetic clips; measured, docs/fame.md).
    """
    frames = greys.astype(np.float64)
    frames = frames - frames.mean(axis=(-2, -1), keepdims=True)
    return frames * taper_window(*frames.shape[-2:])


def integer_shift(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Whole-pixel global translation ``(B, 2)`` float64 ``(dy, dx)`` from ``previous`` to
    ``current`` (grey frames ``(B, H, W)``): the lag of the largest circular
    cross-correlation of :func:`correlation_frames`, by FFT.
    ``current(y + dy, x + dx) ≈ previous(y, x)``.

    Not phase correlation: whitening the spectrum amplified noise and border effects on small
    smooth frames (measured on the synthetic clips). The correlation is rounded to 2^-30 of its
    largest magnitude first, so that lags which tie up to rounding (flat or periodic frames) go
    to the lower flat index, the smallest lag first, whatever the FFT library.
    """
    batch, height, width = previous.shape
    spectrum = (np.conj(np.fft.rfft2(correlation_frames(previous)))
                * np.fft.rfft2(correlation_frames(current)))
    correlation = np.fft.irfft2(spectrum, s=(height, width)).reshape(batch, -1)
    scale = np.abs(correlation).max(axis=1, keepdims=True)
    levels = np.round(correlation / np.where(scale > 0, scale, 1.0) * 2.0**30)
    best = levels.argmax(axis=1)
    dy, dx = best // width, best % width
    dy = np.where(2 * dy >= height, dy - height, dy)  # lags past half the side are negative
    dx = np.where(2 * dx >= width, dx - width, dx)
    return np.stack([dy, dx], axis=1).astype(np.float64)


def shifted_window(frames: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``frames`` ``(B, K, H, W)`` read at ``(y + dy, x + dx)`` for ``y`` in ``0..H`` and ``x`` in
    ``0..W`` (one row and column more than the frame, for the bilinear weights), with the
    integer shift ``whole`` ``(B, 2)``; positions outside the frame read its clamped border."""
    height, width = frames.shape[-2:]
    rows = np.clip(np.arange(height + 1)[None] + whole[:, :1].astype(np.int64), 0, height - 1)
    cols = np.clip(np.arange(width + 1)[None] + whole[:, 1:].astype(np.int64), 0, width - 1)
    window = np.take_along_axis(frames, rows[:, None, :, None], axis=2)
    return np.take_along_axis(window, cols[:, None, None, :], axis=3)


def shift_valid(shift: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(B, H, W)``: where the bilinear sample at ``(y, x) + shift`` reads only pixels inside
    the frame (both neighbours along an axis whose shift has a fraction, one along the other)."""
    whole = np.floor(shift).astype(np.int64)
    rows = np.arange(height)[None] + whole[:, :1]
    cols = np.arange(width)[None] + whole[:, 1:]
    valid_rows = (rows >= 0) & (rows + (shift[:, :1] > whole[:, :1]) <= height - 1)
    valid_cols = (cols >= 0) & (cols + (shift[:, 1:] > whole[:, 1:]) <= width - 1)
    return valid_rows[:, :, None] & valid_cols[:, None, :]


def sample_shifted(frames: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Bilinear samples ``(B, K, H, W)`` of ``frames`` ``(B, K, H, W)`` at ``(y + dy, x + dx)``,
    with ``shift`` ``(B, 2)`` multiples of ``1 / SHIFT_GRID`` (so the weights are exact in
    float32): rows first, then columns. Where :func:`shift_valid` is false the samples read the
    clamped border and mean nothing."""
    whole = np.floor(shift)
    frac = (shift - whole).astype(frames.dtype)
    one = frames.dtype.type(1)
    fy = frac[:, 0, None, None, None]
    fx = frac[:, 1, None, None, None]
    window = shifted_window(frames, whole)
    rows = (one - fy) * window[:, :, :-1] + fy * window[:, :, 1:]
    return (one - fx) * rows[..., :-1] + fx * rows[..., 1:]


def refine_shift(previous: np.ndarray, current: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """One damped Lucas-Kanade step from the integer shift ``whole`` ``(B, 2)``, on grey frames
    ``(B, H, W)`` float32, rounded to the ``1 / SHIFT_GRID`` grid.

    With ``a`` the current frame moved by ``whole`` and ``∇p`` the previous frame's gradient
    (central differences, on the interior pixels; the inverse-compositional form, which needs no
    gradient of a resampled frame), ``a - previous ≈ -∇p · e`` for the shift ``e`` still
    missing, so ``e = -(A + λ tr(A) I)^-1 b`` with ``A = Σ ∇p ∇pᵀ`` over the interior and
    ``b = Σ ∇p (a - previous)`` over the interior pixels where ``a`` is valid;
    ``λ = LK_DAMPING`` keeps stripes, which fix the shift across them only, from moving it along
    them; ``e`` is clipped to ``LK_MAX_STEP`` pixels per axis (two: on smooth textures the
    whole-pixel peak can still be off by more than one pixel, which the linearisation, valid
    over a smooth texture's long scale, corrects; one pixel left a 1.5 px pan at 1 px).
    Products in float32, sums in float64. One step was as good as two on the synthetic clips
    (measured with the estimate before the window, ``MC_VERSION`` 1).
    """
    height, width = previous.shape[1:]
    aligned = shifted_window(current[:, None], whole)[:, 0, 1:-2, 1:-2]
    inner = shift_valid(whole, height, width)[:, 1:-1, 1:-1]
    centre = previous[:, 1:-1, 1:-1]
    half = np.float32(0.5)
    grad_y = (previous[:, 2:, 1:-1] - previous[:, :-2, 1:-1]) * half
    grad_x = (previous[:, 1:-1, 2:] - previous[:, 1:-1, :-2]) * half
    error = np.where(inner, aligned - centre, np.float32(0))

    def total(values):
        return values.sum(axis=(1, 2), dtype=np.float64)

    a_yy, a_xx, a_xy = total(grad_y * grad_y), total(grad_x * grad_x), total(grad_y * grad_x)
    b_y, b_x = total(grad_y * error), total(grad_x * error)
    damping = LK_DAMPING * (a_yy + a_xx)
    det = (a_yy + damping) * (a_xx + damping) - a_xy * a_xy
    safe = np.where(det > 0, det, 1.0)
    step_y = np.where(det > 0, -((a_xx + damping) * b_y - a_xy * b_x) / safe, 0.0)
    step_x = np.where(det > 0, -((a_yy + damping) * b_x - a_xy * b_y) / safe, 0.0)
    step = np.clip(np.stack([step_y, step_x], axis=1), -LK_MAX_STEP, LK_MAX_STEP)
    return np.round((whole + step) * SHIFT_GRID) / SHIFT_GRID


def estimate_pooling(height: int, width: int) -> int:
    """The block side k on which :func:`pair_shifts` estimates the shift of ``height`` x
    ``width`` frames: ``max(1, min(height, width) // ESTIMATE_SIDE)``, so the pooled frame's
    shorter side is ``ESTIMATE_SIDE`` to ``2 ESTIMATE_SIDE - 1`` pixels (1: the frames as they
    are, below ``2 ESTIMATE_SIDE``)."""
    return max(1, min(height, width) // ESTIMATE_SIDE)


def whole_shifts(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The whole-pixel shift ``(B, 2)`` from which :func:`pair_shifts` takes its last step:
    :func:`integer_shift` of the frames; for frames pooled by k = :func:`estimate_pooling` > 1,
    :func:`integer_shift` and :func:`refine_shift` of their k x k :func:`block_sums`, times k,
    rounded to whole pixels (half to even).

    Why pooled: the correlation's float64 transforms of full frames cost more than the rest of
    FAME at 112² (docs/fame.md, "Beyond the paper"); on block sums they cost ``k²`` less, and
    the coarse Lucas-Kanade step brings the coarse estimate within about a pixel, which the
    full-size step then refines. On the synthetic clips (32², k = 2) the masks stayed within
    noise of the unpooled estimate's; over 8 x 8 blocks (k = 4) they lost 1.5-4 IoU points."""
    k = estimate_pooling(*previous.shape[-2:])
    if k == 1:
        return integer_shift(previous, current)
    small_previous, small_current = block_sums(previous, k), block_sums(current, k)
    coarse = refine_shift(small_previous, small_current,
                          integer_shift(small_previous, small_current))
    return np.round(coarse * k)


def pair_shifts(greys: np.ndarray) -> np.ndarray:
    """The global translation ``(B, T - 1, 2)`` from each grey frame of ``greys``
    ``(B, T, H, W)`` float32 to the next: :func:`whole_shifts`, then :func:`refine_shift`, for
    all pairs at once."""
    batch, frames, height, width = greys.shape
    previous = greys[:, :-1].reshape(-1, height, width)
    current = greys[:, 1:].reshape(-1, height, width)
    whole = whole_shifts(previous, current)
    return refine_shift(previous, current, whole).reshape(batch, frames - 1, 2)


def fill_invalid(change: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``change`` ``(B, H, W)`` float32 with the pixels that are not ``valid`` set to the mean of
    the valid ones, per clip (0 where none is valid).

    A pixel whose counterpart left the frame has no evidence either way; 0 would make that
    border strip look perfectly static, the most "background" pixels of all, which would pull
    FAME's likely-background sample G onto it and lower ``minmax``'s floor. The mean is taken in
    fixed point (integer units of 2^-24, summed in float64, exact in any order).
    """
    fixed = np.round(np.where(valid, change, np.float32(0)).astype(np.float64) * 2.0**24)
    count = valid.sum(axis=(1, 2))
    mean = (fixed.sum(axis=(1, 2)) / np.maximum(count, 1) / 2.0**24).astype(np.float32)
    return np.where(valid, change, mean[:, None, None])


def block_sums(frames: np.ndarray, k: int) -> np.ndarray:
    """``frames`` ``(..., H, W)`` float32 summed over k x k blocks, ``(..., H // k, W // k)``;
    rows and columns past the last whole block are dropped. Average pooling up to the factor
    k², on which the correlation's peak and the Lucas-Kanade step do not depend (``minmax``
    only through its eps); the k² strided slices are added in row-major order, in float32."""
    height, width = frames.shape[-2] // k * k, frames.shape[-1] // k * k
    total = frames[..., 0:height:k, 0:width:k].copy()
    for i in range(k):
        for j in range(k):
            if i or j:
                total = total + frames[..., i:height:k, j:width:k]
    return total


def expand_blocks(maps: np.ndarray, k: int, height: int, width: int) -> np.ndarray:
    """Maps of k x k blocks ``(B, h, w)`` spread back to ``(B, height, width)``: each pixel takes
    its block's value, the rows and columns past the last whole block their nearest one."""
    rows = np.minimum(np.arange(height) // k, maps.shape[1] - 1)
    cols = np.minimum(np.arange(width) // k, maps.shape[2] - 1)
    return maps[:, rows][:, :, cols]


# --- step 1: seed region ----------------------------------------------------------------------


def frame_statistics(clips: np.ndarray, compensate: bool = False,
                     mc_downsample: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute frame difference ``(B, H, W)`` and temporal mean frame ``x̄`` ``(B, C, H, W)``.

    ``clips`` are float32 in [0, 1]. Sums run over time (and channels) in a fixed order so the
    PyTorch op can reproduce them exactly. ``compensate``: each frame is first aligned to the
    one before it by their global translation (:func:`pair_shifts`, :func:`sample_shifted`); a
    pixel whose counterpart left the frame gets the pair's mean difference (:func:`fill_invalid`);
    ``mc_downsample`` k > 1 (opt-in, an approximation, cheaper): the compensated mean change of
    the frames summed over k x k blocks (:func:`block_sums`; shifts then in block units),
    divided by k², each pixel given its block's value (:func:`expand_blocks`); the mean frame
    stays exact.
    """
    if compensate and mc_downsample > 1:
        motion, _ = frame_statistics(block_sums(clips, mc_downsample), compensate=True)
        _, mean_frame = frame_statistics(clips)
        motion = motion / np.float32(mc_downsample * mc_downsample)  # the blocks' mean change
        return expand_blocks(motion, mc_downsample, *clips.shape[-2:]), mean_frame
    frames = clips.shape[2]
    motion = np.zeros((clips.shape[0],) + clips.shape[3:], dtype=np.float32)
    mean_frame = clips[:, :, 0].copy()
    if compensate:
        shifts = pair_shifts(np.stack([grey(clips[:, :, t]) for t in range(frames)], axis=1))
    for t in range(1, frames):
        current = clips[:, :, t]
        if compensate:
            current = sample_shifted(current, shifts[:, t - 1])
            valid = shift_valid(shifts[:, t - 1], *current.shape[-2:])
        step = np.abs(current - clips[:, :, t - 1])
        change = step[:, 0] + step[:, 1] + step[:, 2]
        motion = motion + (fill_invalid(change, valid) if compensate else change)
        mean_frame = mean_frame + clips[:, :, t]
    return motion / np.float32(frames - 1), mean_frame / np.float32(frames)


def seed_region(clips: np.ndarray, compensate: bool = False,
                mc_downsample: int = 1) -> np.ndarray:
    """Step 1, the seed region ``S`` ``(B, H, W)``.

    ``S = minmax(blur(mean_t sum_c |x[:, c, t] - x[:, c, t+1]|))``. A clip that does not move has
    ``S = 0`` everywhere (minmax divides by ``0 + eps``, never NaN). ``compensate``: the
    motion-compensated seed (variants ``*_mc``), at ``mc_downsample`` (1: exact).
    """
    x = check_clips(clips)
    if compensate:
        check_downsample(mc_downsample, *x.shape[-2:])
    motion, _ = frame_statistics(x, compensate, mc_downsample)
    return minmax(blur(motion))


# --- step 2: foreground completion by colour statistics ---------------------------------------


def hsv(mean_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 2.2: hue (radians in [0, 2π)), saturation and value of ``x̄`` ``(B, 3, H, W)``.

    float32, operation for operation as the authors' colour conversion (kornia's ``rgb_to_hsv``):
    a colour that lies exactly on a bin edge in the code's arithmetic (uint8 mean frames often
    do) then falls in the same bin here. The first channel wins a tie for the maximum; hue is 0
    where max = min.
    """
    rgb = mean_frame.astype(np.float32)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    value = np.maximum(np.maximum(r, g), b)
    delta = value - np.minimum(np.minimum(r, g), b)
    saturation = delta / (value + np.float32(EPS))
    safe = np.where(delta == 0, np.float32(1), delta)
    rc, gc, bc = value - r, value - g, value - b
    sextant = np.where(
        (r >= g) & (r >= b), bc - gc,
        np.where(g >= b, (rc - bc) + np.float32(2) * safe, (gc - rc) + np.float32(4) * safe),
    )
    full_turn = np.float32(2.0 * math.pi)
    hue = np.mod(sextant / safe / np.float32(6), np.float32(1)) * full_turn
    # a tiny negative sextant wraps to exactly one full turn: fold it to 0, as the code does
    return np.where(hue >= full_turn, np.float32(0), hue), saturation, value


def _cos_sin(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 cos and sin, correctly rounded (evaluated in float64), the same on every device."""
    wide = angle.astype(np.float64)
    return np.cos(wide).astype(np.float32), np.sin(wide).astype(np.float32)


def quantise_colours(mean_frame: np.ndarray, hue: str = "code") -> np.ndarray:
    """Step 2.3: colour index in 1..1000 per pixel, int64 ``(B, H, W)``.

    ``hx = (s cos(2π h) + 1) / 2``, ``hy = (s sin(2π h) + 1) / 2``; ``i, j, l`` = round-half-even
    of ``9 hx + 1, 9 hy + 1, 9 v + 1`` (rounded after adding one, as the authors' code does: at
    an exact .5, e.g. every grey pixel's ``9 hx = 4.5``, this is not ``round(9 hx) + 1``);
    colour ``= i + 10 (j - 1) + 100 (l - 1)``. In float32 with the code's order of operations,
    so exact .5 values (grey pixels, many uint8 mean frames) are the code's.
    ``hue="code"`` keeps the authors' quirk (``h`` in radians times 2π again); ``hue="turns"``
    uses ``h / 2π``, the evident intent.
    """
    if hue not in HUES:
        raise ValueError(f"hue must be one of {HUES}; got {hue!r}")
    h, s, v = hsv(mean_frame)
    angle = h * np.float32(2) * np.float32(math.pi) if hue == "code" else h
    cos, sin = _cos_sin(angle)
    one, two, nine = np.float32(1), np.float32(2), np.float32(9)
    hx = (s * cos + one) / two
    hy = (s * sin + one) / two
    i = np.round(hx * nine + one).astype(np.int64)
    j = np.round(hy * nine + one).astype(np.int64)
    level = np.round(v * nine + one).astype(np.int64)
    return i + 10 * (j - 1) + 100 * (level - 1)


def colour_histograms(colours: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Step 2.4: per-clip counts ``(B, 1001)`` of the colours inside the boolean ``region``."""
    batch = colours.shape[0]
    counts = np.zeros((batch, COLOUR_BINS + 1), dtype=np.float32)
    for clip in range(batch):
        counts[clip] = np.bincount(colours[clip][region[clip]], minlength=COLOUR_BINS + 1)
    return counts


def foreground_likelihood(colours: np.ndarray, likely_fg: np.ndarray, likely_bg: np.ndarray):
    """Steps 2.4-2.5: ``R = pF[c] / (pG[c] + pF[c])`` per pixel ``(B, H, W)``.

    ``pF = hF / (sum hF + eps)`` and the Laplace-smoothed ``pG = (hG + 1) / (sum(hG + 1) + eps)``
    over bins 1..1000, so ``pG > 0`` and ``R`` is always defined.
    """
    eps = np.float32(EPS)
    h_fg = colour_histograms(colours, likely_fg)
    h_bg = colour_histograms(colours, likely_bg)[:, 1:] + np.float32(1)
    p_fg = h_fg / (h_fg.sum(axis=1, keepdims=True) + eps)
    p_bg = np.concatenate(
        [np.ones_like(h_fg[:, :1]), h_bg / (h_bg.sum(axis=1, keepdims=True) + eps)], axis=1
    )
    pf = np.take_along_axis(p_fg, colours.reshape(colours.shape[0], -1), axis=1)
    pg = np.take_along_axis(p_bg, colours.reshape(colours.shape[0], -1), axis=1)
    return (pf / (pg + pf)).reshape(colours.shape)


def fame_scores(x: np.ndarray, hue: str = "code", compensate: bool = False) -> np.ndarray:
    """Steps 1-2 on float32 clips: the completed foreground score ``minmax(blur(R))``
    (``compensate``: from the motion-compensated seed region)."""
    motion, mean_frame = frame_statistics(x, compensate)
    return completed_scores(minmax(blur(motion)), mean_frame, hue)


def completed_scores(seed: np.ndarray, mean_frame: np.ndarray, hue: str = "code") -> np.ndarray:
    """Step 2 from the seed region ``S`` and the mean frame: ``minmax(blur(R))``."""
    pixels = seed.shape[1] * seed.shape[2]
    likely_fg = top(seed, pixels // 2)  # F = top(S, floor(0.5 N))
    likely_bg = bottom(seed, pixels // 10)  # G = bottom(S, floor(0.1 N))
    colours = quantise_colours(mean_frame, hue)
    return minmax(blur(foreground_likelihood(colours, likely_fg, likely_bg)))


# --- mask variants ----------------------------------------------------------------------------


def gauss_scores(batch: int, height: int, width: int) -> np.ndarray:
    """The Gauss variant's score: a centred 2-D Gaussian, ranked through ``-d²``.

    ``exp(-d² / 2σ²)`` is decreasing in the squared distance ``d²`` to the frame centre whatever
    ``σ``, so its top-β set is the top-β set of ``-d²``, which is computed exactly in integer
    half-pixel units (ties between symmetric pixels then go to the lower flat index).
    """
    rows = (2 * np.arange(height) - (height - 1)) ** 2
    cols = (2 * np.arange(width) - (width - 1)) ** 2
    score = -(rows[:, None] + cols[None, :]).astype(np.float64)
    return np.broadcast_to(score, (batch, height, width))


def gauss_random_scores(height: int, width: int, centres) -> np.ndarray:
    """The ``gauss_random`` score: the Gauss score centred per clip at ``centres`` ``(B, 2)``
    integer pixel ``(row, col)``, ranked through ``-d²`` in whole pixels (as ``gauss_scores``;
    the centres are drawn by the caller, uniform over the frame's pixels, docs/fame.md)."""
    centres = np.asarray(centres)
    if (centres.ndim != 2 or centres.shape[1] != 2 or not np.issubdtype(centres.dtype, np.integer)
            or (centres[:, 0] < 0).any() or (centres[:, 0] >= height).any()
            or (centres[:, 1] < 0).any() or (centres[:, 1] >= width).any()):
        raise ValueError(f"centres must be (B, 2) integer (row, col) pixels inside the "
                         f"{height} x {width} frame; got {centres!r}")
    rows = (np.arange(height)[None, :] - centres[:, :1]) ** 2
    cols = (np.arange(width)[None, :] - centres[:, 1:]) ** 2
    return -(rows[:, :, None] + cols[:, None, :]).astype(np.float64)


def grid_cell_mask(seed: np.ndarray, cells: int = 4, keep: int = 8) -> np.ndarray:
    """The Grid variant: ``cells x cells`` cells scored by the sum of ``S``; the ``keep`` best win.

    Cell edges are ``floor(i * H / cells)``. The sums are taken on ``S`` in fixed point (integer
    units of 2^-24), so they are exact whatever the order of summation; ties between cells go to
    the lower cell index (row-major), as in ``top``.
    """
    batch, height, width = seed.shape
    row_cell = np.arange(height) * cells // height
    col_cell = np.arange(width) * cells // width
    cell_of_pixel = (row_cell[:, None] * cells + col_cell[None, :]).ravel()
    fixed_point = np.round(seed.astype(np.float64) * 2.0**24).astype(np.int64)
    sums = np.zeros((batch, cells * cells), dtype=np.int64)
    for cell in range(cells * cells):
        sums[:, cell] = fixed_point.reshape(batch, -1)[:, cell_of_pixel == cell].sum(axis=1)
    chosen = top(sums.reshape(batch, 1, cells * cells), keep).reshape(batch, cells * cells)
    return chosen[:, cell_of_pixel].reshape(batch, height, width)


def auto_counts(seed: np.ndarray, low: int, high: int, mass: float) -> np.ndarray:
    """``beta="auto"``: per clip ``(B,)`` int64, the fewest pixels whose seed values ``S`` hold
    ``mass`` of the clip's total, clamped to ``[low, high]`` pixels.

    In fixed point (``S`` in integer units of 2^-24), so the sums are exact in any order; a
    static clip (``S = 0``) needs no pixel and gets ``low``.
    """
    batch = seed.shape[0]
    fixed_point = np.round(seed.reshape(batch, -1).astype(np.float64) * 2.0**24).astype(np.int64)
    largest_first = -np.sort(-fixed_point, axis=1)
    before = np.cumsum(largest_first, axis=1) - largest_first  # mass of the pixels ranked above
    need = np.ceil(mass * largest_first.sum(axis=1).astype(np.float64))
    return np.clip((before < need[:, None]).sum(axis=1), low, high)


def foreground_mask(clips, beta, variant: str = "fame", hue: str = "code",
                    beta_bounds=AUTO_BOUNDS, auto_mass: float = AUTO_MASS,
                    centres=None, mc_downsample: int = 1) -> np.ndarray:
    """Step 2.6 (and the ablation's variants): the foreground mask ``M``, float32 ``(B, H, W)``.

    ``M = 1`` on ``top(score, floor(beta * N))``, 0 elsewhere, with ``score`` by ``variant``:
    ``"fame"`` ``minmax(blur(R))`` (seed + colour statistics), ``"seed"`` ``S``, ``"gauss"`` a
    centred Gaussian, ``"gauss_random"`` the same Gaussian centred per clip at ``centres``
    (``(B, 2)`` pixels, required for it and only for it); ``"fame_mc"`` and ``"seed_mc"`` as
    ``"fame"`` and ``"seed"`` on the motion-compensated seed region. ``"grid"`` keeps the 8 of
    4x4 cells with the largest sum of ``S`` (β = 0.5 by construction; ``beta`` is validated but
    unused, and cannot be ``"auto"``).
    ``beta="auto"``: each clip keeps :func:`auto_counts` pixels of its variant's seed region
    (the plain one for the Gaussians), between ``beta_bounds`` of the frame, holding ``auto_mass``
    of the seed's mass. A static clip gives the tie-rule mask. ``mc_downsample`` k > 1
    (``*_mc`` variants only; an approximation): see :func:`frame_statistics`; 1 is exact.
    """
    x = check_clips(clips)
    beta = check_beta(beta)
    low, high, mass = check_auto_beta(beta_bounds, auto_mass)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    if hue not in HUES:
        raise ValueError(f"hue must be one of {HUES}; got {hue!r}")
    batch, _, _, height, width = x.shape
    if check_downsample(mc_downsample, height, width) > 1 and variant not in COMPENSATED:
        raise ValueError(f"mc_downsample > 1 applies to the variants {COMPENSATED} only; got "
                         f"variant {variant!r}")
    if variant == "grid" and beta == "auto":
        raise ValueError("the grid variant keeps 8 of 16 cells (β = 0.5); beta='auto' does not "
                         "apply to it")
    if (centres is None) != (variant != "gauss_random"):
        raise ValueError(f"centres are given for the gauss_random variant and only for it; got "
                         f"variant {variant!r} with centres {centres!r}")
    seed = mean_frame = None
    if variant not in ("gauss", "gauss_random") or beta == "auto":
        motion, mean_frame = frame_statistics(x, variant in COMPENSATED, mc_downsample)
        seed = minmax(blur(motion))
    pixels = height * width  # β·N with one rounding: (β·H)·W can fall just short of an integer
    if beta == "auto":
        count = auto_counts(seed, math.floor(low * pixels), math.floor(high * pixels), mass)
    else:
        count = int(math.floor(beta * pixels))
    if variant in ("fame", "fame_mc"):
        chosen = top(completed_scores(seed, mean_frame, hue), count)
    elif variant in ("seed", "seed_mc"):
        chosen = top(seed, count)
    elif variant == "gauss":
        chosen = top(gauss_scores(batch, height, width), count)
    elif variant == "gauss_random":
        if len(centres) != batch:
            raise ValueError(f"centres must be ({batch}, 2); got {np.shape(centres)}")
        chosen = top(gauss_random_scores(height, width, centres), count)
    else:
        if height < 4 or width < 4:
            raise ValueError(f"the grid variant needs H, W >= 4; got {height} x {width}")
        chosen = grid_cell_mask(seed)
    return chosen.astype(np.float32)


# --- step 3: merge ----------------------------------------------------------------------------


def merge(foreground_clips, background_clips, mask) -> np.ndarray:
    """Step 3: ``M x_fg + (1 - M) x_bg`` with ``M`` ``(B, H, W)`` broadcast over C and T.

    Inputs keep their dtype (uint8 merges exactly: ``M`` is 0 or 1).
    """
    if not isinstance(foreground_clips, np.ndarray) or not isinstance(background_clips, np.ndarray):
        raise ValueError(f"foreground and background clips must be numpy arrays {LAYOUT}")
    if foreground_clips.ndim != 5 or foreground_clips.shape[1] != 3:
        raise ValueError(f"clips must have layout {LAYOUT}; got {foreground_clips.shape}")
    if foreground_clips.shape != background_clips.shape:
        raise ValueError(
            f"foreground and background clips must have the same shape {LAYOUT}; got "
            f"{foreground_clips.shape} and {background_clips.shape}"
        )
    batch, _, _, height, width = foreground_clips.shape
    mask = np.asarray(mask)
    if mask.shape != (batch, height, width):
        raise ValueError(f"mask must be (B, H, W) = {(batch, height, width)}; got {mask.shape}")
    if mask.dtype != bool and not ((mask == 0) | (mask == 1)).all():
        raise ValueError("mask must be binary (every value 0 or 1); got other values (a soft "
                         "or NaN mask is not a FAME mask)")
    keep = mask[:, None, None].astype(bool)
    if foreground_clips.dtype == np.uint8:
        return np.where(keep, foreground_clips, background_clips)
    m = keep.astype(foreground_clips.dtype)
    return m * foreground_clips + (1 - m) * background_clips


def default_background_index(batch: int) -> np.ndarray:
    """The batch rolled by one: clip ``i`` takes the background of clip ``i - 1`` (mod B)."""
    return (np.arange(batch) - 1) % batch


def fame(clips, beta, background_index=None, variant: str = "fame", hue: str = "code",
         beta_bounds=AUTO_BOUNDS, auto_mass: float = AUTO_MASS, centres=None,
         mc_downsample: int = 1):
    """FAME on a batch: ``(merged, mask)``, merged ``(B, C, T, H, W)``, mask ``(B, H, W)``.

    The foreground of clip ``i`` is pasted on clip ``background_index[i]`` (default: the batch
    rolled by one, never itself). A batch of one has no other background and is refused.
    ``beta``, ``beta_bounds``, ``auto_mass``, ``centres``, ``mc_downsample``: see
    :func:`foreground_mask`.
    """
    check_clips(clips)
    batch = clips.shape[0]
    if batch < 2:
        raise ValueError(f"FAME needs B >= 2 clips in {LAYOUT} (a background from another clip)")
    if background_index is None:
        background_index = default_background_index(batch)
    background_index = np.asarray(background_index)
    if (
        background_index.shape != (batch,)
        or not np.issubdtype(background_index.dtype, np.integer)
        or background_index.min() < 0
        or background_index.max() >= batch
    ):
        raise ValueError(f"background_index must be integers in [0, {batch}) of shape ({batch},)")
    mask = foreground_mask(clips, beta, variant, hue, beta_bounds, auto_mass, centres,
                           mc_downsample)
    return merge(clips, clips[background_index], mask), mask
