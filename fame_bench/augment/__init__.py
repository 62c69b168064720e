"""Augmentations: FAME (foreground-background merging) and BE (background erasing).

The five functions mirror ``reference.fame`` / ``reference.be`` on ``torch.Tensor``s; ``FAME``
and ``BE`` are the ``nn.Module``s for training loops.
"""

from fame_bench.augment.be import background_erasing
from fame_bench.augment.fame import fame, foreground_mask, merge, seed_region
from fame_bench.augment.modules import BE, FAME

__all__ = [
    "BE",
    "FAME",
    "background_erasing",
    "fame",
    "foreground_mask",
    "merge",
    "seed_region",
]
