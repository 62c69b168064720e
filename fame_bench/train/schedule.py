"""Learning-rate schedules, one copy for pretraining and the evaluation protocols."""

from __future__ import annotations

import math


def cosine_lr(step: int, total_steps: int, base_lr: float, warmup_steps: int = 0) -> float:
    """Linear warm-up over ``warmup_steps`` (``base_lr * (step + 1) / warmup_steps``), then
    cosine decay from ``base_lr`` to 0 over the remaining steps (the schedule of MoCo v2;
    SGDR without restarts)."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def step_lr(step: int, base_lr: float, milestones: tuple[float, ...]) -> float:
    """``base_lr`` × 0.1 at each milestone (in steps) passed."""
    return base_lr * 0.1 ** sum(step >= m for m in milestones)
