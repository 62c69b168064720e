"""Supervised training from scratch: backbone + linear classifier, cross-entropy on labels.

The reference row every table is read against. Same colour augmentation as the contrastive
methods, no flips. ``forward({"clips": (B, C, T, H, W), "label": (B,)}) -> (loss, stats)``.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from fame_bench.data.view_augment import ViewAugment
from fame_bench.methods.base import BackboneFactory, Method


class Supervised(Method):
    batch_keys = ("clips", "label")
    batch_kind = "clip"
    trains_on_labels = True

    def __init__(self, backbone: nn.Module, num_classes: int = 10, dropout: float = 0.0,
                 view_augment: ViewAugment | None = None):
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(self.backbone.out_dim, num_classes)
        self.view_augment = view_augment or ViewAugment()

    @classmethod
    def from_config(cls, cfg, backbone_factory: BackboneFactory, *, num_instances: int = 0,
                    num_classes: int = 10, generator: torch.Generator | None = None
                    ) -> Supervised:
        # training from labels follows the FAME code's finetune augmentation, which has no blur
        view_augment = dataclasses.replace(ViewAugment.from_config(cfg), blur_p=0.0)
        return cls(backbone_factory(), num_classes, view_augment=view_augment)

    def eval_backbone(self) -> nn.Module:
        return self.backbone

    def forward(self, batch: dict, generator: torch.Generator | None = None):
        self.check_batch(batch)
        clips = self.view_augment(batch["clips"], generator)
        logits = self.classifier(self.dropout(self.backbone(clips)))
        labels = batch["label"].to(logits.device)
        loss = F.cross_entropy(logits.float(), labels)
        acc = (logits.argmax(dim=1) == labels).float().mean()
        return loss, {"accuracy": float(acc)}
