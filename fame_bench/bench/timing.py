"""Interleaved timing: medians of several callables measured in turn, in one run.

On a shared machine absolute times drift with the load; timing the candidates in turn, repeat
after repeat, lets their ratio stay meaningful.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def synchronise(device: str | torch.device) -> None:
    """Wait for queued kernels on a CUDA device (no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_medians(
    candidates: dict[str, Callable[[], object]],
    repeats: int,
    device: str | torch.device = "cpu",
    warmup: int = 1,
) -> dict[str, float]:
    """Median wall time in ms of each candidate, run in turn ``repeats`` times after a warm-up."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    for _ in range(warmup):
        for call in candidates.values():
            call()
        synchronise(device)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, call in candidates.items():
            synchronise(device)
            start = time.perf_counter()
            call()
            synchronise(device)
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}
