"""Behaviour of BE (background erasing): the mixing formula, dtypes, the module's draws, errors."""

from __future__ import annotations

import pytest
import torch

import fame_bench.augment as op


def test_every_frame_gets_the_same_static_frame():
    clips = torch.rand(2, 3, 4, 5, 5)
    out = op.background_erasing(clips, torch.tensor([1, 3]), 0.25)
    for i, j in enumerate([1, 3]):
        expected = 0.75 * clips[i] + 0.25 * clips[i, :, j : j + 1]
        torch.testing.assert_close(out[i], expected)


def test_weight_per_clip_and_zero_weight_is_identity():
    clips = torch.rand(2, 3, 3, 4, 4)
    out = op.background_erasing(clips, torch.tensor([0, 2]), torch.tensor([0.0, 1.0]))
    assert torch.equal(out[0], clips[0])
    torch.testing.assert_close(out[1], clips[1, :, 2:3].expand_as(clips[1]))


def test_uint8_and_half_keep_their_dtype():
    clips = torch.randint(0, 256, (2, 3, 3, 4, 4), dtype=torch.uint8)
    out = op.background_erasing(clips, torch.tensor([0, 1]), 0.3)
    assert out.dtype == torch.uint8
    expected = (0.7 * clips.float() + 0.3 * clips[torch.arange(2), :, [0, 1]][:, :, None].float())
    assert (out.float() - expected).abs().max() <= 0.5 + 1e-3
    assert op.background_erasing(clips.half(), torch.tensor([0, 1]), 0.3).dtype == torch.float16


def test_module_draws_weight_below_max_and_is_deterministic():
    clips = torch.rand(4, 3, 5, 6, 6)
    module = op.BE(max_weight=0.3)
    first = module(clips, torch.Generator().manual_seed(1))
    assert torch.equal(first, module(clips, torch.Generator().manual_seed(1)))
    change = (first - clips).abs().max()
    assert 0 < change <= 0.3 + 1e-6


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"frame_index": torch.tensor([0, 5])}, "frame_index"),
        ({"frame_index": torch.tensor([0])}, "frame_index"),
        ({"weight": 1.5}, r"\[0, 1\]"),
        ({"weight": torch.tensor([0.1, 0.2, 0.3])}, "scalar or"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    arguments = {"frame_index": torch.tensor([0, 1]), "weight": 0.2, **kwargs}
    with pytest.raises(ValueError, match=message):
        op.background_erasing(torch.rand(2, 3, 3, 4, 4), **arguments)
    with pytest.raises(ValueError, match="max_weight"):
        op.BE(max_weight=2.0)
