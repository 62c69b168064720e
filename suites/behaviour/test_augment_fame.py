"""Behaviour of the FAME op and module: mask size and place, merge, dtypes, randomness, errors."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

import fame_bench.augment as op
from fame_bench.augment.modules import random_backgrounds
from fame_bench.augment.variants import gauss_mask, random_centres
from reference import fame as ref

CUDA = torch.cuda.is_available()


def moving_square(batch=3, frames=6, size=32, side=10, seed=0):
    """Noise-free flat background with a bright square moving down; ground truth (B, H, W)."""
    gen = torch.Generator().manual_seed(seed)
    clips = torch.rand(batch, 3, 1, 1, 1, generator=gen).mul(0.4).expand(batch, 3, frames, size,
                                                                            size).clone()
    truth = torch.zeros(batch, size, size, dtype=torch.bool)
    for t in range(frames):
        clips[:, :, t, 4 + t : 4 + t + side, 8 : 8 + side] = 1.0
        truth[:, 4 + t : 4 + t + side, 8 : 8 + side] = True
    return clips, truth


@pytest.mark.parametrize("variant", ["fame", "seed", "gauss"])
@pytest.mark.parametrize("beta", [0.1, 0.3, 0.5, 0.7, 1.0])
def test_mask_keeps_floor_beta_n_pixels(variant, beta):
    clips = torch.rand(2, 3, 3, 20, 30, generator=torch.Generator().manual_seed(1))
    mask = op.foreground_mask(clips, beta, variant)
    assert mask.dtype == torch.float32 and set(mask.unique().tolist()) <= {0.0, 1.0}
    assert mask.sum(dim=(1, 2)).tolist() == [math.floor(beta * 600)] * 2


def test_grid_keeps_eight_of_sixteen_cells():
    clips, _ = moving_square()
    mask = op.foreground_mask(clips, 0.5, "grid")
    cells = mask.view(3, 4, 8, 4, 8).sum(dim=(2, 4))
    assert set(cells.unique().tolist()) == {0.0, 64.0}
    assert (cells > 0).sum(dim=(1, 2)).tolist() == [8, 8, 8]


def test_mask_finds_the_moving_square_and_colour_completes_the_seed():
    clips, truth = moving_square()
    beta = truth[0].float().mean().item()

    def overlap(variant):
        mask = op.foreground_mask(clips, beta, variant).bool()
        return ((mask & truth).sum() / truth.sum()).item()

    # The seed sees only the square's moving edges; the colour step fills in its flat inside.
    assert overlap("seed") > 0.5
    assert overlap("fame") > 0.8 and overlap("fame") > overlap("seed")


def test_gauss_mask_is_centred_and_symmetric_up_to_ties():
    mask = op.foreground_mask(torch.rand(1, 3, 2, 21, 21), 0.2, "gauss")[0]
    rows, cols = torch.nonzero(mask, as_tuple=True)
    assert abs(rows.float().mean() - 10) < 0.5 and abs(cols.float().mean() - 10) < 0.5


@pytest.mark.parametrize("beta", [0.1, 0.3, 0.5, 0.7, 1.0])
def test_gauss_random_keeps_floor_beta_n_pixels_at_a_different_place_per_clip(beta):
    clips = torch.rand(8, 3, 2, 20, 30, generator=torch.Generator().manual_seed(1))
    mask = op.foreground_mask(clips, beta, "gauss_random",
                              generator=torch.Generator().manual_seed(2))
    assert mask.dtype == torch.float32 and set(mask.unique().tolist()) <= {0.0, 1.0}
    assert mask.sum(dim=(1, 2)).tolist() == [math.floor(beta * 600)] * 8
    if beta < 1.0:  # at β = 1 every mask is the whole frame
        assert len({tuple(m.flatten().tolist()) for m in mask}) > 1


def test_gauss_random_is_gauss_moved_to_the_drawn_centre():
    clips = torch.rand(64, 3, 2, 9, 11, generator=torch.Generator().manual_seed(1))
    mask = op.foreground_mask(clips, 0.3, "gauss_random",
                              generator=torch.Generator().manual_seed(3)).bool()
    centres = random_centres(64, 9, 11, torch.Generator().manual_seed(3))
    assert centres[:, 0].min() >= 0 and centres[:, 0].max() < 9
    assert centres[:, 1].min() >= 0 and centres[:, 1].max() < 11
    assert len(set(map(tuple, centres.tolist()))) > 32  # spread over the frame, not one place
    assert mask[torch.arange(64), centres[:, 0], centres[:, 1]].all()  # the centre is kept
    # Centred at the middle pixel of an odd frame it is the Gauss mask itself.
    middle = op.foreground_mask(clips[:1], 0.3, "gauss")[0].bool()
    at_middle = (centres == torch.tensor([4, 5])).all(dim=1)
    for clip in torch.nonzero(at_middle).flatten().tolist():
        assert torch.equal(mask[clip], middle)
    assert torch.equal(gauss_mask(1, 9, 11, 29, "cpu", torch.tensor([[4, 5]]))[0], middle)


def test_gauss_random_draws_from_the_given_generator_only():
    clips = torch.rand(4, 3, 2, 16, 16, generator=torch.Generator().manual_seed(1))

    def masks(seed):
        return op.foreground_mask(clips, 0.4, "gauss_random",
                                  generator=torch.Generator().manual_seed(seed))

    torch.manual_seed(0)
    first = masks(5)
    torch.manual_seed(1)  # the global generator plays no part
    assert torch.equal(first, masks(5))
    assert not torch.equal(first, masks(6))
    module = op.FAME(0.4, "gauss_random")
    merged = module(clips, generator=torch.Generator().manual_seed(9))
    assert torch.equal(merged, module(clips, generator=torch.Generator().manual_seed(9)))


def test_static_clip_gives_the_documented_mask_not_nan():
    clips = torch.full((2, 3, 4, 8, 8), 0.25)
    assert torch.equal(op.seed_region(clips), torch.zeros(2, 8, 8))
    mask = op.foreground_mask(clips, 0.5)
    expected = torch.zeros(2, 8, 8)
    expected[:, :4] = 1  # the tie rule: the first 32 pixels in row-major order
    assert torch.equal(mask, expected)


def test_merge_takes_foreground_where_mask_is_one():
    fg, bg = torch.rand(2, 3, 2, 4, 5), torch.rand(2, 3, 2, 4, 5)
    mask = (torch.rand(2, 4, 5) < 0.5).float()
    merged = op.merge(fg, bg, mask)
    keep = mask.bool()[:, None, None].expand_as(fg)
    assert torch.equal(merged[keep], fg[keep]) and torch.equal(merged[~keep], bg[~keep])


def test_fame_default_background_is_the_previous_clip():
    clips = torch.rand(3, 3, 3, 12, 12)
    merged, mask = op.fame(clips, 0.5)
    assert torch.equal(merged, op.merge(clips, clips.roll(1, dims=0), mask))
    merged, mask = op.fame(clips, 0.5, background_index=torch.tensor([2, 2, 0]))
    assert torch.equal(merged, op.merge(clips, clips[[2, 2, 0]], mask))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_low_and_high_precision_merge_exactly(dtype):
    clips = torch.rand(3, 3, 3, 16, 16).to(dtype)
    merged, mask = op.fame(clips, 0.5)
    assert merged.dtype == dtype
    assert torch.equal(mask, op.foreground_mask(clips.float(), 0.5))  # statistics in float32
    assert torch.equal(merged, op.merge(clips, clips.roll(1, 0), mask))


def test_uint8_mask_is_computed_on_x_over_255():
    clips = torch.randint(0, 256, (3, 3, 3, 16, 16), dtype=torch.uint8)
    merged, mask = op.fame(clips, 0.5)
    assert merged.dtype == torch.uint8
    assert torch.equal(mask, op.foreground_mask(clips.float() / 255, 0.5))
    expected = torch.where(mask.bool()[:, None, None], clips, clips.roll(1, 0))
    assert torch.equal(merged, expected)


def test_module_is_deterministic_given_a_generator():
    clips = torch.rand(6, 3, 3, 12, 12)
    module = op.FAME(beta=0.5)
    first = module(clips, torch.Generator().manual_seed(3))
    again = module(clips, torch.Generator().manual_seed(3))
    assert torch.equal(first, again) and first.shape == clips.shape


def test_module_p_zero_is_identity_and_p_one_merges_by_a_permutation():
    clips = torch.rand(5, 3, 3, 12, 12)
    assert torch.equal(op.FAME(p=0.0)(clips, torch.Generator().manual_seed(0)), clips)
    index = random_backgrounds(64, 1.0, True, torch.Generator().manual_seed(0))
    assert sorted(index.tolist()) == list(range(64))


def test_module_p_merges_about_that_share_of_clips():
    index = random_backgrounds(4000, 0.3, False, torch.Generator().manual_seed(0))
    share = (index != torch.arange(4000)).float().mean().item()
    assert 0.27 < share < 0.33


def test_allow_self_false_never_gives_a_clip_its_own_background():
    for seed in range(20):
        index = random_backgrounds(5, 1.0, False, torch.Generator().manual_seed(seed))
        assert sorted(index.tolist()) == list(range(5))
        assert (index != torch.arange(5)).all()


def test_module_under_no_grad_keeps_shape_dtype():
    module = op.FAME(0.3, "seed")
    clips = torch.rand(4, 3, 3, 12, 12, dtype=torch.bfloat16)
    with torch.no_grad():
        out = module(clips, torch.Generator().manual_seed(0))
    assert out.shape == clips.shape and out.dtype == clips.dtype


BAD_INPUTS = [
    ("rank", lambda: torch.rand(2, 3, 4, 8), "B, C, T, H, W"),
    ("layout", lambda: torch.rand(2, 4, 3, 8, 8), "B, C, T, H, W"),
    ("channels last", lambda: torch.rand(2, 4, 8, 8, 3), "B, C, T, H, W"),
    ("one frame", lambda: torch.rand(2, 3, 1, 8, 8), "T >= 2"),
    ("nan", lambda: torch.rand(2, 3, 2, 8, 8).index_fill_(3, torch.tensor([1]), float("nan")),
     "NaN"),
    ("inf", lambda: torch.rand(2, 3, 2, 8, 8).index_fill_(4, torch.tensor([0]), float("inf")),
     "NaN or inf"),
    ("int32", lambda: torch.zeros(2, 3, 2, 8, 8, dtype=torch.int32), "uint8"),
]


@pytest.mark.parametrize("name,make,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_clips_raise_value_error_in_both(name, make, message):
    clips = make()
    with pytest.raises(ValueError, match=message):
        op.fame(clips, 0.5)
    with pytest.raises(ValueError, match=message):
        ref.fame(clips.numpy(), 0.5)


@pytest.mark.parametrize("beta", [0.0, -0.1, 1.01, float("nan"), "half"])
def test_beta_outside_unit_interval_raises(beta):
    clips = torch.rand(2, 3, 2, 8, 8)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        op.foreground_mask(clips, beta)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        ref.foreground_mask(clips.numpy(), beta)


def test_batch_of_one_and_bad_background_index_raise():
    with pytest.raises(ValueError, match="B >= 2"):
        op.fame(torch.rand(1, 3, 2, 8, 8), 0.5)
    with pytest.raises(ValueError, match="B >= 2"):
        ref.fame(np.zeros((1, 3, 2, 8, 8)), 0.5)
    with pytest.raises(ValueError, match="background_index"):
        op.fame(torch.rand(2, 3, 2, 8, 8), 0.5, background_index=[0, 2])


def test_mismatched_merge_inputs_raise():
    with pytest.raises(ValueError, match="same shape"):
        op.merge(torch.rand(2, 3, 2, 8, 8), torch.rand(2, 3, 3, 8, 8), torch.ones(2, 8, 8))
    with pytest.raises(ValueError, match="same shape"):
        ref.merge(np.zeros((2, 3, 2, 8, 8)), np.zeros((2, 3, 2, 8, 9)), np.ones((2, 8, 8)))
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        op.merge(torch.rand(2, 3, 2, 8, 8), torch.rand(2, 3, 2, 8, 8), torch.ones(2, 8))


def test_unknown_variant_and_hue_raise():
    clips = torch.rand(2, 3, 2, 8, 8)
    with pytest.raises(ValueError, match="variant"):
        op.foreground_mask(clips, 0.5, "blob")
    with pytest.raises(ValueError, match="hue"):
        op.foreground_mask(clips, 0.5, hue="degrees")


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_cuda_matches_cpu_and_runs_in_a_no_grad_step():
    clips = torch.rand(4, 3, 4, 32, 32, generator=torch.Generator().manual_seed(0))
    cpu_merged, cpu_mask = op.fame(clips, 0.5)
    with torch.no_grad():
        merged, mask = op.fame(clips.cuda(), 0.5)
        out = op.FAME(0.5)(clips.cuda().half(), torch.Generator("cuda").manual_seed(0))
    assert (mask.cpu() == cpu_mask).float().mean() >= 0.999
    same = (mask.cpu() == cpu_mask)[:, None, None]
    assert torch.allclose(torch.where(same, merged.cpu(), 0), torch.where(same, cpu_merged, 0))
    assert out.dtype == torch.float16 and out.device.type == "cuda"


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("variant", ["fame", "seed"])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_cuda_masks_equal_the_cpu_masks_eager_and_compiled(variant, dtype):
    """Bit for bit at a training shape: CUDA eager, CUDA compiled (``compile_mask_stage``, as
    ``FAME(compile=True)`` uses) and the CPU. Inductor's default numerics (approximate
    division, fused multiply-adds) changed masks on the H200."""
    from fame_bench.bench.augmentation_cost import make_batch

    # the module, not the function the package exports under the same name
    fame_op = importlib.import_module("fame_bench.augment.fame")
    clips = make_batch(16, 8, 112, "cpu", 0, dtype)[0]
    cpu = op.foreground_mask(clips, 0.5, variant)
    eager = op.foreground_mask(clips.cuda(), 0.5, variant)
    compiled, in_range = fame_op._foreground_mask(clips.cuda(), 0.5, variant, "code",
                                                  fame_op.compile_mask_stage())
    assert in_range is None or bool(in_range)
    assert torch.equal(eager.cpu(), cpu)
    assert torch.equal(compiled.cpu(), cpu)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("divisor", [255.0, 15.0, 6.0, 9.0])
def test_divide_on_cuda_is_the_cpu_division(divisor):
    from fame_bench.augment.maps import divide

    values = torch.rand(1 << 20, generator=torch.Generator().manual_seed(0)) * 255
    assert torch.equal(divide(values.cuda(), divisor).cpu(), values / divisor)
