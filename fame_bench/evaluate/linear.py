"""Linear probe on frozen features: one linear layer, SGD on CPU, multi-clip score averaging.

Protocol (``docs/synthetic_benchmark.md``): the backbone is frozen with BN in eval mode
(``features.extract_features``); a linear layer is trained on the pooled res5 features of every
training clip (each clip is a sample carrying its video's label); at test time the softmax scores
of a video's clips are averaged and the top-1 class is compared with the label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from fame_bench.evaluate.config import EvalConfig
from fame_bench.progress import StageProgress
from fame_bench.train.schedule import cosine_lr, step_lr


@dataclass(frozen=True)
class LinearClassifier:
    """``scores = softmax(((x - mean) / std) @ weight.T + bias)``; weight ``(num_classes, D)``."""

    weight: torch.Tensor
    bias: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def logits(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats (..., D)`` → logits ``(..., num_classes)``."""
        return ((feats - self.mean) / self.std) @ self.weight.T + self.bias


def as_clip_feats(feats: torch.Tensor, what: str) -> torch.Tensor:
    """``(N, D)`` or ``(N, K, D)`` finite float features → ``(N, K, D)`` float32 on CPU."""
    if not isinstance(feats, torch.Tensor) or feats.dim() not in (2, 3):
        shape = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats)
        raise ValueError(f"{what} must be a tensor (N, D) or (N, num_clips, D), got {shape}")
    if not feats.is_floating_point():
        raise ValueError(f"{what} must be floating point, got {feats.dtype}")
    if feats.shape[0] == 0:
        raise ValueError(f"{what} is empty")
    if not torch.isfinite(feats).all():
        raise ValueError(f"{what} contains NaN or Inf")
    feats = feats.detach().float().cpu()
    return feats[:, None, :] if feats.dim() == 2 else feats


def as_labels(labels: torch.Tensor, n: int, what: str) -> torch.Tensor:
    """Integer labels ``(n,)``, non-negative, as int64 on CPU."""
    labels = torch.as_tensor(labels).detach().cpu()
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(f"{what} must be ({n},) to match the features, got "
                         f"{tuple(labels.shape)}")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"{what} must be integer class indices, got {labels.dtype}")
    if labels.numel() and labels.min() < 0:
        raise ValueError(f"{what} must be >= 0, got min {labels.min().item()}")
    return labels.long()


def lr_at(step: int, total_steps: int, base_lr: float, schedule: str,
          milestones: tuple[float, ...]) -> float:
    """Cosine decay to 0 over ``total_steps``, or ×0.1 at each milestone (in steps)."""
    if schedule == "cosine":
        return cosine_lr(step, total_steps, base_lr)
    return step_lr(step, base_lr, milestones)


def train_linear(train_feats: torch.Tensor, train_labels: torch.Tensor, cfg: EvalConfig,
                 num_classes: int, generator: torch.Generator) -> LinearClassifier:
    """Fit the probe on every training clip: SGD with momentum, cross-entropy, weight decay."""
    feats = as_clip_feats(train_feats, "train_feats")
    labels = as_labels(train_labels, feats.shape[0], "train_labels")
    if labels.max() >= num_classes:
        raise ValueError(f"train_labels max {labels.max().item()} >= num_classes {num_classes}")
    n, k, d = feats.shape
    x = feats.reshape(n * k, d)
    y = labels.repeat_interleave(k)
    if cfg.linear_standardize:
        mean = x.mean(0)
        # constant features (dead units) keep std 1 so they stay 0 after centring, never NaN
        std = x.std(0, unbiased=False).clamp_min(1e-6)
        std = torch.where(std > 1e-6, std, torch.ones_like(std))
    else:
        mean, std = torch.zeros(d), torch.ones(d)
    x = (x - mean) / std

    weight = (torch.randn(num_classes, d, generator=generator) * 0.01).requires_grad_()
    bias = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.SGD([weight, bias], lr=cfg.linear_lr, momentum=cfg.linear_momentum,
                          weight_decay=cfg.linear_wd)
    batch = x.shape[0] if cfg.linear_batch_size == 0 else min(cfg.linear_batch_size, x.shape[0])
    per_epoch = math.ceil(x.shape[0] / batch)
    total = cfg.linear_epochs * per_epoch
    milestones = tuple(m * per_epoch for m in cfg.linear_milestones)
    step = 0
    progress = StageProgress(cfg.linear_epochs, "linear probe", unit="epochs")
    for _ in range(cfg.linear_epochs):
        order = torch.randperm(x.shape[0], generator=generator)
        for lo in range(0, x.shape[0], batch):
            idx = order[lo:lo + batch]
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, cfg.linear_lr, cfg.linear_schedule, milestones)
            loss = F.cross_entropy(x[idx] @ weight.T + bias, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        progress.update()
    progress.close()
    if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
        raise FloatingPointError("linear probe diverged (non-finite weights): lower linear_lr "
                                 "or enable linear_standardize")
    return LinearClassifier(weight.detach(), bias.detach(), mean, std)


def video_scores(logits: torch.Tensor) -> torch.Tensor:
    """Per-clip logits ``(N, K, C)`` → video scores ``(N, C)``: softmax averaged over clips."""
    return logits.softmax(dim=-1).mean(dim=1)


def top1(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose highest score is at the label (ties → the lowest class index)."""
    return (scores.argmax(dim=-1) == labels).float().mean().item()


def linear_probe(train_feats: torch.Tensor, train_labels: torch.Tensor,
                 test: Mapping[str, tuple[torch.Tensor, torch.Tensor]], cfg: EvalConfig,
                 seed: int | torch.Generator = 0, num_classes: int | None = None
                 ) -> dict[str, float]:
    """Train a linear probe on ``train_feats`` and return top-1 per test set.

    ``train_feats`` and each test set's features are ``(N, D)`` or ``(N, num_clips, D)``; labels
    ``(N,)`` int. ``num_classes`` defaults to 1 + the largest label seen anywhere. Deterministic
    for a given ``seed`` (an int or a CPU ``torch.Generator``).
    """
    generator = seed if isinstance(seed, torch.Generator) else \
        torch.Generator().manual_seed(int(seed))
    tests = {}
    for name, (feats, labels) in test.items():
        feats = as_clip_feats(feats, f"test[{name!r}] features")
        tests[name] = (feats, as_labels(labels, feats.shape[0], f"test[{name!r}] labels"))
    if num_classes is None:
        num_classes = 1 + max([int(torch.as_tensor(train_labels).max())]
                              + [int(lab.max()) for _, lab in tests.values()])
    probe = train_linear(train_feats, train_labels, cfg, num_classes, generator)
    out = {}
    for name, (feats, labels) in tests.items():
        if feats.shape[-1] != probe.weight.shape[1]:
            raise ValueError(f"test[{name!r}] features have D={feats.shape[-1]}, the probe was "
                             f"trained on D={probe.weight.shape[1]}")
        out[name] = top1(video_scores(probe.logits(feats)), labels)
    return out
