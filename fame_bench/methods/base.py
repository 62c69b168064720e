"""What a pretraining method is, for the training loop.

A method is an ``nn.Module`` whose ``forward(batch, generator)`` returns ``(loss, stats)`` for one
training step (so DistributedDataParallel can wrap it whole), whose ``after_step()`` runs the
non-gradient updates (momentum encoders), and whose ``state_dict`` holds everything a resume
needs (encoders, queues, memory banks). ``eval_backbone()`` is the encoder evaluated downstream.

Batches are dicts of raw float clips in [0, 1] on the training device:
``{"views": (B, 2, C, T, H, W), "index": (B,)}`` for MoCo, ``{"slow": (B, C, T, H, W),
"fast": (B, C, αT, H, W), "index": (B,)}`` for VTHCL, ``{"clips": (B, C, T, H, W), "label": (B,)}``
for supervised training (``label``: the key a dataset item gives a video's class, kept whole
from items to batches).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


def info_nce(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor,
             temperature: float, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """InfoNCE with the positive at logit index 0 (MoCo's cross-entropy with target 0).

    ``query`` and ``positive`` are ``(B, D)``; ``negatives`` is ``(K, D)`` shared by every query
    (MoCo's queue) or ``(B, K, D)`` per query (memory-bank sampling). ``exclude`` ``(B,)``: for
    shared negatives, the row of each query's own entry, left out of its denominator (a memory
    bank holds the positive itself). Vectors are used as given (callers L2-normalise). Returns
    the mean loss over the batch.
    """
    if query.shape != positive.shape:
        raise ValueError(f"query {tuple(query.shape)} and positive {tuple(positive.shape)} differ")
    pos = (query * positive).sum(dim=1, keepdim=True)
    if negatives.dim() == 2:
        neg = query @ negatives.t()
    elif negatives.dim() == 3:
        neg = torch.einsum("bd,bkd->bk", query, negatives)
    else:
        raise ValueError(f"negatives must be (K, D) or (B, K, D), got {tuple(negatives.shape)}")
    if exclude is not None:
        if negatives.dim() != 2 or exclude.shape != (query.shape[0],):
            raise ValueError("exclude needs shared (K, D) negatives and one row per query, got "
                             f"{tuple(negatives.shape)} and {tuple(exclude.shape)}")
        neg = neg.scatter(1, exclude.view(-1, 1).to(neg.device), float("-inf"))
    logits = torch.cat([pos, neg], dim=1).float() / temperature
    target = torch.zeros(query.shape[0], dtype=torch.long, device=query.device)
    return F.cross_entropy(logits, target)


@torch.no_grad()
def momentum_update(target: nn.Module, source: nn.Module, momentum: float) -> None:
    """``θ_target ← m·θ_target + (1 − m)·θ_source`` over parameters (MoCo's key encoder)."""
    for p_t, p_s in zip(target.parameters(), source.parameters(), strict=True):
        p_t.mul_(momentum).add_(p_s.detach(), alpha=1.0 - momentum)


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@torch.no_grad()
def all_gather_concat(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0 (no gradient); ``x`` itself on one rank."""
    _, size = world()
    if size == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


@dataclass
class ViewAugment:
    """Per-clip view augmentation applied after FAME/BE (``docs/fame.md``: FAME runs before it).

    ``jitter`` = (brightness, contrast, saturation, hue), applied with probability ``jitter_p``;
    grayscale with ``grayscale_p``; then a Gaussian blur with probability ``blur_p``, ``σ`` drawn
    per clip from ``blur_sigma`` (the FAME code's view augmentation, ``docs/deviations.md``).
    No flips: they swap "left" and "right" on synthetic data.
    """

    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)

    def __call__(self, clips: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        from fame_bench.data.transforms import (
            batch_color_jitter,
            batch_gaussian_blur,
            batch_grayscale,
        )

        if self.jitter_p > 0:
            b, c, s, h = self.jitter
            clips = batch_color_jitter(clips, generator, brightness=b, contrast=c, saturation=s,
                                       hue=h, p=self.jitter_p)
        if self.grayscale_p > 0:
            clips = batch_grayscale(clips, generator, p=self.grayscale_p)
        if self.blur_p > 0:
            clips = batch_gaussian_blur(clips, generator, p=self.blur_p, sigma=self.blur_sigma)
        return clips


class Timer:
    """Accumulates wall time of a code block, synchronising CUDA so the time is the device's."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, fn, *args, **kw):
        sync = torch.cuda.is_available() and torch.cuda.is_initialized()
        if sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn(*args, **kw)
        if sync:
            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - start
        return out


class Method(nn.Module):
    """Base class: subclasses implement ``forward(batch, generator) -> (loss, stats)``."""

    #: Keys a batch must hold, for a clear error from the loop.
    batch_keys: tuple[str, ...] = ()

    def after_step(self) -> None:
        """Non-gradient updates after the optimiser step (momentum encoders)."""

    def eval_backbone(self) -> nn.Module:
        raise NotImplementedError

    def check_batch(self, batch: dict) -> None:
        missing = [k for k in self.batch_keys if k not in batch]
        if missing:
            raise ValueError(f"{type(self).__name__} batch lacks {missing}; got {sorted(batch)}")
