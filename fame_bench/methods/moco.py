"""MoCo v2 with a clip augmentation (FAME or BE) at the place the FAME code puts it.

``docs/moco.md``: query encoder ``f_q`` and momentum key encoder ``f_k`` (m = 0.999), MLP head to
128-d unit vectors, a queue of ``K`` negatives, InfoNCE at T = 0.1, symmetric loss (each clip is
once the query and once the key). FAME / BE act on raw [0, 1] clips, before colour jitter
(``docs/fame.md``); where they enter is ``augment_on``:

- ``"first"`` (default, the authors' code): the first clip of each pair is augmented once per
  step; with the symmetric loss it is the query in one direction and the *key* in the other, so
  the key encoder and the queue see augmented clips. Each clip gets one colour augmentation,
  shared by both directions, as in the code.
- ``"queries"``: each clip is augmented only where it is the query (its key-side copy stays
  raw) and every (query, key) slot gets its own colour augmentation: fame-bench's earlier
  reading, kept for comparison.
- ``"both"``: both clips are augmented once each (each with its own background permutation),
  the paper's "both branches" ablation row.

``enqueue``: ``"each_direction"`` (the code) enqueues the first direction's keys before the
second direction reads the queue (so the second query's own clip's key is among its negatives);
``"after_both"`` scores both directions against the same queue and enqueues all keys after.
BE: the distracting clip (the clip plus one of its own frames, weight λ = max_weight·U(0, 1))
takes FAME's place (``docs/be.md`` lists how the BE authors' own loop differs); BE's
temporal-consistency term is commented out in the authors' code, so it is left out here too.
Shuffle-BN: across ranks under DDP; on one device the key batch is shuffled and its BN
statistics are computed per ``bn_splits`` groups (SplitBatchNorm, our substitute).
"""

from __future__ import annotations

import copy

import torch
import torch.distributed as dist
from torch import nn

from fame_bench.augment import BE, FAME
from fame_bench.data.view_augment import ViewAugment
from fame_bench.methods.base import (
    BackboneFactory,
    Method,
    Timer,
    all_gather_concat,
    info_nce,
    momentum_update,
    world,
)
from fame_bench.methods.memory import Queue
from fame_bench.models.heads import MLPHead, convert_split_bn

AUGMENT_ON = ("first", "queries", "both")
ENQUEUE = ("each_direction", "after_both")


def build_clip_augment(kind: str, fame_beta: float = 0.5, fame_variant: str = "fame",
                       fame_p: float = 1.0, be_max_weight: float = 0.3,
                       fame_compile: bool = False) -> nn.Module | None:
    """The clip augmentation from ``fame_bench.augment``: ``"none" | "fame" | "be"``
    (``fame_compile``: FAME's mask stage through ``torch.compile``, same masks)."""
    if kind == "none":
        return None
    if kind == "fame":
        return FAME(beta=fame_beta, variant=fame_variant, p=fame_p, compile=fame_compile)
    if kind == "be":
        return BE(max_weight=be_max_weight)
    raise ValueError(f"augment must be 'none', 'fame' or 'be', got {kind!r}")


class Encoder(nn.Module):
    """Backbone + MoCo v2 MLP head: clips ``(B, C, T, H, W)`` → unit vectors ``(B, dim)``."""

    def __init__(self, backbone: nn.Module, dim: int):
        super().__init__()
        self.backbone = backbone
        self.head = MLPHead(backbone.out_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class MoCo(Method):
    """MoCo v2. ``forward({"views": (B, 2, C, T, H, W)}, generator) -> (loss, stats)``.

    ``queue_size`` must be divisible by the number of keys enqueued per step, which is the
    global batch times 2 when ``symmetric`` (both clips' keys are enqueued), else the global batch.
    ``augment_on`` and ``enqueue``: see the module docstring.
    """

    batch_keys = ("views",)
    batch_kind = "pair"
    takes_clip_augment = True

    def __init__(self, backbone: nn.Module, dim: int = 128, queue_size: int = 1024,
                 momentum: float = 0.999, temperature: float = 0.1, symmetric: bool = True,
                 bn_splits: int = 2, augment: nn.Module | None = None,
                 augment_on: str = "first", enqueue: str = "each_direction",
                 view_augment: ViewAugment | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        if augment_on not in AUGMENT_ON:
            raise ValueError(f"augment_on must be one of {AUGMENT_ON}, got {augment_on!r}")
        if enqueue not in ENQUEUE:
            raise ValueError(f"enqueue must be one of {ENQUEUE}, got {enqueue!r}")
        self.encoder_q = Encoder(backbone, dim)
        self.encoder_k = copy.deepcopy(self.encoder_q)
        self.bn_splits = bn_splits
        if bn_splits > 1 and world()[1] == 1:
            # one device: SplitBatchNorm stands in for Shuffle-BN (under DDP the real one runs)
            convert_split_bn(self.encoder_k, bn_splits)
        for p in self.encoder_k.parameters():
            p.requires_grad_(False)
        self.momentum, self.temperature, self.symmetric = momentum, temperature, symmetric
        self.augment, self.augment_on, self.enqueue = augment, augment_on, enqueue
        self.view_augment = view_augment or ViewAugment()
        self.queue = Queue(queue_size, dim, generator)

    @classmethod
    def from_config(cls, cfg, backbone_factory: BackboneFactory, *, num_instances: int = 0,
                    num_classes: int = 10, generator: torch.Generator | None = None) -> MoCo:
        augment = build_clip_augment(cfg.augment, cfg.fame_beta, cfg.fame_variant, cfg.fame_p,
                                     cfg.be_max_weight, cfg.fame_compile)
        return cls(backbone_factory(), cfg.dim, cfg.queue_size, cfg.moco_momentum,
                   cfg.temperature, cfg.symmetric, cfg.bn_splits, augment, cfg.fame_on,
                   cfg.moco_enqueue, ViewAugment.from_config(cfg), generator=generator)

    @classmethod
    def check_config(cls, cfg) -> None:
        if cfg.batch_size < 2 * max(1, cfg.bn_splits):
            # BatchNorm in training mode needs two clips per split of the key batch.
            raise ValueError(
                f"batch_size={cfg.batch_size} is too small for MoCo's key encoder with "
                f"bn_splits={cfg.bn_splits}: expected at least {2 * max(1, cfg.bn_splits)} "
                f"(2 clips per BatchNorm split)"
            )

    def legacy_state_keys(self) -> dict[str, tuple[str, ...]]:
        return {"queue": ("queue.entries",), "queue_ptr": ("queue.ptr",)}

    def eval_backbone(self) -> nn.Module:
        return self.encoder_q.backbone

    def check_global_batch(self, global_batch: int) -> None:
        """Raise a clear ``ValueError`` unless the queue size fits the keys enqueued per step."""
        per_step = global_batch * (2 if self.symmetric else 1)
        if len(self.queue) % per_step:
            raise ValueError(
                f"MoCo queue size K={len(self.queue)} must be divisible by the keys enqueued "
                f"per step ({per_step} = global batch {global_batch}"
                f"{' x 2 views (symmetric loss)' if self.symmetric else ''})"
            )

    @torch.no_grad()
    def _keys(self, clips: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Key embeddings with Shuffle-BN: across ranks under DDP, SplitBatchNorm on one rank."""
        rank, size = world()
        if size == 1:
            perm = torch.randperm(clips.shape[0], generator=generator).to(clips.device)
            keys = self.encoder_k(clips[perm])
            return keys[torch.argsort(perm)]
        gathered = all_gather_concat(clips)
        perm = torch.randperm(gathered.shape[0], generator=generator).to(clips.device)
        dist.broadcast(perm, src=0)
        local = clips.shape[0]
        keys = self.encoder_k(gathered[perm[rank * local:(rank + 1) * local]])
        keys_all = all_gather_concat(keys)
        return keys_all[torch.argsort(perm)][rank * local:(rank + 1) * local]

    def _augment(self, clips: torch.Tensor, generator: torch.Generator | None,
                 timer: Timer) -> torch.Tensor:
        if self.augment is None:
            return clips
        return timer(self.augment, clips, generator=generator)

    def _pairs(self, x1: torch.Tensor, x2: torch.Tensor, generator, timer: Timer) -> list:
        """(query clip, key clip) per direction, after the clip and colour augmentations."""
        b = x1.shape[0]
        if self.augment_on == "queries":
            # each clip augmented where it is the query; four independently coloured slots
            q_in = [self._augment(x1, generator, timer)]
            if self.symmetric:
                q_in.append(self._augment(x2, generator, timer))
            k_in = [x2, x1] if self.symmetric else [x2]
            chunks = self.view_augment(torch.cat(q_in + k_in), generator).split(b)
            return list(zip(chunks[:len(q_in)], chunks[len(q_in):], strict=True))
        # the code: two clips, each augmented (first clip / both) and coloured once, used in
        # both directions
        v1 = self._augment(x1, generator, timer)
        v2 = self._augment(x2, generator, timer) if self.augment_on == "both" else x2
        c1, c2 = self.view_augment(torch.cat([v1, v2]), generator).split(b)
        return [(c1, c2), (c2, c1)] if self.symmetric else [(c1, c2)]

    def forward(self, batch: dict, generator: torch.Generator | None = None):
        self.check_batch(batch)
        views = batch["views"]
        if views.dim() != 6 or views.shape[1] != 2:
            raise ValueError(f"views must be (B, 2, C, T, H, W), got {tuple(views.shape)}")
        timer = Timer()
        pairs = self._pairs(views[:, 0], views[:, 1], generator, timer)
        losses, pending = [], []
        for query_clip, key_clip in pairs:
            q = self.encoder_q(query_clip)
            k = self._keys(key_clip, generator)
            losses.append(info_nce(q, k, self.queue.entries.clone().detach(), self.temperature))
            if self.enqueue == "each_direction":
                self.queue.push(all_gather_concat(k))
            else:
                pending.append(k)
        if pending:
            self.queue.push(all_gather_concat(torch.cat(pending)))
        loss = torch.stack(losses).mean()
        return loss, {"augment_s": timer.seconds}

    def after_step(self) -> None:
        momentum_update(self.encoder_k, self.encoder_q, self.momentum)
