"""Batched colour ops and the per-clip transforms.v2 pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from fame_bench.data.transforms import (
    ClipTransform,
    _shift_hue,
    batch_color_jitter,
    batch_grayscale,
    eval_crops,
)


def _clips(b=6, t=4, s=8, seed=0):
    return torch.rand(b, 3, t, s, s, generator=torch.Generator().manual_seed(seed))


def test_hue_shift_matches_torchvision():
    x = _clips()
    shift = torch.linspace(-0.1, 0.1, 6)
    ours = _shift_hue(x, shift)
    for i in range(6):
        theirs = TF.adjust_hue(x[i].permute(1, 0, 2, 3), float(shift[i])).permute(1, 0, 2, 3)
        torch.testing.assert_close(ours[i], theirs, atol=1e-5, rtol=0)


def test_color_jitter_same_parameters_for_all_frames_of_a_clip():
    frame = _clips(t=1)
    clips = frame.expand(-1, -1, 5, -1, -1).contiguous()  # 5 identical frames
    out = batch_color_jitter(clips, torch.Generator().manual_seed(1), p=1.0)
    assert out.shape == clips.shape and out.dtype == clips.dtype
    torch.testing.assert_close(out, out[:, :, :1].expand_as(out))
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, clips)
    per_clip_change = (out - clips).abs().mean((1, 2, 3, 4))
    assert per_clip_change.std() > 0, "each clip draws its own parameters"


def test_color_jitter_probability_and_determinism():
    clips = _clips(b=400, t=2, s=4)
    out = batch_color_jitter(clips, torch.Generator().manual_seed(2), p=0.8)
    changed = (out != clips).flatten(1).any(1).float().mean().item()
    assert 0.7 < changed < 0.9
    again = batch_color_jitter(clips, torch.Generator().manual_seed(2), p=0.8)
    assert torch.equal(out, again)


def test_grayscale_probability_and_channels():
    clips = _clips(b=500, t=2, s=4)
    out = batch_grayscale(clips, torch.Generator().manual_seed(0), p=0.2)
    gray = (out[:, 0] == out[:, 1]).flatten(1).all(1) & (out[:, 1] == out[:, 2]).flatten(1).all(1)
    assert 0.14 < gray.float().mean().item() < 0.26
    torch.testing.assert_close(
        out[gray][:, 0, 0], TF.rgb_to_grayscale(clips[gray][:, :, 0])[:, 0], atol=1e-5, rtol=0
    )


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r"\(B, 3, T, H, W\)"):
        batch_color_jitter(torch.rand(3, 4, 8, 8))
    with pytest.raises(ValueError, match="float"):
        batch_grayscale(torch.zeros(1, 3, 2, 4, 4, dtype=torch.uint8))


def test_clip_transform_crops_all_frames_alike():
    frame = torch.randint(0, 256, (1, 3, 40, 60), dtype=torch.uint8)
    video = frame.expand(10, -1, -1, -1).contiguous()
    out = ClipTransform(size=32)(video, torch.Generator().manual_seed(0))
    assert out.shape == (3, 10, 32, 32) and out.dtype == torch.uint8
    assert torch.equal(out, out[:, :1].expand_as(out))
    again = ClipTransform(size=32)(video, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_clip_transform_flip_and_color():
    ramp = torch.arange(32, dtype=torch.uint8).repeat(4, 3, 32, 1) * 8  # brighter to the right
    no_flip = ClipTransform(size=32, scale=(1.0, 1.0), flip_p=0.0)(ramp)
    flipped = ClipTransform(size=32, scale=(1.0, 1.0), flip_p=1.0)(ramp)
    assert no_flip[0, 0, 0, -1] > no_flip[0, 0, 0, 0] and flipped[0, 0, 0, -1] < flipped[0, 0, 0, 0]
    coloured = ClipTransform(size=32, color=True)(ramp, torch.Generator().manual_seed(0))
    assert coloured.shape == (3, 4, 32, 32)


def test_eval_crops():
    video = torch.randint(0, 256, (6, 3, 40, 60), dtype=torch.uint8)
    crops = eval_crops(video, size=32, num_crops=3)
    assert crops.shape == (3, 3, 6, 32, 32)
    assert not torch.equal(crops[0], crops[2])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_batched_colour_ops_on_cuda_match_cpu():
    clips = _clips(b=16, t=3, s=16)
    cpu = batch_grayscale(batch_color_jitter(clips, torch.Generator().manual_seed(4)),
                          torch.Generator().manual_seed(5))
    gpu = batch_grayscale(batch_color_jitter(clips.cuda(), torch.Generator().manual_seed(4)),
                          torch.Generator().manual_seed(5))
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=0)


def test_batch_gaussian_blur_matches_a_separable_mirrored_gaussian():
    from scipy import ndimage

    from fame_bench.data.transforms import batch_gaussian_blur, blur_kernel_size

    assert [blur_kernel_size(s, s) for s in (19, 32, 64, 112)] == [1, 3, 7, 11]
    g = torch.Generator().manual_seed(0)
    clips = torch.rand(3, 3, 2, 32, 40, generator=g)
    out = batch_gaussian_blur(clips, torch.Generator().manual_seed(1), p=1.0, sigma=(1.5, 1.5))
    taps = np.exp(-np.arange(-1, 2) ** 2 / (2 * 1.5**2))
    taps /= taps.sum()
    expected = ndimage.correlate1d(clips.numpy(), taps, axis=-1, mode="mirror")
    expected = ndimage.correlate1d(expected, taps, axis=-2, mode="mirror")
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-6)
    # p = 0 and frames below 20 pixels (a 1-tap kernel) leave the clips as they are
    assert torch.equal(batch_gaussian_blur(clips, g, p=0.0), clips)
    small = clips[..., :19, :19]
    assert torch.equal(batch_gaussian_blur(small, g, p=1.0), small)


def test_batch_gaussian_blur_is_per_clip_and_deterministic():
    from fame_bench.data.transforms import batch_gaussian_blur

    clips = torch.rand(64, 3, 2, 32, 32, generator=torch.Generator().manual_seed(0))
    a = batch_gaussian_blur(clips, torch.Generator().manual_seed(5), p=0.5)
    b = batch_gaussian_blur(clips, torch.Generator().manual_seed(5), p=0.5)
    assert torch.equal(a, b)
    blurred = (a != clips).flatten(1).any(dim=1)
    assert 16 < int(blurred.sum()) < 48  # about half the clips, each whole or not at all
    assert torch.equal(a[~blurred], clips[~blurred])
