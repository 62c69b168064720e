"""Projection heads and the single-device Shuffle-BN substitute (SplitBatchNorm)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MLPHead(nn.Module):
    """MoCo v2's projection: ``Linear(d, d) → ReLU → Linear(d, out)``, output L2-normalised.

    Input ``(B, d)`` pooled features, output ``(B, out_dim)`` unit vectors.
    """

    def __init__(self, in_dim: int, out_dim: int = 128, hidden_dim: int | None = None):
        super().__init__()
        hidden_dim = hidden_dim or in_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=1)


class SplitBatchNorm3d(nn.BatchNorm3d):
    """BatchNorm whose training statistics are computed per group of ``num_splits`` sub-batches.

    The single-device substitute for MoCo's Shuffle-BN (the MoCo CIFAR demo's SplitBatchNorm):
    the key encoder's batch statistics then come from a subset of the (shuffled) batch, so a
    query cannot find its key through shared BN statistics. Running statistics are the mean over
    the groups, as in the demo. Same parameters and buffers as ``nn.BatchNorm3d``.
    """

    def __init__(self, num_features: int, num_splits: int = 2, **kw):
        super().__init__(num_features, **kw)
        self.num_splits = num_splits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.num_splits == 1:
            return super().forward(x)
        n, c = x.shape[:2]
        if n % self.num_splits:
            raise ValueError(
                f"SplitBatchNorm: batch {n} is not divisible by bn_splits={self.num_splits}"
            )
        s = self.num_splits
        running_mean = self.running_mean.repeat(s)
        running_var = self.running_var.repeat(s)
        grouped = x.reshape(n // s, c * s, *x.shape[2:])
        out = F.batch_norm(
            grouped, running_mean, running_var, self.weight.repeat(s), self.bias.repeat(s),
            True, self.momentum, self.eps,
        ).reshape_as(x)
        with torch.no_grad():
            self.running_mean.copy_(running_mean.view(s, c).mean(dim=0))
            self.running_var.copy_(running_var.view(s, c).mean(dim=0))
            self.num_batches_tracked += 1
        return out


def convert_split_bn(module: nn.Module, num_splits: int) -> nn.Module:
    """Replace every ``BatchNorm3d`` in ``module`` by a ``SplitBatchNorm3d`` (weights kept)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm3d) and not isinstance(child, SplitBatchNorm3d):
            split = SplitBatchNorm3d(child.num_features, num_splits, eps=child.eps,
                                     momentum=child.momentum)
            split.load_state_dict(child.state_dict())
            split.to(child.weight.device)
            setattr(module, name, split)
        else:
            convert_split_bn(child, num_splits)
    return module
