"""The pretraining methods by name (``METHODS``) and the one way to build one from a config.

Each method builds itself from a pretraining config (``Method.from_config``) and declares the
batch it trains on (``Method.batch_kind``); the training code asks the registry instead of
switching on the method's name.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from fame_bench.methods.base import BackboneFactory, Method
from fame_bench.methods.moco import MoCo
from fame_bench.methods.supervised import Supervised
from fame_bench.methods.vthcl import VTHCL
from fame_bench.models.backbones import build_backbone

METHODS: dict[str, type[Method]] = {"moco": MoCo, "vthcl": VTHCL, "supervised": Supervised}


def method_class(name: str) -> type[Method]:
    """The class registered as ``name``; a clear ``ValueError`` for an unknown name."""
    if name not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {name!r}")
    return METHODS[name]


def _compiled(factory: BackboneFactory) -> nn.Module:
    backbone = factory()
    backbone.compile()  # in place: the state_dict keys stay those of the plain module
    return backbone


def build_method(cfg, num_instances: int = 0, num_classes: int = 10,
                 generator: torch.Generator | None = None) -> Method:
    """The method ``cfg`` describes, its encoders built from ``cfg.backbone`` (the same
    construction in training and when loading a checkpoint)."""
    factory = functools.partial(build_backbone, cfg.backbone)
    if cfg.compile_backbone:
        factory = functools.partial(_compiled, factory)
    return method_class(cfg.method).from_config(cfg, factory, num_instances=num_instances,
                                                num_classes=num_classes, generator=generator)
