"""Clip sampling rules for pretraining (two clips, slow/fast, batches) and evaluation (uniform)."""

from __future__ import annotations

import pytest
import torch

from fame_bench.data.sampling import (
    clip_positions,
    clip_span,
    random_clip_indices,
    slow_fast_indices,
    slow_fast_span,
    two_clip_indices,
    uniform_clip_indices,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_two_clips_have_length_stride_and_stay_in_video():
    for seed in range(20):
        a, b = two_clip_indices(40, 8, 2, _gen(seed))
        for clip in (a, b):
            assert clip.dtype == torch.int64 and clip.shape == (8,)
            assert (clip.diff() == 2).all() and clip.min() >= 0 and clip.max() < 40


def test_two_clips_come_from_different_timestamps_and_are_seeded():
    starts = {tuple(int(c[0]) for c in two_clip_indices(100, 8, 2, _gen(s))) for s in range(30)}
    assert len(starts) > 20
    first = two_clip_indices(100, 8, 2, _gen(3))
    assert all(torch.equal(x, y) for x, y in zip(first, two_clip_indices(100, 8, 2, _gen(3)),
                                                 strict=True))


def test_short_video_is_padded_with_its_last_frame():
    a, _ = two_clip_indices(5, 8, 2, _gen())
    assert a.tolist() == [0, 2, 4, 4, 4, 4, 4, 4]


@pytest.mark.parametrize("alpha", [2, 4])
def test_slow_fast_same_span(alpha):
    slow, fast = slow_fast_indices(32, 8, 4, alpha, _gen(1))
    assert slow.shape == (8,) and fast.shape == (8 * alpha,)
    assert slow[0] == fast[0] and (slow.diff() == 4).all()
    assert (fast.diff() == 4 // alpha).all()
    assert fast[-1] - fast[0] + 1 == 8 * 4 or fast[-1] == 31


def test_slow_fast_short_span_and_invalid_alpha():
    slow, fast = slow_fast_indices(32, 8, 4, 4, _gen(1), same_span=False)
    assert fast.shape == (8,) and (fast.diff() == 1).all() and fast[0] == slow[0]
    with pytest.raises(ValueError, match="alpha"):
        slow_fast_indices(32, 8, 4, 0, _gen())


def test_uniform_clips_cover_the_video():
    idx = uniform_clip_indices(100, 8, 2, 5)
    assert idx.shape == (5, 8)
    assert idx[0, 0] == 0 and idx[-1, -1] == 99 and (idx[:, 0].diff() > 0).all()
    assert torch.equal(idx, uniform_clip_indices(100, 8, 2, 5))
    assert clip_span(8, 2) == 15


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_frames"):
        two_clip_indices(0, 8, 2, _gen())
    with pytest.raises(ValueError, match="num_clips"):
        uniform_clip_indices(10, 4, 1, 0)


# The rules shared by training batches, real datasets and feature extraction (one module).


def test_one_evaluation_clip_is_centred_several_cover_the_video():
    # one clip of 4 frames every 2 in 16 frames: span 7, room 9, centred start 9 // 2 = 4
    assert uniform_clip_indices(16, 4, 2, 1).tolist() == [[4, 6, 8, 10]]
    # three clips: starts round(linspace(0, 9, 3)) = 0, 4 (4.5 rounds to even), 9
    idx = uniform_clip_indices(16, 4, 2, 3)
    assert idx[:, 0].tolist() == [0, 4, 9] and idx[-1, -1].item() == 15
    with pytest.raises(ValueError, match="clip_len"):
        uniform_clip_indices(16, 0, 1, 1)


@pytest.mark.parametrize("num_clips", [1, 3])
def test_short_video_repeats_its_last_frame_in_every_sampler(num_clips):
    # span 8 > 3 frames: clips start at 0 and are clamped, never an error
    assert uniform_clip_indices(3, 4, 2, num_clips).tolist() == [[0, 2, 2, 2]] * num_clips
    batch = random_clip_indices(3, 4, 2, (5, 2), _gen())
    assert batch.shape == (5, 2, 4) and (batch == torch.tensor([0, 2, 2, 2])).all()
    slow, fast = slow_fast_indices(3, 4, 2, 2, _gen(), batch=2)
    assert slow.tolist() == [[0, 2, 2, 2]] * 2 and fast.tolist() == [[0, 1, 2, 2, 2, 2, 2, 2]] * 2


def test_random_clips_stay_in_the_video_and_follow_the_generator():
    idx = random_clip_indices(16, 8, 2, (50,), _gen(3))
    assert idx.shape == (50, 8) and idx.min() >= 0 and idx.max() <= 15
    assert (idx[:, 1:] - idx[:, :-1] == 2).all()
    assert torch.equal(idx, random_clip_indices(16, 8, 2, (50,), _gen(3)))
    # starts are uniform over 0 .. T - span: with room 1, both values occur
    assert set(idx[:, 0].tolist()) == {0, 1}


def test_batched_slow_fast_matches_one_instance_at_a_time_draws():
    slow, fast = slow_fast_indices(32, 4, 4, 2, _gen(5), batch=6)
    assert slow.shape == (6, 4) and fast.shape == (6, 8)
    assert torch.equal(slow[:, 0], fast[:, 0]) and (fast.diff() == 2).all()
    one_slow, one_fast = slow_fast_indices(32, 4, 4, 2, _gen(5))
    assert torch.equal(one_slow, slow[0]) and torch.equal(one_fast, fast[0])
    assert slow_fast_span(4, 4, 2) == 15 and slow_fast_span(4, 4, 2, same_span=False) == 13
    # a fractional fast stride floors its positions
    assert clip_positions(torch.tensor([0]), 4, 0.5, 10).tolist() == [[0, 0, 1, 1]]
