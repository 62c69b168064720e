"""``nn.Module`` wrappers for training loops: ``FAME`` and ``BE``.

All randomness comes from the ``generator`` passed to ``forward`` (``None`` means torch's
default generator); a CPU generator works for clips on any device (the draws are tiny and are
moved to the clips' device).
"""

from __future__ import annotations

import torch
from torch import nn

from fame_bench.augment.be import background_erasing
from fame_bench.augment.fame import (
    AUTO_BOUNDS,
    AUTO_MASS,
    HUES,
    compile_mask_stage,
    fame_with_stage,
    mask_count,
    mask_stage,
)
from fame_bench.augment.maps import check_auto_beta, check_beta, check_clips
from fame_bench.augment.motion import check_downsample
from fame_bench.augment.variants import draw_device
from fame_bench.runtime import outside_autocast


def random_backgrounds(batch: int, p: float, allow_self: bool, generator=None) -> torch.Tensor:
    """Background index ``(B,)`` for a training step (docs/fame.md, step 3).

    A uniformly random permutation, as the authors' code (it may map a clip to itself); with
    ``allow_self=False`` a uniformly random single cycle instead (Sattolo's construction, no
    fixed points; not uniform over all derangements). Each clip is merged with probability
    ``p``; a clip that is not merged takes its own background, i.e. stays unchanged.
    """
    device = draw_device(generator)
    order = torch.randperm(batch, generator=generator, device=device)
    if allow_self:
        index = order
    else:
        index = torch.empty_like(order)
        index[order] = order.roll(1)  # order[k] takes the background of order[k - 1]
    merged = torch.rand(batch, generator=generator, device=device) < p
    return torch.where(merged, index, torch.arange(batch, device=device))


class FAME(nn.Module):
    """FAME for a training loop: ``forward(clips, generator=None)`` -> merged clips.

    ``clips`` ``(B, C=3, T, H, W)`` raw (float in [0, 1] or uint8), output of the same shape,
    dtype and device. ``beta``: the foreground ratio β, or ``"auto"`` (per clip, within
    ``beta_bounds``, holding ``auto_mass`` of the seed region's mass); ``variant``: ``"fame" |
    "seed" | "grid" | "gauss" | "fame_mc" | "seed_mc" | "gauss_random"`` (its centres drawn
    from ``forward``'s generator, after the backgrounds); ``p``: probability that a clip is
    merged; ``allow_self``: whether the random permutation may give a clip its own background
    (the code's behaviour); ``compile``: run the mask stage through ``torch.compile`` (same
    masks; pays a compilation per input shape, worth it on a GPU where the eager op is bound by
    kernel launches); ``mc_downsample``: see ``foreground_mask`` (``*_mc`` variants, 1 = exact).
    """

    def __init__(self, beta: float | str = 0.5, variant: str = "fame", p: float = 1.0,
                 allow_self: bool = True, hue: str = "code", compile: bool = False,
                 beta_bounds=AUTO_BOUNDS, auto_mass: float = AUTO_MASS, mc_downsample: int = 1):
        super().__init__()
        self.beta = check_beta(beta)
        low, high, self.auto_mass = check_auto_beta(beta_bounds, auto_mass)
        self.beta_bounds = (low, high)
        self.mc_downsample = check_downsample(mc_downsample)  # the frame size is checked per batch
        # refuses an unknown variant, grid with "auto", or mc_downsample > 1 for another variant
        mask_count(self.beta, variant, 3 * mc_downsample, 3 * mc_downsample,
                   mc_downsample=mc_downsample)
        if hue not in HUES:
            raise ValueError(f"hue must be one of {HUES}; got {hue!r}")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p (probability of merging a clip) must be in [0, 1]; got {p!r}")
        self.variant, self.hue, self.p, self.allow_self = variant, hue, float(p), bool(allow_self)
        self._stage = compile_mask_stage() if compile else mask_stage

    @outside_autocast
    def forward(self, clips: torch.Tensor, generator: torch.Generator | None = None):
        check_clips(clips)
        index = random_backgrounds(clips.shape[0], self.p, self.allow_self, generator)
        if clips.shape[0] == 1 or self.p == 0.0:
            # Nothing is merged (a lone clip can only take its own background): the clips as
            # they are, which is what the op would give, without its B >= 2 requirement.
            return clips.clone()
        merged, _ = fame_with_stage(clips, self.beta, index, self.variant,
                                    self.hue, self._stage, self.beta_bounds, self.auto_mass,
                                    generator, self.mc_downsample)
        return merged

    def extra_repr(self) -> str:
        auto = (f", beta_bounds={self.beta_bounds}, auto_mass={self.auto_mass}"
                if self.beta == "auto" else "")
        downsample = f", mc_downsample={self.mc_downsample}" if self.mc_downsample != 1 else ""
        return (f"beta={self.beta!r}, variant={self.variant!r}, p={self.p}, "
                f"allow_self={self.allow_self}, hue={self.hue!r}{auto}{downsample}")


class BE(nn.Module):
    """Background erasing for a training loop: ``forward(clips, generator=None)`` -> clips.

    Per batch ``λ = max_weight · U(0, 1)``; per clip one frame index ``j ~ U{0..T-1}``.
    """

    def __init__(self, max_weight: float = 0.3):
        super().__init__()
        if not 0.0 <= float(max_weight) <= 1.0:
            raise ValueError(f"max_weight (BE's largest λ) must be in [0, 1]; got {max_weight!r}")
        self.max_weight = float(max_weight)

    @outside_autocast
    def forward(self, clips: torch.Tensor, generator: torch.Generator | None = None):
        check_clips(clips, min_frames=1)
        batch, _, frames = clips.shape[:3]
        device = draw_device(generator)
        weight = self.max_weight * torch.rand((), generator=generator, device=device)
        frame_index = torch.randint(0, frames, (batch,), generator=generator, device=device)
        return background_erasing(clips, frame_index.to(clips.device), weight.to(clips.device))

    def extra_repr(self) -> str:
        return f"max_weight={self.max_weight}"
