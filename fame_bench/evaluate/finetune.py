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
from fame_bench.evaluate.linear import as_labels, lr_at, top1
from fame_bench.progress import StageProgress
from fame_bench.runtime import cpu_threads, resolve_device

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


def tensor_batch_sampler(videos: torch.Tensor, labels: torch.Tensor, cfg: EvalConfig
                         ) -> BatchSampler:
    """Batches of one random clip from each of ``finetune_batch_size`` videos, drawn epoch by
    epoch without replacement (a fresh permutation each epoch)."""
    state = {"order": torch.empty(0, dtype=torch.long), "pos": 0}

    def sample(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        picked = []
        need = cfg.finetune_batch_size
        while need > 0:
            if state["pos"] >= len(state["order"]):
                state["order"] = torch.randperm(videos.shape[0], generator=generator)
                state["pos"] = 0
            take = state["order"][state["pos"]:state["pos"] + need]
            state["pos"] += len(take)
            need -= len(take)
            picked.append(take)
        idx = torch.cat(picked)
        frames = random_clip_indices(videos.shape[2], cfg.clip_len, cfg.stride, (len(idx),),
                                     generator)
        return gather_clips(videos[idx], frames), labels[idx]

    return sample


def train_classifier(backbone: nn.Module, num_classes: int, sample_batch: BatchSampler,
                     cfg: EvalConfig, generator: torch.Generator, device: torch.device
                     ) -> tuple[nn.Module, nn.Linear]:
    """Copy ``backbone``, add a linear head, train both for ``cfg.finetune_steps`` steps."""
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
    total = cfg.finetune_steps
    milestones = tuple(m * total for m in cfg.finetune_milestones)
    clips, labels = first_clips, first_labels
    progress = StageProgress(total, "finetune")
    for step in range(total):
        if step > 0:
            clips, labels = sample_batch(generator)
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
        feats = dropout(model(x), cfg.finetune_dropout, generator)
        loss = F.cross_entropy(head(feats), labels.to(device))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"finetune loss is {loss.item()} at step {step}: lower "
                                     "finetune_lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        progress.update()
    progress.close()
    model.eval()
    head.eval()
    return model, head


@torch.no_grad()
def multi_clip_scores(model: nn.Module, head: nn.Module, clip_batches: Iterable[torch.Tensor],
                      device: torch.device) -> torch.Tensor:
    """Video scores ``(N, C)``: softmax over classes averaged over each video's clips.
    ``clip_batches`` yields ``(b, K, C, T, H, W)``."""
    scores = []
    for batch in clip_batches:
        b, k = batch.shape[:2]
        x = to_unit_float(batch.reshape(b * k, *batch.shape[2:]).to(device))
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
             seed: int = 0, num_classes: int | None = None) -> dict[str, float]:
    """Finetune a copy of ``backbone`` on ``train_videos (N, C, T, H, W)`` (uint8 or [0, 1]) and
    return top-1 per test set (``test[name] = (videos, labels)``), ``cfg.num_clips`` clips per
    video, scores averaged. ``backbone`` itself is left untouched."""
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
    sampler = tensor_batch_sampler(train_videos, train_labels, cfg)
    with cpu_threads(cfg.threads):
        model, head = train_classifier(backbone, num_classes, sampler, cfg, generator, device)
        return {name: top1(multi_clip_scores(model, head, video_clip_batches(videos, cfg),
                                             device), labels)
                for name, (videos, labels) in tests.items()}


def dataset_batch_sampler(dataset: Sequence[dict | None], cfg: EvalConfig,
                          generator: torch.Generator) -> BatchSampler:
    """Batches from a dataset of ``{"clips": (K, C, T, H, W) or (C, T, H, W), "label"}`` items
    (e.g. ``build_dataset(..., mode="pretrain")``: random crops and flips), shuffled epoch by
    epoch, one random clip among each item's ``K``; ``None`` items (undecodable videos) dropped.
    """
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=cfg.finetune_batch_size, num_workers=cfg.num_workers,
        sampler=torch.utils.data.RandomSampler(
            dataset, generator=torch.Generator().manual_seed(
                int(torch.randint(0, 2**62, (1,), generator=generator)))),
        collate_fn=_keep_items, drop_last=len(dataset) >= cfg.finetune_batch_size)
    state = {"it": iter(loader)}

    def sample(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        items = []
        while not items:
            try:
                items = next(state["it"])
            except StopIteration:
                state["it"] = iter(loader)
        clips = []
        for item in items:
            c = item["clips"]
            if c.dim() == 5:
                c = c[int(torch.randint(0, c.shape[0], (1,), generator=generator))]
            clips.append(c)
        labels = torch.tensor([int(item["label"]) for item in items], dtype=torch.long)
        return torch.stack(clips), labels

    return sample


def _keep_items(batch: list) -> list[dict]:
    """Collate to a plain list, dropping ``None`` (undecodable) items."""
    return [item for item in batch if item is not None]


def finetune_dataset(backbone: nn.Module, train_set: Sequence[dict | None],
                     test_sets: Mapping[str, Iterable[dict | None]], cfg: EvalConfig,
                     num_classes: int, seed: int = 0) -> dict[str, float]:
    """The finetune protocol on real datasets: train on ``train_set`` items (see
    ``dataset_batch_sampler``), test on eval-mode items (``K`` clips each, scores averaged)."""
    if cfg.finetune_steps < 1:
        raise ValueError("finetune needs cfg.finetune_steps >= 1 (0 means: do not call it)")
    device = resolve_device(cfg.device)
    generator = torch.Generator().manual_seed(int(seed))
    sampler = dataset_batch_sampler(train_set, cfg, generator)
    out = {}
    with cpu_threads(cfg.threads):
        model, head = train_classifier(backbone, num_classes, sampler, cfg, generator, device)
        for name, test_set in test_sets.items():
            labels: list[int] = []
            scores = multi_clip_scores(model, head, item_clip_batches(test_set, cfg.batch_size,
                                                                      labels), device)
            out[name] = top1(scores, torch.tensor(labels, dtype=torch.long))
    return out
