"""The augmentations under a training step's autocast, and the scan ``top`` uses.

The training loop autocasts the whole step on CUDA (bfloat16), augmentations included: they
must come out as they would without it (same dtype, same values). Checked with the CPU's
autocast, which turns the blur's conv2d bfloat16 as CUDA's does.
"""

from __future__ import annotations

import pytest
import torch

from fame_bench.augment.maps import running_sum
from fame_bench.augment.modules import BE, FAME
from fame_bench.data.view_augment import ViewAugment


def _clips(seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(4, 3, 4, 32, 32, generator=generator)


AUGMENTS = {
    "views": lambda: ViewAugment(jitter_p=1.0, grayscale_p=0.5, blur_p=1.0),
    "fame": lambda: FAME(beta=0.5),
    "be": lambda: BE(),
}


@pytest.mark.parametrize("name", sorted(AUGMENTS))
def test_augmentation_ignores_autocast(name):
    augment, clips = AUGMENTS[name](), _clips()
    plain = augment(clips, torch.Generator().manual_seed(1))
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        autocast = augment(clips, torch.Generator().manual_seed(1))
    assert autocast.dtype == plain.dtype == torch.float32
    assert torch.equal(autocast, plain)


@pytest.mark.parametrize("shape", [(3, 7, 5), (2, 1, 9), (2, 9, 1), (1, 16, 16)])
def test_running_sum_is_the_flat_cumsum(shape):
    generator = torch.Generator().manual_seed(sum(shape))
    flags = torch.rand(shape, generator=generator) < 0.3
    counts = torch.randint(0, 2**40, shape, generator=generator)
    assert torch.equal(running_sum(flags, torch.int32),
                       flags.reshape(shape[0], -1).cumsum(dim=1, dtype=torch.int32))
    assert torch.equal(running_sum(counts, torch.int64), counts.reshape(shape[0], -1).cumsum(1))
