"""The trained method and backbone of a run directory, rebuilt from its checkpoint's config."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from fame_bench.methods.base import Method
from fame_bench.methods.registry import build_method
from fame_bench.train.checkpoint import CHECKPOINT, load_checkpoint
from fame_bench.train.config import PretrainConfig


def load_method(run_dir: str | Path, map_location="cpu") -> Method:
    """The trained method of ``run_dir`` (eval mode)."""
    state = load_checkpoint(run_dir, map_location)
    if state is None:
        raise FileNotFoundError(f"no {CHECKPOINT} in {run_dir}")
    cfg = PretrainConfig.from_dict(state["config"])
    method = build_method(cfg, state.get("num_instances", 0), state.get("num_classes", 10))
    method.load_state_dict(state["method"])
    return method.to(map_location).eval()


def load_backbone(run_dir: str | Path, map_location="cpu") -> nn.Module:
    """The backbone evaluated downstream (MoCo's query encoder, VTHCL's slow encoder), eval mode.

    Input raw float clips in [0, 1] ``(B, 3, T, H, W)``; ``forward`` gives pooled res5 features.
    """
    return load_method(run_dir, map_location).eval_backbone().eval()
