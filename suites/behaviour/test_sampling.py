"""Frame-index samplers for pretraining (two clips, slow/fast) and evaluation (uniform)."""

from __future__ import annotations

import pytest
import torch

from fame_bench.data.sampling import (
    clip_span,
    slow_fast_indices,
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
