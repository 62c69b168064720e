"""Multi-clip gathering and frozen-backbone feature extraction.

Every evaluation protocol sees a video through ``num_clips`` clips of ``clip_len`` frames taken
every ``stride`` frames, uniformly spaced over the video (the papers' "several clips per video,
scores averaged"; the rule is ``fame_bench.data.sampling``'s). Backbones take raw float clips
in [0, 1], ``(B, 3, T, H, W)``, and normalise internally (``docs/interfaces.md``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator

import torch
from torch import nn

from fame_bench.data.sampling import uniform_clip_indices
from fame_bench.progress import StageProgress
from fame_bench.runtime import cuda_autocast


def on_device(backbone: nn.Module, device: torch.device) -> nn.Module:
    """The backbone on ``device``; a copy when it lives elsewhere, so the caller's is untouched."""
    tensors = list(backbone.parameters()) + list(backbone.buffers())
    if all(t.device == device for t in tensors):
        return backbone
    return copy.deepcopy(backbone).to(device)


def check_videos(videos: torch.Tensor, what: str = "videos") -> None:
    """Raise ``ValueError`` unless ``videos`` is uint8 or float in [0, 1], ``(N, C, T, H, W)``."""
    if not isinstance(videos, torch.Tensor):
        raise ValueError(f"{what} must be a torch.Tensor (N, C, T, H, W), got {type(videos)}")
    if videos.dim() != 5:
        raise ValueError(f"{what} must be (N, C, T, H, W), got shape {tuple(videos.shape)}")
    if videos.dtype == torch.uint8:
        return
    if not videos.is_floating_point():
        raise ValueError(f"{what} must be uint8 or float in [0, 1], got dtype {videos.dtype}")
    if videos.numel() and not torch.isfinite(videos).all():
        raise ValueError(f"{what} contains NaN or Inf")
    if videos.numel() and (videos.min() < 0 or videos.max() > 1):
        raise ValueError(f"float {what} must lie in [0, 1], got range "
                         f"[{videos.min().item():.3g}, {videos.max().item():.3g}]")


def to_unit_float(clips: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 → float32 [0, 1]; float clips pass through as float32."""
    if clips.dtype == torch.uint8:
        return clips.float().div_(255.0)
    return clips.float()


def gather_clips(videos: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """One clip per video: ``videos (N, C, T, H, W)``, ``indices (N, L)`` → ``(N, C, L, H, W)``."""
    n, c, _, h, w = videos.shape
    if indices.dim() != 2 or indices.shape[0] != n:
        raise ValueError(f"indices must be (N={n}, L), got {tuple(indices.shape)}")
    idx = indices.to(videos.device)[:, None, :, None, None].expand(n, c, -1, h, w)
    return torch.gather(videos, 2, idx)


def multi_clips(videos: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """``videos (N, C, T, H, W)``, ``indices (K, L)`` → ``(N * K, C, L, H, W)``, video-major."""
    n, c, _, h, w = videos.shape
    k, length = indices.shape
    picked = videos.index_select(2, indices.reshape(-1).to(videos.device))  # (N, C, K*L, H, W)
    picked = picked.reshape(n, c, k, length, h, w).permute(0, 2, 1, 3, 4, 5)
    return picked.reshape(n * k, c, length, h, w)


@torch.no_grad()
def embed_clips(backbone: nn.Module, clips: torch.Tensor, device: torch.device,
                amp_dtype: str = "none") -> torch.Tensor:
    """Features ``(B, D)`` float32 on CPU of clips ``(B, C, T, H, W)`` (uint8 or [0, 1]);
    ``amp_dtype``: autocast on CUDA (``runtime.cuda_autocast``)."""
    with cuda_autocast(device, amp_dtype):
        out = backbone(to_unit_float(clips.to(device, non_blocking=True)))
    if out.dim() != 2 or out.shape[0] != clips.shape[0]:
        raise ValueError(f"backbone must return (B, D) features, got {tuple(out.shape)} for "
                         f"{clips.shape[0]} clips")
    return out.float().cpu()


def extract_features(backbone: nn.Module, videos: torch.Tensor, clip_len: int, stride: int,
                     num_clips: int, batch_size: int, device: str | torch.device = "cpu",
                     amp_dtype: str = "none") -> torch.Tensor:
    """Frozen-backbone features ``(N, num_clips, D)`` float32 (CPU) of ``videos (N, C, T, H, W)``.

    The backbone runs in eval mode (BN uses its running statistics) under ``no_grad``; its
    training flag is restored afterwards.
    """
    check_videos(videos)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    indices = uniform_clip_indices(videos.shape[2], clip_len, stride, num_clips)
    was_training = backbone.training
    backbone.eval()
    starts = range(0, videos.shape[0], batch_size)
    try:
        chunks = []
        with StageProgress(len(starts), f"features of {videos.shape[0]} videos",
                           unit="batches") as progress:
            for lo in starts:
                clips = multi_clips(videos[lo:lo + batch_size], indices)
                chunks.append(embed_clips(backbone, clips, device, amp_dtype))
                progress.update()
    finally:
        backbone.train(was_training)
    if not chunks:
        raise ValueError("videos is empty: cannot extract features from 0 videos")
    feats = torch.cat(chunks)
    return feats.reshape(videos.shape[0], num_clips, feats.shape[-1])


def item_clip_batches(items: Iterable[dict | None], batch_size: int, labels: list[int],
                      progress: StageProgress | None = None) -> Iterator[torch.Tensor]:
    """Items ``{"clips": (K, C, T, H, W) or (C, T, H, W), "label": int}`` (the eval mode of
    ``fame_bench.data.video.build_dataset``) → batches ``(b, K, C, T, H, W)`` of ``batch_size``
    items; each item's label is appended to ``labels`` as it goes (streaming: a test set never
    sits in memory whole). ``None`` items (videos the dataset could not decode, counted and
    logged there) are skipped; ``progress`` advances once per item, ``None`` included."""
    pending = []
    for item in items:
        if progress is not None:
            progress.update()
        if item is None:
            continue
        clips = item["clips"]
        if clips.dim() == 4:  # a single clip (C, T, H, W)
            clips = clips[None]
        check_videos(clips, "item['clips']")
        pending.append(clips)
        labels.append(int(item["label"]))
        if len(pending) == batch_size:
            yield torch.stack(pending)
            pending = []
    if pending:
        yield torch.stack(pending)


def extract_dataset_features(backbone: nn.Module, items: Iterable[dict], batch_size: int,
                             device: str | torch.device = "cpu", total: int | None = None,
                             amp_dtype: str = "none") -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(N, K, D)`` and labels ``(N,)`` of a dataset whose items are already clipped
    (see :func:`item_clip_batches`); every item must carry the same ``K``.
    ``total``: the number of items, for the progress lines (default: ``len(items)`` if known).
    """
    if total is None:
        total = len(items) if hasattr(items, "__len__") else 0
    device = torch.device(device)
    was_training = backbone.training
    backbone.eval()
    feats: list[torch.Tensor] = []
    labels: list[int] = []
    progress = StageProgress(total, "features", unit="videos", enabled=total > 0)
    try:
        for clips in item_clip_batches(items, batch_size, labels, progress):
            b, k = clips.shape[:2]
            f = embed_clips(backbone, clips.reshape(b * k, *clips.shape[2:]), device, amp_dtype)
            feats.append(f.reshape(b, k, -1))
    finally:
        progress.close()
        backbone.train(was_training)
    if not feats:
        raise ValueError("dataset is empty: cannot extract features from 0 items")
    return torch.cat(feats), torch.tensor(labels, dtype=torch.long)
