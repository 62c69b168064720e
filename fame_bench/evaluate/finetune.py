"""Finetune protocol: the whole network plus a linear classifier, trained end to end.

``docs/synthetic_benchmark.md`` ("Evaluation protocols"): copy the pretrained backbone, add
dropout and a linear layer, train every weight with SGD (momentum, weight decay, cosine or step
schedule) on one random clip per sampled video, then test with several clips per video, softmax
scores averaged. Supervised from scratch is this protocol applied to a randomly initialised
backbone.

No horizontal flips: on the synthetic benchmark they swap "move left" and "move right"
(``docs/synthetic_benchmark.md``). Per-clip colour jitter is optional (``finetune_color_jitter``).
All randomness (batches, clip starts, jitter, dropout, head init) comes from one CPU
``torch.Generator`` so a seed fixes the result.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fame_bench.data.sampling import random_clip_indices, uniform_clip_indices
from fame_bench.data.transforms import batch_color_jitter
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.features import (
    check_videos,
    gather_clips,
    item_clip_batches,
    multi_clips,
    to_unit_float,
)
from fame_bench.evaluate.finetune_checkpoint import FinetuneCheckpoint
from fame_bench.evaluate.linear import as_labels, lr_at, top1
from fame_bench.progress import StageProgress
from fame_bench.runtime import cpu_threads, cuda_autocast, loss_scaler, resolve_device

LOG = logging.getLogger("fame_bench.finetune")

# (generator) -> (clips (B, C, T, H, W) uint8 or [0, 1] float, labels (B,) int64)
BatchSampler = Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def feature_dim(backbone: nn.Module, example_clip: torch.Tensor, device: torch.device) -> int:
    """``backbone.out_dim`` when declared (the contract), else measured on one clip."""
    if isinstance(getattr(backbone, "out_dim", None), int):
        return backbone.out_dim
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad():
        out = backbone(to_unit_float(example_clip[:1].to(device)))
    backbone.train(was_training)
    return int(out.shape[-1])


def dropout(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Inverted dropout with an explicit generator (``nn.Dropout`` would draw from global RNG)."""
    if p <= 0:
        return x
    keep = (torch.rand(x.shape, generator=generator) >= p).to(x.device, x.dtype)
    return x * keep / (1.0 - p)


class TensorBatches:
    """Batches of one random clip from each of ``finetune_batch_size`` videos, drawn epoch by
    epoch without replacement (a fresh permutation each epoch). Its state (the epoch's order
    and the position in it) goes into a finetune checkpoint."""

    def __init__(self, videos: torch.Tensor, labels: torch.Tensor, cfg: EvalConfig) -> None:
        self.videos, self.labels, self.cfg = videos, labels, cfg
        self.order = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def __call__(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        picked = []
        need = self.cfg.finetune_batch_size
        while need > 0:
            if self.pos >= len(self.order):
                self.order = torch.randperm(self.videos.shape[0], generator=generator)
                self.pos = 0
            take = self.order[self.pos:self.pos + need]
            self.pos += len(take)
            need -= len(take)
            picked.append(take)
        idx = torch.cat(picked)
        frames = random_clip_indices(self.videos.shape[2], self.cfg.clip_len, self.cfg.stride,
                                     (len(idx),), generator)
        return gather_clips(self.videos[idx], frames), self.labels[idx]

    def state_dict(self) -> dict:
        return {"order": self.order.clone(), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.order, self.pos = state["order"].clone(), int(state["pos"])


def train_classifier(backbone: nn.Module, num_classes: int, sample_batch: BatchSampler,
                     cfg: EvalConfig, generator: torch.Generator, device: torch.device,
                     checkpoint: FinetuneCheckpoint | None = None) -> tuple[nn.Module, nn.Linear]:
    """Copy ``backbone``, add a linear head, train both for ``cfg.finetune_steps`` steps.

    ``checkpoint``: where the finetune saves itself (``checkpoint.every`` steps and at the end)
    and resumes from when a checkpoint of the same finetune is there; ``sample_batch`` must then
    have ``state_dict`` / ``load_state_dict`` (``TensorBatches``, ``DatasetBatches``)."""
    model = copy.deepcopy(backbone).to(device).train()
    for p in model.parameters():
        p.requires_grad_(True)
    first_clips, first_labels = sample_batch(generator)
    dim = feature_dim(model, first_clips, device)
    head = nn.Linear(dim, num_classes).to(device)
    with torch.no_grad():  # MoCo's classifier init: N(0, 0.01), bias 0, from our generator
        head.weight.copy_(torch.randn(num_classes, dim, generator=generator) * 0.01)
        head.bias.zero_()
    model.train()
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=cfg.finetune_lr, momentum=cfg.finetune_momentum,
                          weight_decay=cfg.finetune_wd)
    scaler = loss_scaler(device, cfg.amp_dtype)
    total = cfg.finetune_steps
    milestones = tuple(m * total for m in cfg.finetune_milestones)
    pending = (first_clips, first_labels)  # step 0's batch (drawn before the head's init)
    start = 0
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:  # every draw below continues from the saved states
        model.load_state_dict(saved["model"])
        head.load_state_dict(saved["head"])
        opt.load_state_dict(saved["optimizer"])
        if "scaler" in saved:
            scaler.load_state_dict(saved["scaler"])
        generator.set_state(saved["generator"])
        sample_batch.load_state_dict(saved["sampler"])
        start, pending = int(saved["step"]), None
        LOG.info("finetune resumed at step %d of %d from %s", start, total, checkpoint.path)
    progress = StageProgress(total, "finetune", initial=start)
    for step in range(start, total):
        clips, labels = pending if pending is not None else sample_batch(generator)
        pending = None
        if labels.max() >= num_classes or labels.min() < 0:
            raise ValueError(f"finetune labels must be in [0, {num_classes}), got "
                             f"[{labels.min().item()}, {labels.max().item()}]")
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, cfg.finetune_lr, cfg.finetune_schedule, milestones)
        x = to_unit_float(clips.to(device))
        if cfg.finetune_color_jitter > 0:  # per clip, torchvision's semantics, no hue shift
            s = cfg.finetune_color_jitter
            x = batch_color_jitter(x, generator, brightness=s, contrast=s, saturation=s, hue=0.0,
                                   p=1.0)
        with cuda_autocast(device, cfg.amp_dtype):
            feats = dropout(model(x), cfg.finetune_dropout, generator)
            loss = F.cross_entropy(head(feats).float(), labels.to(device))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"finetune loss is {loss.item()} at step {step}: lower "
                                     "finetune_lr")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        progress.set_postfix(f"loss {loss.item():.3f}")
        progress.update()
        if checkpoint is not None and checkpoint.due(step + 1, total):
            checkpoint.save({"model": model.state_dict(), "head": head.state_dict(),
                             "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
                             "step": step + 1,
                             "generator": generator.get_state(),
                             "sampler": sample_batch.state_dict()})
    progress.close()
    model.eval()
    head.eval()
    return model, head


@torch.no_grad()
def multi_clip_scores(model: nn.Module, head: nn.Module, clip_batches: Iterable[torch.Tensor],
                      device: torch.device, amp_dtype: str = "none") -> torch.Tensor:
    """Video scores ``(N, C)``: softmax over classes averaged over each video's clips.
    ``clip_batches`` yields ``(b, K, C, T, H, W)``; ``amp_dtype``: autocast on CUDA."""
    scores = []
    for batch in clip_batches:
        b, k = batch.shape[:2]
        x = to_unit_float(batch.reshape(b * k, *batch.shape[2:]).to(device))
        with cuda_autocast(device, amp_dtype):
            logits = head(model(x)).float().cpu().reshape(b, k, -1)
        scores.append(logits.softmax(dim=-1).mean(dim=1))
    return torch.cat(scores)


def video_clip_batches(videos: torch.Tensor, cfg: EvalConfig) -> Iterable[torch.Tensor]:
    """Test clips ``(b, K, C, T, H, W)`` uniformly spaced over each video, ``cfg.batch_size``
    videos at a time."""
    indices = uniform_clip_indices(videos.shape[2], cfg.clip_len, cfg.stride, cfg.num_clips)
    for lo in range(0, videos.shape[0], cfg.batch_size):
        clips = multi_clips(videos[lo:lo + cfg.batch_size], indices)
        yield clips.reshape(-1, cfg.num_clips, *clips.shape[1:])


def finetune(backbone: nn.Module, train_videos: torch.Tensor, train_labels: torch.Tensor,
             test: Mapping[str, tuple[torch.Tensor, torch.Tensor]], cfg: EvalConfig,
             seed: int = 0, num_classes: int | None = None,
             checkpoint: FinetuneCheckpoint | None = None) -> dict[str, float]:
    """Finetune a copy of ``backbone`` on ``train_videos (N, C, T, H, W)`` (uint8 or [0, 1]) and
    return top-1 per test set (``test[name] = (videos, labels)``), ``cfg.num_clips`` clips per
    video, scores averaged. ``backbone`` itself is left untouched. ``checkpoint``: see
    :func:`train_classifier`."""
    if cfg.finetune_steps < 1:
        raise ValueError("finetune needs cfg.finetune_steps >= 1 (0 means: do not call it)")
    check_videos(train_videos, "train_videos")
    train_labels = as_labels(train_labels, train_videos.shape[0], "train_labels")
    tests = {}
    for name, (videos, labels) in test.items():
        check_videos(videos, f"test[{name!r}] videos")
        tests[name] = (videos, as_labels(labels, videos.shape[0], f"test[{name!r}] labels"))
    if num_classes is None:
        num_classes = 1 + max([int(train_labels.max())]
                              + [int(lab.max()) for _, lab in tests.values()])
    device = resolve_device(cfg.device)
    generator = torch.Generator().manual_seed(int(seed))
    sampler = TensorBatches(train_videos, train_labels, cfg)
    with cpu_threads(cfg.threads):
        model, head = train_classifier(backbone, num_classes, sampler, cfg, generator, device,
                                       checkpoint)
        return {name: top1(multi_clip_scores(model, head, video_clip_batches(videos, cfg),
                                             device, cfg.amp_dtype), labels)
                for name, (videos, labels) in tests.items()}


class DatasetBatches:
    """Batches from a dataset of ``{"clips": (K, C, T, H, W) or (C, T, H, W), "label"}`` items
    (e.g. ``build_dataset(..., mode="pretrain")``: random crops and flips), one random clip
    among each item's ``K``; ``None`` items (undecodable videos) dropped.

    Epoch ``e`` visits the items in a permutation seeded from ``(base seed, e)`` (the base seed
    drawn from the finetune's generator) and tells the dataset its epoch (``set_epoch``), so an
    item's random crop depends on ``(seed, epoch, index)`` only, whatever the worker. The state
    is the epoch and the position in it: a resumed finetune slices the epoch's order there
    instead of decoding the consumed batches again.
    """

    def __init__(self, dataset: Sequence[dict | None], cfg: EvalConfig,
                 generator: torch.Generator) -> None:
        if len(dataset) == 0:
            raise ValueError("the finetune's train list is empty")
        self.dataset, self.cfg = dataset, cfg
        self.batch = cfg.finetune_batch_size
        self.drop_last = len(dataset) >= self.batch
        self.base_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        self.epoch, self.pos = 0, 0
        self._batches = None
        self._found_in_epoch = False

    def _start(self) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.epoch)
        epoch_generator = torch.Generator().manual_seed(self.base_seed + self.epoch)
        order = torch.randperm(len(self.dataset), generator=epoch_generator).tolist()
        rest = order[self.pos:]
        if self.drop_last:
            rest = rest[:len(rest) // self.batch * self.batch]
        # the loader's own generator seeds its workers: the global RNG is left alone
        self._batches = iter(torch.utils.data.DataLoader(
            self.dataset, batch_size=self.batch, sampler=rest, num_workers=self.cfg.num_workers,
            collate_fn=_keep_items, generator=epoch_generator))

    def _next_items(self) -> list[dict]:
        while True:
            if self._batches is None:
                self._start()
            try:
                items = next(self._batches)
            except StopIteration:
                if not self._found_in_epoch and self.pos == 0:
                    raise ValueError("no video of the finetune's train list could be decoded "
                                     "(see the skipped-video warnings)") from None
                self.epoch, self.pos, self._batches = self.epoch + 1, 0, None
                self._found_in_epoch = False
                continue
            self.pos = min(self.pos + self.batch, len(self.dataset))
            if items:
                self._found_in_epoch = True
                return items

    def __call__(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        clips = []
        items = self._next_items()
        for item in items:
            c = item["clips"]
            if c.dim() == 5:
                c = c[int(torch.randint(0, c.shape[0], (1,), generator=generator))]
            clips.append(c)
        labels = torch.tensor([int(item["label"]) for item in items], dtype=torch.long)
        return torch.stack(clips), labels

    def state_dict(self) -> dict:
        return {"base_seed": self.base_seed, "epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.base_seed, self.epoch, self.pos = (int(state[k]) for k in
                                                ("base_seed", "epoch", "pos"))
        self._batches, self._found_in_epoch = None, self.pos > 0


def _keep_items(batch: list) -> list[dict]:
    """Collate to a plain list, dropping ``None`` (undecodable) items."""
    return [item for item in batch if item is not None]


def finetune_dataset(backbone: nn.Module, train_set: Sequence[dict | None],
                     test_sets: Mapping[str, Iterable[dict | None]], cfg: EvalConfig,
                     num_classes: int, seed: int = 0,
                     checkpoint: FinetuneCheckpoint | None = None) -> dict[str, float]:
    """The finetune protocol on real datasets: train on ``train_set`` items (see
    :class:`DatasetBatches`), test on eval-mode items (``K`` clips each, scores averaged).
    ``checkpoint``: see :func:`train_classifier`."""
    if cfg.finetune_steps < 1:
        raise ValueError("finetune needs cfg.finetune_steps >= 1 (0 means: do not call it)")
    device = resolve_device(cfg.device)
    generator = torch.Generator().manual_seed(int(seed))
    sampler = DatasetBatches(train_set, cfg, generator)
    out = {}
    with cpu_threads(cfg.threads):
        model, head = train_classifier(backbone, num_classes, sampler, cfg, generator, device,
                                       checkpoint)
        for name, test_set in test_sets.items():
            labels: list[int] = []
            scores = multi_clip_scores(model, head, item_clip_batches(test_set, cfg.batch_size,
                                                                      labels), device,
                                       cfg.amp_dtype)
            out[name] = top1(scores, torch.tensor(labels, dtype=torch.long))
    return out
