"""The NumPy reference and the PyTorch op agree: masks, merged clips, BE, the tie rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fame_bench.augment as op
from fame_bench.augment import maps
from fame_bench.augment.fame import fame_scores
from fame_bench.augment.variants import random_centres
from reference import be as ref_be
from reference import fame as ref
from suites.equivalence.clips import KINDS, MC_FIXTURE, make_clips, mc_fixture_clips

MIN_AGREEMENT = 0.999  # the bar; in practice the two agree bit for bit on the CPU


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())


def draws(variant: str, batch: int, height: int, width: int, seed: int = 0):
    """Keyword arguments ``(reference, op)`` giving both the same random draws: for
    ``gauss_random`` the reference takes the centres the op draws from the same generator."""
    if variant != "gauss_random":
        return {}, {}
    centres = random_centres(batch, height, width, torch.Generator().manual_seed(seed))
    return {"centres": centres.numpy()}, {"generator": torch.Generator().manual_seed(seed)}


@pytest.mark.parametrize("variant", ref.VARIANTS)
@pytest.mark.parametrize("hue", ref.HUES)
@pytest.mark.parametrize("beta", [0.3, 0.5, 0.7])
def test_fixed_vectors_masks_and_merge_agree(variant, hue, beta):
    clips = np.concatenate(
        [make_clips(kind, 2, 6, 40, 40, seed=7) for kind in KINDS], axis=0
    )
    ref_draws, op_draws = draws(variant, len(clips), 40, 40, seed=7)
    expected_merged, expected_mask = ref.fame(clips, beta, variant=variant, hue=hue, **ref_draws)
    merged, mask = op.fame(torch.from_numpy(clips), beta, variant=variant, hue=hue, **op_draws)
    assert agreement(mask.numpy(), expected_mask) >= MIN_AGREEMENT
    same = (mask.numpy() == expected_mask)[:, None, None]
    np.testing.assert_allclose(
        np.where(same, merged.numpy(), 0), np.where(same, expected_merged, 0), atol=1e-5
    )


def test_fixed_vectors_112_seed_region_and_scores_are_bitwise_equal():
    clips = make_clips("noise", 2, 4, 112, 112, seed=3)
    np.testing.assert_array_equal(op.seed_region(torch.from_numpy(clips)).numpy(),
                                  ref.seed_region(clips))
    motion, mean_frame = ref.frame_statistics(clips)
    torch_scores = fame_scores(torch.from_numpy(motion), torch.from_numpy(mean_frame))
    np.testing.assert_array_equal(torch_scores.numpy(), ref.fame_scores(clips))


clip_cases = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(KINDS),
        "batch": st.integers(2, 3),
        "frames": st.integers(2, 4),
        "height": st.integers(4, 24),
        "width": st.integers(4, 24),
        "seed": st.integers(0, 2**16),
        "beta": st.floats(0.05, 1.0),
        "variant": st.sampled_from(ref.VARIANTS),
        "hue": st.sampled_from(ref.HUES),
    }
)


@settings(max_examples=40, deadline=None)
@given(case=clip_cases)
def test_generated_clips_agree(case):
    clips = make_clips(case["kind"], case["batch"], case["frames"], case["height"],
                       case["width"], case["seed"])
    ref_draws, op_draws = draws(case["variant"], case["batch"], case["height"], case["width"],
                                case["seed"])
    expected_merged, expected_mask = ref.fame(clips, case["beta"], variant=case["variant"],
                                              hue=case["hue"], **ref_draws)
    merged, mask = op.fame(torch.from_numpy(clips), case["beta"], variant=case["variant"],
                           hue=case["hue"], **op_draws)
    assert agreement(mask.numpy(), expected_mask) >= MIN_AGREEMENT
    np.testing.assert_allclose(merged.numpy(), expected_merged, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), batch=st.integers(2, 3), size=st.integers(6, 20),
       beta=st.floats(0.05, 1.0))
def test_uint8_clips_agree_and_merge_exactly(seed, batch, size, beta):
    rng = np.random.default_rng(seed)
    clips = rng.integers(0, 256, size=(batch, 3, 3, size, size), dtype=np.uint8)
    expected_merged, expected_mask = ref.fame(clips, beta)
    merged, mask = op.fame(torch.from_numpy(clips), beta)
    assert merged.dtype == torch.uint8
    assert agreement(mask.numpy(), expected_mask) >= MIN_AGREEMENT
    np.testing.assert_array_equal(merged.numpy(), expected_merged)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), count=st.integers(0, 30), levels=st.integers(1, 4))
def test_top_with_many_ties_follows_the_stable_sort(seed, count, levels):
    values = np.random.default_rng(seed).integers(0, levels, size=(3, 5, 6)).astype(np.float32)
    expected = ref.top(values, count)
    np.testing.assert_array_equal(maps.top(torch.from_numpy(values), count).numpy(), expected)


def test_tie_rule_pinned_lower_flat_index_wins():
    values = np.array([[[1.0, 2.0, 2.0], [2.0, 0.0, 2.0]]], dtype=np.float32)
    expected = np.array([[[False, True, True], [False, False, False]]])
    np.testing.assert_array_equal(ref.top(values, 2), expected)
    np.testing.assert_array_equal(maps.top(torch.from_numpy(values), 2).numpy(), expected)
    np.testing.assert_array_equal(ref.bottom(values, 2), [[[True, False, False],
                                                            [False, True, False]]])


@pytest.mark.parametrize("variant", ["fame", "seed"])
def test_static_clip_mask_is_the_first_pixels_in_both(variant):
    clips = make_clips("constant", 2, 3, 10, 10, seed=1)
    expected = np.zeros((2, 10, 10), dtype=np.float32)
    expected[:, :5] = 1  # floor(0.5 * 100) = 50 pixels: the top five rows
    np.testing.assert_array_equal(ref.foreground_mask(clips, 0.5, variant), expected)
    np.testing.assert_array_equal(op.foreground_mask(torch.from_numpy(clips), 0.5, variant),
                                  expected)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 3), frames=st.integers(1, 4),
       weight=st.floats(0.0, 1.0), uint8=st.booleans())
def test_background_erasing_agrees(seed, batch, frames, weight, uint8):
    rng = np.random.default_rng(seed)
    clips = rng.random((batch, 3, frames, 5, 7), dtype=np.float32)
    if uint8:
        clips = (clips * 255).astype(np.uint8)
    index = rng.integers(0, frames, size=batch)
    expected = ref_be.background_erasing(clips, index, weight)
    got = op.background_erasing(torch.from_numpy(clips), torch.from_numpy(index), weight)
    if uint8:
        np.testing.assert_array_equal(got.numpy(), expected)
    else:
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


def test_gauss_random_reference_takes_the_centres_for_that_variant_only():
    clips = make_clips("noise", 2, 3, 8, 8, seed=1)
    with pytest.raises(ValueError, match="centres"):
        ref.foreground_mask(clips, 0.5, "gauss_random")
    with pytest.raises(ValueError, match="centres"):
        ref.foreground_mask(clips, 0.5, "gauss", centres=np.array([[1, 1], [2, 2]]))
    with pytest.raises(ValueError, match="centres"):
        ref.foreground_mask(clips, 0.5, "gauss_random", centres=np.array([[1, 8], [2, 2]]))
    # a corner centre still keeps exactly floor(beta * N) pixels, the nearest to the corner
    mask = ref.foreground_mask(clips, 0.5, "gauss_random", centres=np.array([[0, 0], [7, 7]]))
    assert mask.reshape(2, -1).sum(axis=1).tolist() == [32, 32]
    assert mask[0, 0, 0] == 1 and mask[0, 7, 7] == 0 and mask[1, 7, 7] == 1


def test_reference_imports_without_torch():
    import subprocess
    import sys

    code = ("import sys, reference.fame, reference.be; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def _exact_half_frames() -> np.ndarray:
    """uint8 ``(1, 3, 2, 1, 3)``: three grey pixels whose colour coordinates land on exact .5.

    Grey means ``s = 0``, so ``9 hx + 1 = 9 hy + 1 = 5.5`` for all three. Value: pixel 0 is 77
    (``9 v + 1 = 3.72``, no tie); pixel 1 averages 212 and 213, whose float32 mean 0.8333334 gives
    ``9 v + 1 = 8.5`` in float32 (the authors' arithmetic; 8.50000036 in exact arithmetic);
    pixel 2 averages 127 and 128, ``v = 0.5`` exactly, ``9 v + 1 = 5.5``.
    """
    clips = np.zeros((1, 3, 2, 1, 3), dtype=np.uint8)
    clips[..., 0] = 77
    clips[:, :, :, 0, 1] = [212, 213]
    clips[:, :, :, 0, 2] = [127, 128]
    return clips


def test_colour_bins_round_after_adding_one_at_exact_halves():
    # round-half-even of 9x + 1: 5.5 -> 6, 8.5 -> 8, 3.72 -> 4; colour = i + 10 (j-1) + 100 (l-1).
    # round(9x) + 1 would give 5 for every 5.5 (colours 345, 845, 445).
    expected = np.array([[[6 + 50 + 300, 6 + 50 + 700, 6 + 50 + 500]]])
    _, mean_frame = ref.frame_statistics(ref.check_clips(_exact_half_frames()))
    np.testing.assert_array_equal(ref.quantise_colours(mean_frame), expected)
    from fame_bench.augment.fame import quantise_colours

    np.testing.assert_array_equal(quantise_colours(torch.from_numpy(mean_frame)).numpy(), expected)


# --- beyond the paper: motion-compensated seed, beta="auto" (docs/fame.md) ------------------


@settings(max_examples=30, deadline=None)
@given(case=clip_cases, low=st.floats(0.05, 0.6), width=st.floats(0.0, 0.4),
       mass=st.floats(0.05, 1.0))
# (1/3 · 5) · 9 = 14.999…: the bound is floor(β · N), N = H · W, one rounding
@example(case={"kind": "noise", "batch": 2, "frames": 2, "height": 5, "width": 9, "seed": 0,
               "beta": 1.0, "variant": "fame", "hue": "code"}, low=1 / 3, width=0.0, mass=1.0)
def test_auto_beta_agrees(case, low, width, mass):
    variant = "fame" if case["variant"] == "grid" else case["variant"]
    clips = make_clips(case["kind"], case["batch"], case["frames"], case["height"],
                       case["width"], case["seed"])
    bounds = (low, min(1.0, low + width))
    ref_draws, op_draws = draws(variant, case["batch"], case["height"], case["width"],
                                case["seed"])
    expected_merged, expected_mask = ref.fame(clips, "auto", variant=variant, hue=case["hue"],
                                              beta_bounds=bounds, auto_mass=mass, **ref_draws)
    merged, mask = op.fame(torch.from_numpy(clips), "auto", variant=variant, hue=case["hue"],
                           beta_bounds=bounds, auto_mass=mass, **op_draws)
    np.testing.assert_array_equal(mask.numpy(), expected_mask)
    np.testing.assert_allclose(merged.numpy(), expected_merged, atol=1e-5)
    pixels = case["height"] * case["width"]
    kept = expected_mask.reshape(case["batch"], -1).sum(axis=1)
    assert (kept >= np.floor(bounds[0] * pixels)).all()
    assert (kept <= np.floor(bounds[1] * pixels)).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 3), frames=st.integers(2, 5),
       height=st.integers(1, 40), width=st.integers(1, 40), kind=st.sampled_from(KINDS))
def test_compensated_seed_region_is_bitwise_equal(seed, batch, frames, height, width, kind):
    clips = make_clips(kind, batch, frames, height, width, seed)
    expected = ref.seed_region(clips, compensate=True)
    np.testing.assert_array_equal(op.seed_region(torch.from_numpy(clips), compensate=True).numpy(),
                                  expected)


def test_fixed_vectors_112_compensated_statistics_are_bitwise_equal():
    from fame_bench.augment.fame import frame_statistics

    clips = make_clips("panning", 3, 5, 112, 112, seed=11)
    motion, mean_frame = ref.frame_statistics(clips, compensate=True)
    got_motion, got_mean = frame_statistics(torch.from_numpy(clips), compensate=True)
    np.testing.assert_array_equal(got_motion.numpy(), motion)
    np.testing.assert_array_equal(got_mean.numpy(), mean_frame)


@pytest.mark.parametrize("chunk_frames", [1, 8, 12, 20, 100])
def test_compensated_statistics_do_not_depend_on_the_chunks(monkeypatch, chunk_frames):
    # 1, 2, 3 or 5 (then 1) of the 6 frame pairs of the 4 clips per chunk, or all 6
    from fame_bench.augment import motion
    from fame_bench.augment.fame import frame_statistics

    monkeypatch.setattr(motion, "CHUNK_BYTES", chunk_frames * 3 * 24 * 20 * 4)
    clips = np.concatenate([make_clips("panning", 3, 7, 24, 20, seed=5),
                            make_clips("moving_square", 1, 7, 24, 20, seed=6)])
    motion_map, mean_frame = ref.frame_statistics(clips, compensate=True)
    got_motion, got_mean = frame_statistics(torch.from_numpy(clips), compensate=True)
    np.testing.assert_array_equal(got_motion.numpy(), motion_map)
    np.testing.assert_array_equal(got_mean.numpy(), mean_frame)
    uint8 = np.round(clips * 255).astype(np.uint8)  # read as x / 255, chunk by chunk
    got_motion, _ = frame_statistics(torch.from_numpy(uint8), compensate=True)
    expected, _ = ref.frame_statistics((uint8 / np.float32(255)).astype(np.float32),
                                       compensate=True)
    np.testing.assert_array_equal(got_motion.numpy(), expected)


# --- mc_downsample (an opt-in approximation of the compensated seed) -----------------------------


def _fixture_clips() -> np.ndarray:
    return mc_fixture_clips()  # the clips of data/mc_exact_k1.npz (see data/README.md)


def test_default_compensation_is_bitwise_the_pinned_exact_one():
    from fame_bench.augment.fame import frame_statistics

    fixture = np.load(MC_FIXTURE)
    clips = _fixture_clips()
    for kwargs in ({}, {"mc_downsample": 1}):
        motion, _ = frame_statistics(torch.from_numpy(clips), compensate=True, **kwargs)
        np.testing.assert_array_equal(motion.numpy(), fixture["motion"])
        np.testing.assert_array_equal(ref.frame_statistics(clips, True, **kwargs)[0],
                                      fixture["motion"])
        mask = op.foreground_mask(torch.from_numpy(clips), 0.5, variant="fame_mc", **kwargs)
        np.testing.assert_array_equal(mask.numpy().astype(bool), fixture["fame_mc_mask"])
    # and k = 2 is a different rule (so the test above could fail)
    coarse, _ = frame_statistics(torch.from_numpy(clips), compensate=True, mc_downsample=2)
    assert not np.array_equal(coarse.numpy(), fixture["motion"])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 3), frames=st.integers(2, 5),
       height=st.integers(6, 40), width=st.integers(6, 40), kind=st.sampled_from(KINDS),
       k=st.sampled_from([2, 3]))
def test_downsampled_seed_region_is_bitwise_equal(seed, batch, frames, height, width, kind, k):
    clips = make_clips(kind, batch, frames, height, width, seed)
    if min(height, width) < 3 * k:
        with pytest.raises(ValueError, match="mc_downsample"):
            op.seed_region(torch.from_numpy(clips), compensate=True, mc_downsample=k)
        return
    expected = ref.seed_region(clips, compensate=True, mc_downsample=k)
    got = op.seed_region(torch.from_numpy(clips), compensate=True, mc_downsample=k)
    np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize("variant", ["fame_mc", "seed_mc"])
@pytest.mark.parametrize("beta", [0.5, "auto"])
def test_downsampled_masks_and_merge_agree(variant, beta):
    clips = np.concatenate([make_clips(kind, 2, 6, 37, 42, seed=13) for kind in KINDS])
    expected_merged, expected_mask = ref.fame(clips, beta, variant=variant, mc_downsample=2)
    merged, mask = op.fame(torch.from_numpy(clips), beta, variant=variant, mc_downsample=2)
    np.testing.assert_array_equal(mask.numpy(), expected_mask)
    np.testing.assert_array_equal(merged.numpy(), expected_merged)


@pytest.mark.parametrize("chunk_frames", [1, 3, 100])
def test_downsampled_statistics_do_not_depend_on_the_chunks(monkeypatch, chunk_frames):
    from fame_bench.augment import motion
    from fame_bench.augment.fame import frame_statistics

    monkeypatch.setattr(motion, "CHUNK_BYTES", chunk_frames * 3 * 24 * 20 * 4)
    clips = _fixture_clips()
    expected, mean_frame = ref.frame_statistics(clips, compensate=True, mc_downsample=2)
    got, got_mean = frame_statistics(torch.from_numpy(clips), compensate=True, mc_downsample=2)
    np.testing.assert_array_equal(got.numpy(), expected)
    np.testing.assert_array_equal(got_mean.numpy(), mean_frame)
    uint8 = np.round(clips * 255).astype(np.uint8)  # read as x / 255, chunk by chunk
    got, _ = frame_statistics(torch.from_numpy(uint8), compensate=True, mc_downsample=2)
    expected, _ = ref.frame_statistics((uint8 / np.float32(255)).astype(np.float32),
                                       compensate=True, mc_downsample=2)
    np.testing.assert_array_equal(got.numpy(), expected)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), levels=st.integers(1, 4))
def test_top_with_per_clip_counts_follows_the_stable_sort(seed, levels):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, levels, size=(4, 5, 6)).astype(np.float32)
    counts = rng.integers(0, 31, size=4)
    expected = ref.top(values, counts)
    got = maps.top(torch.from_numpy(values), torch.from_numpy(counts))
    np.testing.assert_array_equal(got.numpy(), expected)
    assert (expected.reshape(4, -1).sum(axis=1) == counts).all()
    for clip in range(4):  # each clip as its own single-count selection
        np.testing.assert_array_equal(expected[clip], ref.top(values[clip : clip + 1],
                                                              int(counts[clip]))[0])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), dy=st.integers(-40, 40), dx=st.integers(-40, 40),
       fy=st.integers(0, 15), fx=st.integers(0, 15))
def test_shifted_samples_and_their_valid_region_agree(seed, dy, dx, fy, fx):
    from fame_bench.augment import motion

    frames = np.random.default_rng(seed).random((2, 3, 9, 13), dtype=np.float32)
    shift = np.array([[dy + fy / 16, dx + fx / 16], [0.0, 0.0]])
    np.testing.assert_array_equal(
        motion.sample_shifted(torch.from_numpy(frames), torch.from_numpy(shift)).numpy()[0],
        ref.sample_shifted(frames, shift)[0])
    np.testing.assert_array_equal(
        motion.shift_valid(torch.from_numpy(shift), 9, 13).numpy(), ref.shift_valid(shift, 9, 13))
    np.testing.assert_array_equal(ref.sample_shifted(frames, shift)[1], frames[1])  # no shift
