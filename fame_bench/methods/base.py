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
from collections.abc import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from fame_bench.methods.memory import rename_legacy_keys

#: What a method's ``from_config`` is given to build its encoder(s): each call returns a fresh
#: backbone (``fame_bench.models.backbones``), so VTHCL's two encoders are two calls.
BackboneFactory = Callable[[], nn.Module]

#: The training batches a method can declare (``Method.batch_kind``), built by
#: ``fame_bench.train.batches``: two clips of each video, a slow and a fast clip of the same
#: instant, or one clip and its label.
BATCH_KINDS = ("pair", "tempo", "clip")


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
    """Base class: subclasses implement ``forward(batch, generator) -> (loss, stats)``.

    Each subclass declares what the training loop must give it: ``batch_kind`` (one of
    ``BATCH_KINDS``), ``trains_on_labels`` (the supervised split rather than the unlabelled
    pretraining one) and ``takes_clip_augment`` (FAME/BE apply), and builds itself from a
    pretraining config with :meth:`from_config`.
    """

    #: Keys a batch must hold, for a clear error from the loop.
    batch_keys: tuple[str, ...] = ()
    batch_kind: str = "clip"
    trains_on_labels: bool = False
    takes_clip_augment: bool = False

    def __init__(self):
        super().__init__()
        self.register_load_state_dict_pre_hook(rename_legacy_keys)

    @classmethod
    def from_config(cls, cfg, backbone_factory: BackboneFactory, *, num_instances: int = 0,
                    num_classes: int = 10, generator: torch.Generator | None = None) -> Method:
        """The method a pretraining config describes. ``num_instances``: training videos (a
        memory bank's rows); ``num_classes``: labels; ``generator``: initial queue/bank draws."""
        raise NotImplementedError

    @classmethod
    def check_config(cls, cfg) -> None:
        """Raise a clear ``ValueError`` for a config this method cannot train with."""

    def check_global_batch(self, global_batch: int) -> None:
        """Raise a clear ``ValueError`` unless this method can train on ``global_batch`` clips
        per step (e.g. MoCo's queue must take whole steps of keys)."""

    def legacy_state_keys(self) -> dict[str, tuple[str, ...]]:
        """Old ``state_dict`` key → its new key(s), for checkpoints written before a rename."""
        return {}

    def after_step(self) -> None:
        """Non-gradient updates after the optimiser step (momentum encoders)."""

    def eval_backbone(self) -> nn.Module:
        raise NotImplementedError

    def check_batch(self, batch: dict) -> None:
        missing = [k for k in self.batch_keys if k not in batch]
        if missing:
            raise ValueError(f"{type(self).__name__} batch lacks {missing}; got {sorted(batch)}")
