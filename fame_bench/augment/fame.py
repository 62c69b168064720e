"""FAME, foreground-background merging (Ding et al., CVPR 2022), as a batched PyTorch op.

Same functions, names and meaning as ``reference/fame.py`` (``docs/fame.md``), on
tensors ``(B, C=3, T, H, W)`` of any device; float32/float16/bfloat16/float64 in [0, 1] or uint8
(statistics on ``x / 255``). Statistics run in float32 (as the authors' code) whatever
the input dtype; the merge keeps the input dtype and is exact (the mask is binary).

Cost: the batch is read once for the statistics (frame differences and mean frame accumulated
frame by frame, a loop over T, never over B) and once for the merge (one ``torch.where``); the
rest works on ``(B, H, W)`` maps, 1/(C·T) of the batch. No sort: ``top`` is a selection.

All-static clips (seed region all zero): every score ties and the tie rule decides, so the mask
is the first ``floor(beta * N)`` pixels in row-major order (the top rows). Never NaN.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from fame_bench.augment import native
from fame_bench.augment.maps import (
    EPS,
    LAYOUT,
    auto_counts,
    blur,
    bottom,
    check_auto_beta,
    check_beta,
    check_clips,
    check_range,
    divide,
    minmax,
    refuse_out_of_range,
    top,
    unit_frame,
    values_in_range,
)
from fame_bench.augment.motion import (
    MC_VERSION,
    PairAligner,
    block_sums,
    check_downsample,
    chunk_pairs,
    expand_blocks,
)
from fame_bench.augment.variants import gauss_mask, grid_cell_mask, random_centres

COLOUR_BINS = 1000  # 10 x 10 x 10 quantised HSV colours, numbered 1..1000 (bin 0 unused)
PAPER_MASK_VARIANTS = ("fame", "seed", "grid", "gauss")  # the paper's Table 4
# fame_mc / seed_mc: FAME and Seed on the motion-compensated seed region (beyond the paper)
# gauss_random: Gauss at a random centre per clip, our control for the mask's place (not in
# the paper)
MASK_VARIANTS = (*PAPER_MASK_VARIANTS, "fame_mc", "seed_mc", "gauss_random")
GAUSSIAN = ("gauss", "gauss_random")
COMPENSATED = ("fame_mc", "seed_mc")
#: Algorithm version of a mask variant whose masks changed on purpose since run records exist
#: (a variant not listed is at version 1). Run hashes hold a version other than 1, so a record
#: made before the change is never taken for one made after it, and every other run's hash
#: stays what it was (``fame_bench.train.experiment``).
MASK_VERSIONS = dict.fromkeys(COMPENSATED, MC_VERSION)
HUES = ("code", "turns")
#: beta="auto" (beyond the paper): the per-clip β is the smallest fraction of pixels holding
#: ``AUTO_MASS`` of the seed region's mass, clamped to ``AUTO_BOUNDS``.
AUTO_BOUNDS = (0.2, 0.7)
AUTO_MASS = 0.8


def mask_version(variant: str) -> int:
    """The algorithm version of mask ``variant`` (``MASK_VERSIONS``; 1 when not listed)."""
    return MASK_VERSIONS.get(variant, 1)


class AutoCount(NamedTuple):
    """``beta="auto"`` in pixels: at least ``low``, at most ``high``, holding ``mass`` of ``S``."""

    low: int
    high: int
    mass: float


# --- step 1: seed region ----------------------------------------------------------------------


def accumulate_frames(clips: torch.Tensor, compensate: bool = False, mc_downsample: int = 1):
    """One read of the batch: mean absolute frame difference ``(B, H, W)`` and mean frame
    ``x̄`` ``(B, C, H, W)``, both float32 (unchecked; see ``frame_statistics``).

    Accumulated frame by frame so no ``(B, C, T-1, H, W)`` temporary is ever built; the order
    of the sums matches the reference. ``compensate``: each frame is aligned to the one before
    it by their global translation first (``fame_bench.augment.motion``), a chunk of frame
    pairs at a time; a pixel whose counterpart left the frame gets the pair's mean difference.
    ``mc_downsample`` k > 1 (an approximation, opt-in): the same on frames summed over k x k
    blocks, the mean change spread back over each block's pixels. On the CPU natively where it
    can be built (``augment.native``), with the same numbers.
    """
    if compensate:
        return _compensated_frames(clips, mc_downsample)
    frames = clips.shape[2]
    if frames > 1 and clips.shape[1] == 3 and native.applies(clips):
        return native.frame_statistics(clips)
    previous = unit_frame(clips, 0)
    mean_frame = previous.clone()
    motion = torch.zeros_like(previous[:, 0])
    # Two reused frame-sized buffers: fresh allocations each step cost page faults on the CPU.
    step = torch.empty_like(mean_frame)
    step_sum = torch.empty_like(motion)
    for t in range(1, frames):
        current = unit_frame(clips, t)
        torch.sub(current, previous, out=step).abs_()
        # A sum over the 3 channels adds them in order, as the reference does (tested bitwise).
        motion += torch.sum(step, dim=1, out=step_sum)
        mean_frame += current
        previous = current
    return divide(motion, frames - 1), divide(mean_frame, frames)


def _compensated_frames(clips: torch.Tensor, mc_downsample: int = 1):
    """``accumulate_frames(clips, compensate=True)``. ``mc_downsample`` k > 1 (an approximation,
    opt-in): the compensated changes of the frames summed over k x k blocks (``block_sums``, a
    chunk of frames at a time), divided by k², spread back over each block's pixels
    (``expand_blocks``)."""
    batch, _, frames, height, width = clips.shape
    if mc_downsample == 1 and frames > 1 and native.applies(clips):
        return native.compensated_statistics(clips)
    mean_frame = unit_frame(clips, 0).clone()
    for t in range(1, frames):
        mean_frame += unit_frame(clips, t)
    mean_frame = divide(mean_frame, frames)
    if mc_downsample == 1:
        return _compensated_motion(clips), mean_frame
    step = chunk_pairs(batch, frames, height, width)
    pooled = torch.cat([block_sums(unit_frame(clips, slice(start, start + step)), mc_downsample)
                        for start in range(0, frames, step)], dim=2)
    # / k²: the blocks' mean change, on the scale of the exact path's
    motion = divide(_compensated_motion(pooled), mc_downsample * mc_downsample)
    return expand_blocks(motion, mc_downsample, height, width), mean_frame


def _compensated_motion(clips: torch.Tensor) -> torch.Tensor:
    """The mean compensated change ``(B, H, W)`` float32 of clips ``(B, 3, T, H, W)``: the aligned
    changes of a chunk of frame pairs at a time (``chunk_pairs``: one run of the ops per chunk,
    not per frame), added in time order. On the CPU natively where it can be built
    (``augment.native``: the same numbers, several times faster)."""
    if clips.shape[2] > 1 and native.applies(clips):
        return native.compensated_motion(clips)
    batch, _, frames, height, width = clips.shape
    motion = torch.zeros(batch, height, width, dtype=torch.float32, device=clips.device)
    aligner = PairAligner()
    pairs = chunk_pairs(batch, frames - 1, height, width)
    for start in range(0, frames - 1, pairs):
        stop = min(start + pairs, frames - 1)
        changes = aligner.changes(unit_frame(clips, slice(start, stop + 1)))
        for k in range(stop - start):
            motion += changes[:, k]
    return divide(motion, frames - 1)


def frame_statistics(clips: torch.Tensor, compensate: bool = False, mc_downsample: int = 1):
    """``accumulate_frames``, refusing float values outside [0, 1], NaN and inf (one sync)."""
    motion, mean_frame = accumulate_frames(clips, compensate, mc_downsample)
    check_range(clips)
    return motion, mean_frame


def seed_region(clips: torch.Tensor, compensate: bool = False,
                mc_downsample: int = 1) -> torch.Tensor:
    """Step 1, the seed region ``S`` ``(B, H, W)`` float32.

    ``S = minmax(blur(mean_t sum_c |x[:, c, t] - x[:, c, t+1]|))``; 0 everywhere for a clip that
    does not move. ``compensate``: the motion-compensated seed (variants ``*_mc``), computed on
    ``mc_downsample`` x ``mc_downsample`` blocks when that is > 1 (``accumulate_frames``).
    """
    check_clips(clips)
    if compensate:
        check_downsample(mc_downsample, *clips.shape[-2:])
    motion, _ = frame_statistics(clips, compensate, mc_downsample)
    return minmax(blur(motion))


# --- step 2: foreground completion by colour statistics ---------------------------------------


def hsv(mean_frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 2.2: hue (radians in [0, 2π)), saturation, value of ``x̄`` ``(B, 3, H, W)``, float32.

    Operation for operation as the authors' colour conversion (kornia's ``rgb_to_hsv``), so a
    colour on a bin edge in the code's arithmetic falls in the same bin here. The first channel
    wins a tie for the maximum; hue is 0 where max = min.
    """
    r, g, b = mean_frame.to(torch.float32).unbind(dim=1)
    value = torch.maximum(torch.maximum(r, g), b)
    delta = value - torch.minimum(torch.minimum(r, g), b)
    saturation = delta / (value + EPS)
    safe = torch.where(delta == 0, 1.0, delta)
    rc, gc, bc = value - r, value - g, value - b
    sextant = torch.where(
        (r >= g) & (r >= b), bc - gc,
        torch.where(g >= b, (rc - bc) + 2.0 * safe, (gc - rc) + 4.0 * safe),
    )
    hue = torch.remainder(divide(sextant / safe, 6.0), 1.0) * (2.0 * math.pi)
    # a tiny negative sextant wraps to exactly one full turn: fold it to 0, as the code does
    return hue.masked_fill_(hue >= 2.0 * math.pi, 0.0), saturation, value


def quantise_colours(mean_frame: torch.Tensor, hue: str = "code") -> torch.Tensor:
    """Step 2.3: colour index in 1..1000 per pixel, int64 ``(B, H, W)``.

    ``hue="code"`` keeps the authors' quirk (``h`` in radians multiplied by 2π again);
    ``hue="turns"`` uses ``h / 2π``. float32 in the code's order of operations, rounding half to
    even after adding one (``round(9 hx + 1)``, as the code; not ``round(9 hx) + 1``, which differs
    at every exact .5), as in the reference. cos and sin are evaluated in float64 and rounded
    to float32: the correctly rounded value, the same on every device and in the reference.
    """
    if hue not in HUES:
        raise ValueError(f"hue must be one of {HUES}; got {hue!r}")
    h, s, v = hsv(mean_frame)
    angle = (h * 2.0 * math.pi if hue == "code" else h).double()
    hx = (s * torch.cos(angle).float() + 1.0) / 2.0
    hy = (s * torch.sin(angle).float() + 1.0) / 2.0
    # i + 10 (j - 1) + 100 (l - 1) with i, j, l = round(9 . + 1), summed as exact small floats.
    i, j, level = (torch.round(c * 9.0 + 1.0) for c in (hx, hy, v))
    # In range already for pixels in [0, 1]; the clamp keeps NaN/out-of-range clips, refused
    # after the mask stage (``mask_stage``), from indexing a bin that does not exist first.
    return (i + 10.0 * j + 100.0 * level - 110.0).long().clamp_(0, COLOUR_BINS)


def colour_histograms(colours: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Step 2.4: per-clip colour counts ``(B, 1001)`` float32 inside the boolean ``region``.

    One ``scatter_add_`` over flat indices ``b * 1001 + colour`` for the whole batch.
    """
    batch = colours.shape[0]
    bins = COLOUR_BINS + 1
    offsets = torch.arange(batch, device=colours.device).view(batch, 1, 1) * bins
    counts = torch.zeros(batch * bins, dtype=torch.float32, device=colours.device)
    counts.scatter_add_(0, (colours + offsets).reshape(-1), region.reshape(-1).to(torch.float32))
    return counts.view(batch, bins)


def foreground_likelihood(colours, likely_fg, likely_bg) -> torch.Tensor:
    """Steps 2.4-2.5: ``R = pF[c] / (pG[c] + pF[c])`` per pixel ``(B, H, W)`` float32.

    ``pF = hF / (sum hF + eps)``; ``pG = (hG + 1) / (sum(hG + 1) + eps)`` (Laplace smoothing over
    bins 1..1000, so ``pG > 0``).
    """
    h_fg = colour_histograms(colours, likely_fg)
    h_bg = colour_histograms(colours, likely_bg)[:, 1:] + 1.0
    p_fg = h_fg / (h_fg.sum(dim=1, keepdim=True) + EPS)
    p_bg = torch.cat(
        [torch.ones_like(h_fg[:, :1]), h_bg / (h_bg.sum(dim=1, keepdim=True) + EPS)], dim=1
    )
    # R per colour first, then one gather: the same numbers as per pixel, fewer passes.
    ratio_of_colour = p_fg / (p_bg + p_fg)
    return ratio_of_colour.gather(1, colours.reshape(colours.shape[0], -1)).view(colours.shape)


def fame_scores(motion: torch.Tensor, mean_frame: torch.Tensor, hue: str = "code"):
    """Steps 1-2 from the frame statistics: the completed score ``minmax(blur(R))``, (B, H, W)."""
    return completed_scores(minmax(blur(motion)), mean_frame, hue)


def completed_scores(seed: torch.Tensor, mean_frame: torch.Tensor, hue: str = "code"):
    """Step 2 from the seed region ``S`` and the mean frame: ``minmax(blur(R))``, (B, H, W)."""
    pixels = seed.shape[1] * seed.shape[2]
    likely_fg = top(seed, pixels // 2)  # F = top(S, floor(0.5 N))
    likely_bg = bottom(seed, pixels // 10)  # G = bottom(S, floor(0.1 N))
    colours = quantise_colours(mean_frame, hue)
    return minmax(blur(foreground_likelihood(colours, likely_fg, likely_bg)))


def mask_stage(clips: torch.Tensor, count, variant: str = "fame", hue: str = "code",
               centres: torch.Tensor | None = None, mc_downsample: int = 1):
    """``(mask, in_range)`` of clips whose layout is checked: the boolean mask ``(B, H, W)``
    and ``values_in_range(clips)``, which the caller must pass to ``refuse_out_of_range``
    (values outside [0, 1], NaN, inf). ``count``: pixels per clip, or an ``AutoCount``
    (``beta="auto"``); ``centres``: ``gauss_random``'s ``(B, 2)`` centres
    (``random_centres``), else ``None``.

    Tensor code without a device sync, so ``torch.compile`` takes it as one graph and a GPU
    runs it without waiting for the host: the caller checks the range once the work is
    queued. Bad values cannot index outside a tensor meanwhile (the colour index is clamped).
    The motion-compensated variants check first (one sync): a NaN shift would.
    """
    batch, _, _, height, width = clips.shape
    if variant in GAUSSIAN and not isinstance(count, AutoCount):
        # the Gaussian ignores the pixels; still refuse bad ones
        mask = gauss_mask(batch, height, width, count, clips.device, centres)
        return mask, values_in_range(clips)
    if variant in COMPENSATED:
        motion, mean_frame = frame_statistics(clips, True, mc_downsample)
        in_range = None
    else:
        motion, mean_frame = accumulate_frames(clips)
        in_range = values_in_range(clips)
    seed = minmax(blur(motion))
    if isinstance(count, AutoCount):
        count = auto_counts(seed, *count)
    if variant in ("fame", "fame_mc"):
        return top(completed_scores(seed, mean_frame, hue), count), in_range
    if variant in ("seed", "seed_mc"):
        return top(seed, count), in_range
    if variant in GAUSSIAN:
        return gauss_mask(batch, height, width, count, clips.device, centres), in_range
    return grid_cell_mask(seed), in_range


def compile_mask_stage(mode: str | None = None, backend: str = "inductor"):
    """``mask_stage`` under ``torch.compile`` (static shapes), with inductor held to eager's
    float32 arithmetic: no fused multiply-add contraction, correctly rounded division.

    Without these, on the H200 the compiled masks differed from the eager (and CPU) ones in 16
    of 34 cases: Triton's default ``x / y`` is an approximate division, and ``a * b + c``
    becomes one rounding, which moves a score across a tie or a threshold. ``mode``:
    ``None`` or ``"reduce-overhead"`` (CUDA graphs; given to inductor as its option, since
    ``torch.compile`` takes a mode or options, not both). ``backend="eager"`` traces only.
    """
    if backend != "inductor":
        return torch.compile(mask_stage, dynamic=False, mode=mode, backend=backend)
    return torch.compile(mask_stage, dynamic=False, options=_exact_inductor_options(mode))


def _exact_inductor_options(mode: str | None) -> dict:
    from torch._inductor import config  # noqa: PLC0415 - only when compiling

    if mode not in (None, "reduce-overhead"):
        raise ValueError(f"mode must be None or 'reduce-overhead'; got {mode!r}")
    options = {"emulate_precision_casts": True}  # also turns Triton's fp fusion off
    # The division switch was renamed between torch releases; inductor refuses unknown options.
    if hasattr(config, "emulate_divison_rounding"):
        options["emulate_divison_rounding"] = True
    elif hasattr(getattr(config, "eager_numerics", None), "division_rounding"):
        options["eager_numerics.division_rounding"] = True
    if mode == "reduce-overhead":
        options["triton.cudagraphs"] = True
    return options


def foreground_mask(clips, beta, variant: str = "fame", hue: str = "code",
                    beta_bounds=AUTO_BOUNDS, auto_mass: float = AUTO_MASS,
                    generator: torch.Generator | None = None,
                    mc_downsample: int = 1) -> torch.Tensor:
    """Step 2.6 and the ablation's variants: the mask ``M`` ``(B, H, W)``, float32 in {0, 1}.

    ``M = 1`` on ``top(score, floor(beta * N))``: ``"fame"`` scores with ``minmax(blur(R))``,
    ``"seed"`` with ``S``, ``"gauss"`` with a centred Gaussian, ``"gauss_random"`` with the
    same Gaussian centred per clip at ``random_centres`` drawn from ``generator`` (``None``:
    torch's default generator; no other variant draws); ``"fame_mc"`` / ``"seed_mc"``
    as ``"fame"`` / ``"seed"`` on the motion-compensated seed region; ``"grid"`` keeps the 8 of
    4x4 cells with the largest sum of ``S`` (β = 0.5 by construction; ``beta`` is checked,
    unused, and cannot be ``"auto"``). ``beta="auto"``: per clip the fewest pixels of the
    variant's seed region (the plain one for the Gaussians) holding ``auto_mass`` of its mass,
    between ``beta_bounds`` of the frame (``maps.auto_counts``). ``generator``: draws
    ``gauss_random``'s centres. ``mc_downsample`` k > 1 (``*_mc`` variants only; opt-in
    approximation): the compensated seed computed on k x k blocks of the frames
    (``accumulate_frames``); 1 is the exact path.
    """
    mask, in_range = _foreground_mask(clips, beta, variant, hue, mask_stage, beta_bounds,
                                      auto_mass, generator, mc_downsample)
    refuse_out_of_range(clips, in_range)
    return mask


def mask_count(beta, variant: str, height: int, width: int, beta_bounds=AUTO_BOUNDS,
               auto_mass: float = AUTO_MASS, mc_downsample: int = 1):
    """The checked ``count`` argument of ``mask_stage``: ``floor(beta * N)`` or an ``AutoCount``
    (also checks ``mc_downsample`` against the variant and the frame size)."""
    beta = check_beta(beta)
    low, high, mass = check_auto_beta(beta_bounds, auto_mass)
    if variant not in MASK_VARIANTS:
        raise ValueError(f"variant must be one of {MASK_VARIANTS}; got {variant!r}")
    if check_downsample(mc_downsample, height, width) > 1 and variant not in COMPENSATED:
        raise ValueError(f"mc_downsample > 1 applies to the variants {COMPENSATED} only; got "
                         f"variant {variant!r}")
    if variant == "grid" and beta == "auto":
        raise ValueError("the grid variant keeps 8 of 16 cells (β = 0.5); beta='auto' does not "
                         "apply to it")
    pixels = height * width  # β·N with one rounding: (β·H)·W can fall just short of an integer
    if beta == "auto":
        return AutoCount(math.floor(low * pixels), math.floor(high * pixels), mass)
    return int(math.floor(beta * pixels))


def _foreground_mask(clips, beta, variant, hue, stage, beta_bounds=AUTO_BOUNDS,
                     auto_mass=AUTO_MASS, generator=None, mc_downsample=1):
    """``(mask, in_range)``: ``foreground_mask`` without the range check (``mask_stage``)."""
    check_clips(clips)
    height, width = clips.shape[-2:]
    count = mask_count(beta, variant, height, width, beta_bounds, auto_mass, mc_downsample)
    if hue not in HUES:
        raise ValueError(f"hue must be one of {HUES}; got {hue!r}")
    if variant == "grid" and (height < 4 or width < 4):
        raise ValueError(f"the grid variant needs H, W >= 4; got {height} x {width}")
    centres = None
    if variant == "gauss_random":  # drawn outside the stage, which may be compiled
        centres = random_centres(clips.shape[0], height, width, generator).to(clips.device)
    with torch.no_grad():
        chosen, in_range = stage(clips, count, variant, hue, centres, mc_downsample)
    return chosen.to(torch.float32), in_range


# --- step 3: merge ----------------------------------------------------------------------------


def _check_pair(foreground_clips, background_clips, mask) -> torch.Tensor:
    check_clips(foreground_clips, min_frames=1, name="foreground_clips")
    check_clips(background_clips, min_frames=1, name="background_clips")
    if foreground_clips.shape != background_clips.shape:
        raise ValueError(
            f"foreground and background clips must have the same shape {LAYOUT}; got "
            f"{tuple(foreground_clips.shape)} and {tuple(background_clips.shape)}"
        )
    if foreground_clips.dtype != background_clips.dtype:
        raise ValueError(
            f"foreground and background clips must share a dtype; got {foreground_clips.dtype} "
            f"and {background_clips.dtype}"
        )
    batch, _, _, height, width = foreground_clips.shape
    if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != (batch, height, width):
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a (B, H, W) = {(batch, height, width)} tensor; got {got}")
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must be binary (every value 0 or 1); got other values (a soft "
                         "or NaN mask is not a FAME mask)")
    return mask.to(device=foreground_clips.device, dtype=torch.bool)[:, None, None]


def _select(keep: torch.Tensor, foreground, background, out=None) -> torch.Tensor:
    """``keep ? foreground : background`` in one pass, exact.

    For floats ``torch.lerp(bg, fg, w)`` with ``w`` in {0, 1}: lerp is exact at both ends
    (``bg + 0 * d`` and ``fg - d * 0``) and its CPU kernel is vectorised, where ``torch.where``'s
    is not (measured about 2x slower). uint8 (and CUDA, where both are fast) use ``torch.where``.
    """
    if foreground.dtype.is_floating_point and foreground.device.type == "cpu":
        weight = keep.to(foreground.dtype)
        return torch.lerp(background, foreground, weight, out=out)
    return torch.where(keep, foreground, background, out=out)


def merge(foreground_clips, background_clips, mask) -> torch.Tensor:
    """Step 3: ``M x_fg + (1 - M) x_bg``, ``M`` ``(B, H, W)`` binary, broadcast over C and T.

    With a binary mask the formula is a selection: one pass, exact in every dtype.
    """
    keep = _check_pair(foreground_clips, background_clips, mask)
    with torch.no_grad():
        return _select(keep, foreground_clips, background_clips)


def _background_index(background_index, batch: int, device) -> torch.Tensor:
    """The checked index on ``device``; checked where it is (a CPU index, as the FAME module
    draws, costs a GPU batch no device sync)."""
    index = torch.as_tensor(background_index)
    if index.shape != (batch,) or index.dtype.is_floating_point or index.dtype == torch.bool:
        raise ValueError(f"background_index must be ({batch},) integers in [0, {batch})")
    if bool((index < 0).any() | (index >= batch).any()):
        raise ValueError(f"background_index must be ({batch},) integers in [0, {batch})")
    return index.to(device=device, dtype=torch.long)


def fame(clips, beta, background_index=None, variant: str = "fame", hue: str = "code",
         beta_bounds=AUTO_BOUNDS, auto_mass: float = AUTO_MASS,
         generator: torch.Generator | None = None, mc_downsample: int = 1):
    """FAME on a batch: ``(merged, mask)``, merged ``(B, C, T, H, W)`` (input dtype), mask
    ``(B, H, W)`` float32.

    The foreground of clip ``i`` goes on the background of clip ``background_index[i]``; the
    default is the batch rolled by one (clip ``i - 1``, never itself), done with two slices
    instead of a gathered copy of the batch. A batch of one has no other background: refused.
    Not differentiable (an augmentation): computed under ``torch.no_grad()``. ``beta``,
    ``beta_bounds``, ``auto_mass``, ``generator``, ``mc_downsample``: see ``foreground_mask``.
    """
    return fame_with_stage(clips, beta, background_index, variant, hue, mask_stage,
                           beta_bounds, auto_mass, generator, mc_downsample)


def fame_with_stage(clips, beta, background_index, variant, hue, stage,
                    beta_bounds=AUTO_BOUNDS, auto_mass=AUTO_MASS, generator=None,
                    mc_downsample=1):
    """``fame`` with the mask computed by ``stage`` (``mask_stage`` or a compiled copy of it)."""
    check_clips(clips)
    batch = clips.shape[0]
    if batch < 2:
        raise ValueError(f"FAME needs B >= 2 clips in {LAYOUT} (a background from another clip)")
    index = None
    if background_index is not None:
        index = _background_index(background_index, batch, clips.device)
    mask, in_range = _foreground_mask(clips, beta, variant, hue, stage, beta_bounds, auto_mass,
                                      generator, mc_downsample)
    keep = mask.to(torch.bool)[:, None, None]
    with torch.no_grad():
        if index is None:
            merged = torch.empty_like(clips)
            _select(keep[1:], clips[1:], clips[:-1], out=merged[1:])
            _select(keep[:1], clips[:1], clips[-1:], out=merged[:1])
        else:
            merged = clips.index_select(0, index)
            _select(keep, clips, merged, out=merged)
    refuse_out_of_range(clips, in_range)  # the op's one device sync, with its work queued
    return merged, mask
