"""Training batches: index a uint8 video tensor, gather frames, convert on the device.

Synthetic data lives in memory as uint8 ``(N, C, T, H, W)``; a step's batch is drawn by index
(no DataLoader), its frames gathered by index, and only then moved to the device and turned into
float clips in [0, 1]. Every random draw comes from a generator derived from ``(seed, step)``, so
step ``s`` gets the same batch whether or not the run was interrupted before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from fame_bench.data import sampling
from fame_bench.data.sampling import random_clip_indices, slow_fast_indices, slow_fast_span
from fame_bench.data.synthetic import make_split, render_clips
from fame_bench.methods.registry import method_class


def step_generator(seed: int, step: int, stream: int, device: str | torch.device = "cpu"
                   ) -> torch.Generator:
    """A generator for one (seed, step, stream): independent streams without global state."""
    state = np.random.SeedSequence([seed, step, stream]).generate_state(2, dtype=np.uint32)
    g = torch.Generator(device=device)
    g.manual_seed(int(state[0]) << 32 | int(state[1]))
    return g


def epoch_batch_indices(num_videos: int, batch_size: int, step: int, seed: int) -> torch.Tensor:
    """Video indices ``(batch_size,)`` of global step ``step``: a fresh permutation per epoch
    (drop-last), so every video is seen once per epoch."""
    if batch_size > num_videos:
        raise ValueError(f"batch_size {batch_size} exceeds the {num_videos} videos available")
    per_epoch = num_videos // batch_size
    epoch, pos = divmod(step, per_epoch)
    perm = torch.randperm(num_videos, generator=step_generator(seed, epoch, stream=101))
    return perm[pos * batch_size:(pos + 1) * batch_size]


def gather_frames(videos: torch.Tensor, frame_index: torch.Tensor) -> torch.Tensor:
    """``videos (B, C, T, H, W)``, ``frame_index (B, L)`` → ``(B, C, L, H, W)`` (same dtype)."""
    index = frame_index[:, None, :, None, None].to(videos.device)
    return torch.take_along_dim(videos, index, dim=2)


def to_float_clips(clips: torch.Tensor, device: torch.device, size: int = 0) -> torch.Tensor:
    """uint8 ``(B, C, T, H, W)`` → float32 in [0, 1] on ``device``, resized to ``size`` if set."""
    clips = clips.to(device, non_blocking=True).float().div_(255.0)
    if size and clips.shape[-1] != size:
        b, c, t, h, w = clips.shape
        frames = clips.transpose(1, 2).reshape(b * t, c, h, w)
        frames = F.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False)
        clips = frames.reshape(b, t, c, size, size).transpose(1, 2).clamp_(0, 1)
    return clips


def random_resized_crop(clips: torch.Tensor, scale: tuple[float, float],
                        generator: torch.Generator) -> torch.Tensor:
    """One random square crop per clip, the same for all its frames, resized back to ``(H, W)``.

    ``clips`` float ``(B, C, T, H, W)``; the crop covers a fraction of the frame's area drawn
    uniformly from ``scale`` and lies wholly inside the frame. No flip: on the synthetic benchmark
    a flip changes the label. ``scale == (1, 1)`` returns the clips unchanged.
    """
    lo, hi = scale
    if lo >= 1.0:
        return clips
    b, c, t, h, w = clips.shape
    area = lo + (hi - lo) * torch.rand(b, generator=generator)
    side = area.sqrt()  # fraction of the side; grid coordinates span [-1, 1]
    centre = (1 - side)[:, None] * (2 * torch.rand(b, 2, generator=generator) - 1)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = side
    theta[:, 1, 1] = side
    theta[:, :, 2] = centre
    theta = theta.to(clips.device, clips.dtype).repeat_interleave(t, dim=0)
    frames = clips.transpose(1, 2).reshape(b * t, c, h, w)
    grid = F.affine_grid(theta, [b * t, c, h, w], align_corners=False)
    frames = F.grid_sample(frames, grid, mode="bilinear", padding_mode="border",
                           align_corners=False)
    return frames.reshape(b, t, c, h, w).transpose(1, 2)


@dataclass
class InMemoryVideos:
    """uint8 videos ``(N, C, T, H, W)`` and int64 labels ``(N,)``, held in memory."""

    videos: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.videos.dtype != torch.uint8 or self.videos.dim() != 5:
            raise ValueError(
                f"videos must be uint8 (N, C, T, H, W), got {self.videos.dtype} "
                f"{tuple(self.videos.shape)}"
            )
        if self.labels.shape != (self.videos.shape[0],):
            raise ValueError(f"labels must be ({self.videos.shape[0]},), got "
                             f"{tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return self.videos.shape[0]


def batch_kind(cfg) -> str:
    """The batch ``cfg``'s method trains on (``Method.batch_kind``: "pair", "tempo", "clip")."""
    return method_class(cfg.method).batch_kind


def clip_span(cfg) -> int:
    """Frames of a video that one training sample of ``cfg`` spans (VTHCL: both clips)."""
    if batch_kind(cfg) == "tempo":
        return slow_fast_span(cfg.clip_len, cfg.vthcl_slow_stride, cfg.vthcl_alpha,
                              cfg.vthcl_same_span)
    return sampling.clip_span(cfg.clip_len, cfg.frame_stride)


def make_batch(data: InMemoryVideos, cfg, step: int, rank: int, world_size: int,
               device: torch.device) -> dict:
    """This rank's slice of global step ``step``'s batch, as the method's batch dict."""
    if cfg.batch_size % world_size:
        raise ValueError(f"global batch {cfg.batch_size} is not divisible by {world_size} ranks")
    index = epoch_batch_indices(len(data), cfg.batch_size, step, cfg.seed)
    g = step_generator(cfg.seed, step, stream=202)
    t = data.videos.shape[2]
    b = cfg.batch_size
    kind = batch_kind(cfg)
    if kind == "pair":
        frames = random_clip_indices(t, cfg.clip_len, cfg.frame_stride, (b, 2), g)
    elif kind == "tempo":
        # both clips start at the same time (same instance, two tempos)
        slow, fast = slow_fast_indices(t, cfg.clip_len, cfg.vthcl_slow_stride, cfg.vthcl_alpha,
                                       g, cfg.vthcl_same_span, batch=b)
    else:
        frames = random_clip_indices(t, cfg.clip_len, cfg.frame_stride, (b, 1), g)
    lo, hi = rank * b // world_size, (rank + 1) * b // world_size
    crop_g = step_generator(cfg.seed, step, stream=204 + rank)
    scale = tuple(cfg.crop_scale)
    index_local = index[lo:hi]
    videos = data.videos[index_local]
    out = {"index": index_local.to(device), "label": data.labels[index_local].to(device)}
    if kind == "pair":
        f = frames[lo:hi]
        views = [gather_frames(videos, f[:, k]) for k in range(2)]
        flat = to_float_clips(torch.stack(views, dim=1).flatten(0, 1), device, cfg.crop_size)
        out["views"] = random_resized_crop(flat, scale, crop_g).unflatten(0, (hi - lo, 2))
    elif kind == "tempo":
        for key, idx in (("slow", slow), ("fast", fast)):
            clips = to_float_clips(gather_frames(videos, idx[lo:hi]), device, cfg.crop_size)
            out[key] = random_resized_crop(clips, scale, crop_g)
    else:
        clips = to_float_clips(gather_frames(videos, frames[lo:hi, 0]), device, cfg.crop_size)
        out["clips"] = random_resized_crop(clips, scale, crop_g)
    return out


def load_synthetic(cfg, split: str) -> InMemoryVideos:
    """The synthetic split for ``cfg`` (first ``cfg.num_videos`` clips when set)."""
    data_cfg = cfg.synthetic_config()
    if cfg.num_videos:
        data = render_clips(data_cfg, split, range(cfg.num_videos), cfg.data_seed)
    else:
        data = make_split(data_cfg, split, seed=cfg.data_seed)
    return InMemoryVideos(data.videos, data.labels)
