"""The per-clip colour augmentation of a training view (jitter, grayscale, blur), applied after
FAME/BE on raw float clips ``(B, C, T, H, W)`` in [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from fame_bench.data.transforms import batch_color_jitter, batch_gaussian_blur, batch_grayscale
from fame_bench.runtime import outside_autocast


@dataclass
class ViewAugment:
    """Per-clip view augmentation applied after FAME/BE (``docs/fame.md``: FAME runs before it).

    ``jitter`` = (brightness, contrast, saturation, hue), applied with probability ``jitter_p``;
    grayscale with ``grayscale_p``; then a Gaussian blur with probability ``blur_p``, ``σ`` drawn
    per clip from ``blur_sigma`` (the FAME code's view augmentation, ``docs/deviations.md``).
    No flips: they swap "left" and "right" on synthetic data.
    """

    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)

    @classmethod
    def from_config(cls, cfg) -> ViewAugment:
        """The view augmentation a pretraining config's ``jitter*``, ``grayscale_p`` and
        ``blur*`` fields describe."""
        return cls(tuple(cfg.jitter), cfg.jitter_p, cfg.grayscale_p, cfg.blur_p,
                   tuple(cfg.blur_sigma))

    @outside_autocast
    def __call__(self, clips: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.jitter_p > 0:
            b, c, s, h = self.jitter
            clips = batch_color_jitter(clips, generator, brightness=b, contrast=c, saturation=s,
                                       hue=h, p=self.jitter_p)
        if self.grayscale_p > 0:
            clips = batch_grayscale(clips, generator, p=self.grayscale_p)
        if self.blur_p > 0:
            clips = batch_gaussian_blur(clips, generator, p=self.blur_p, sigma=self.blur_sigma)
        return clips
