"""Spatial and colour transforms for clips, with the same parameters for every frame of a clip.

Two paths:
- **per clip** (:class:`ClipTransform`, real videos, in the data loader): random resized crop and
  horizontal flip with ``torchvision.transforms.v2.functional`` on a ``tv_tensors.Video``
  ``(T, C, H, W)``, parameters drawn from an explicit ``torch.Generator`` (v2's own transforms
  draw from the global RNG, which would break determinism); optional colour jitter/grayscale.
- **batched, device-side** (:func:`batch_color_jitter`, :func:`batch_grayscale`,
  :func:`batch_gaussian_blur`): for the training step, on ``(B, C, T, H, W)`` float clips in
  [0, 1] on any device; per-clip parameters, no Python loop over the batch. FAME runs *before*
  these (``docs/fame.md``: crop, flip, FAME, then colour and blur).

Synthetic data: no horizontal flips (a flip turns "move right" into "move left").
"""

from __future__ import annotations

import math

import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

_LUMA = (0.2989, 0.587, 0.114)  # as torchvision's rgb_to_grayscale


def _check_clips(clips: torch.Tensor) -> None:
    if not isinstance(clips, torch.Tensor) or clips.dim() != 5 or clips.shape[1] != 3:
        shape = getattr(clips, "shape", None)
        raise ValueError(f"clips must be a (B, 3, T, H, W) tensor, got shape {shape}")
    if not clips.is_floating_point():
        raise ValueError(f"clips must be float in [0, 1], got dtype {clips.dtype}")


def _uniform(b: int, lo: float, hi: float, generator, device) -> torch.Tensor:
    u = torch.rand(b, generator=generator, dtype=torch.float32)
    return (lo + (hi - lo) * u).to(device)


def _per_clip(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1, 1)


def _gray(clips: torch.Tensor) -> torch.Tensor:
    """``(B, 1, T, H, W)`` luma."""
    r, g, b = clips[:, 0:1], clips[:, 1:2], clips[:, 2:3]
    return _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b


def _shift_hue(clips: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate hue by ``shift`` (fraction of a turn, per clip) through HSV; ``(B, 3, T, H, W)``.

    HSV → RGB by the closed form ``c_n = v - v·s·clamp(min(k, 4 - k), 0, 1)`` with
    ``k = (n + 6h) mod 6``, ``n = 5, 3, 1`` for r, g, b: no 6-way table, a few passes.
    """
    r, g, b = clips.unbind(1)
    maxc, _ = clips.max(1)
    minc, _ = clips.min(1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    hue_gb = torch.where(maxc == g, (b - r) / safe + 2, (r - g) / safe + 4)
    hue6 = torch.where(maxc == r, ((g - b) / safe) % 6, hue_gb)  # hue in sextants, [0, 6)
    hue6 = torch.where(delta > 0, hue6, torch.zeros_like(hue6))
    hue6 = (hue6 + 6 * shift.view(-1, 1, 1, 1)) % 6
    chroma = delta  # v * s
    offsets = torch.tensor([5.0, 3.0, 1.0], device=clips.device, dtype=clips.dtype)
    k = (hue6.unsqueeze(1) + offsets.view(1, 3, 1, 1, 1)) % 6
    ramp = torch.minimum(k, 4 - k).clamp_(0, 1)
    return maxc.unsqueeze(1) - chroma.unsqueeze(1) * ramp


def batch_color_jitter(
    clips: torch.Tensor,
    generator: torch.Generator | None = None,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    hue: float = 0.1,
    p: float = 0.8,
) -> torch.Tensor:
    """MoCo v2 / FAME colour jitter, batched: ``(B, C, T, H, W)`` float [0, 1] → same.

    Per clip, with probability ``p``: brightness factor in ``[1-b, 1+b]``, contrast (blend with
    the frame's mean grey) in ``[1-c, 1+c]``, saturation (blend with grey) in ``[1-s, 1+s]``, hue
    shift in ``[-h, h]`` turns — applied in that fixed order (torchvision draws a random order;
    a fixed one keeps the op a few fused kernels). All frames of a clip share the parameters.
    Random numbers are drawn on the CPU from ``generator``, so results do not depend on the device.
    """
    _check_clips(clips)
    bsz, device = clips.shape[0], clips.device
    def factors(spread: float) -> torch.Tensor:
        return _per_clip(_uniform(bsz, max(0.0, 1 - spread), 1 + spread, generator, device))

    factors_b, factors_c, factors_s = factors(brightness), factors(contrast), factors(saturation)
    shifts = _uniform(bsz, -hue, hue, generator, device)
    apply = _per_clip(torch.rand(bsz, generator=generator).to(device) < p)

    out = (clips * factors_b).clamp(0, 1)
    mean = _gray(out).mean(dim=(-2, -1), keepdim=True)  # per frame, as v2 does on videos
    out = (factors_c * out + (1 - factors_c) * mean).clamp(0, 1)
    out = (factors_s * out + (1 - factors_s) * _gray(out)).clamp(0, 1)
    if hue > 0:
        out = _shift_hue(out, shifts)
    return torch.where(apply, out.to(clips.dtype), clips)


def batch_grayscale(
    clips: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.2
) -> torch.Tensor:
    """Random grayscale per clip (probability ``p``), 3 channels kept: ``(B, C, T, H, W)``."""
    _check_clips(clips)
    apply = _per_clip(torch.rand(clips.shape[0], generator=generator).to(clips.device) < p)
    return torch.where(apply, _gray(clips).expand_as(clips), clips)


def blur_kernel_size(height: int, width: int) -> int:
    """Odd side of the view blur, ``int(0.1 * side) // 2 * 2 + 1`` (the FAME code's; 11 at 112²,
    3 at 32²); 1 (no blur) below 20 pixels."""
    return int(0.1 * min(height, width)) // 2 * 2 + 1


def batch_gaussian_blur(
    clips: torch.Tensor,
    generator: torch.Generator | None = None,
    p: float = 0.5,
    sigma: tuple[float, float] = (0.1, 2.0),
) -> torch.Tensor:
    """Random Gaussian blur per clip (probability ``p``): ``(B, C, T, H, W)`` float → same.

    Kernel side :func:`blur_kernel_size`, ``σ ~ U(sigma)`` per clip, the same on every frame and
    channel; separable, mirrored borders (``d c b | a b c d | c b a``, kornia's default). Draws
    (``σ``, then whether to blur) come from ``generator`` on the CPU whatever the device.
    """
    _check_clips(clips)
    bsz, channels, frames, height, width = clips.shape
    sigmas = sigma[0] + (sigma[1] - sigma[0]) * torch.rand(bsz, generator=generator,
                                                           dtype=torch.float64)
    apply = torch.rand(bsz, generator=generator) < p
    size = blur_kernel_size(height, width)
    if size == 1 or not bool(apply.any()):
        return clips
    chosen = apply.nonzero().flatten()
    offsets = torch.arange(size, dtype=torch.float64) - size // 2
    taps = torch.exp(-offsets**2 / (2 * sigmas[chosen, None] ** 2))
    taps = (taps / taps.sum(dim=1, keepdim=True)).to(device=clips.device, dtype=clips.dtype)
    # one group per (clip, channel, frame) plane, each clip's taps repeated over its planes
    planes = channels * frames
    weight = taps.repeat_interleave(planes, dim=0)  # (n * C * T, size)
    x = clips[chosen.to(clips.device)].reshape(1, -1, height, width)
    half = size // 2
    x = torch.nn.functional.pad(x, (half, half, 0, 0), mode="reflect")
    x = torch.nn.functional.conv2d(x, weight[:, None, None, :], groups=weight.shape[0])
    x = torch.nn.functional.pad(x, (0, 0, half, half), mode="reflect")
    x = torch.nn.functional.conv2d(x, weight[:, None, :, None], groups=weight.shape[0])
    out = clips.clone()
    out[chosen.to(clips.device)] = x.view(-1, channels, frames, height, width)
    return out


# ----------------------------------------------------------------------------- per clip (v2)


def random_resized_crop_params(
    height: int, width: int, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3), generator=None
) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop sampling (10 tries, then a centre crop), with a generator.
    Returns ``(top, left, h, w)``."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        u = torch.rand(4, generator=generator, dtype=torch.float64)
        target = area * (scale[0] + (scale[1] - scale[0]) * float(u[0]))
        aspect = math.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * float(u[1]))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(float(u[2]) * (height - h + 1))
            left = int(float(u[3]) * (width - w + 1))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


class ClipTransform:
    """Per-clip training pipeline on a uint8 video ``(T, C, H, W)`` → uint8 ``(C, T, S, S)``.

    Random resized crop (scale ``scale``) to ``size``, horizontal flip with probability
    ``flip_p`` (0 for synthetic data), optional colour jitter and grayscale (the MoCo v2 set; off
    by default, because FAME must see the clip before colour changes: run the batched ops after
    it). One set of parameters per clip, for all its frames.
    """

    def __init__(self, size: int = 112, scale=(0.2, 1.0), flip_p: float = 0.5,
                 color: bool = False) -> None:
        self.size, self.scale, self.flip_p, self.color = size, scale, flip_p, color

    def __call__(self, video: torch.Tensor, generator: torch.Generator | None = None):
        if video.dim() != 4 or video.shape[1] != 3:
            raise ValueError(f"video must be (T, 3, H, W), got {tuple(video.shape)}")
        frames = tv_tensors.Video(video)
        top, left, h, w = random_resized_crop_params(
            video.shape[-2], video.shape[-1], self.scale, generator=generator
        )
        frames = TF.resized_crop(frames, top, left, h, w, [self.size, self.size], antialias=True)
        if float(torch.rand(1, generator=generator)) < self.flip_p:
            frames = TF.horizontal_flip(frames)
        clip = frames.as_subclass(torch.Tensor).permute(1, 0, 2, 3)  # (C, T, H, W)
        if self.color:
            as_float = clip.unsqueeze(0).float() / 255
            as_float = batch_grayscale(batch_color_jitter(as_float, generator), generator)
            clip = (as_float[0] * 255).round().to(torch.uint8)
        return clip.contiguous()


def eval_crops(video: torch.Tensor, size: int = 112, num_crops: int = 1) -> torch.Tensor:
    """Evaluation: resize the short side to ``size`` then take 1 (centre) or 3 (left/top, centre,
    right/bottom along the long side) square crops.
    ``(T, C, H, W)`` → ``(num_crops, C, T, S, S)``."""
    if num_crops not in (1, 3):
        raise ValueError(f"num_crops must be 1 or 3, got {num_crops}")
    frames = TF.resize(tv_tensors.Video(video), [size], antialias=True)
    h, w = frames.shape[-2:]
    centre = ((h - size) // 2, (w - size) // 2)
    if num_crops == 1:
        corners = [centre]
    elif w >= h:
        corners = [(centre[0], 0), centre, (centre[0], w - size)]
    else:
        corners = [(0, centre[1]), centre, (h - size, centre[1])]
    crops = [TF.crop(frames, top, left, size, size) for top, left in corners]
    return torch.stack([c.as_subclass(torch.Tensor).permute(1, 0, 2, 3) for c in crops])
