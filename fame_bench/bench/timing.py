"""Interleaved timing: medians of several callables measured in turn, in one run.

On a shared machine absolute times drift with the load; timing the candidates in turn, repeat
after repeat, lets their ratio stay meaningful. On a CUDA device each call is timed with CUDA
events recorded around it (the device's time from the first queued kernel to the last, launch
gaps included), after a synchronisation so that no earlier work is counted.
"""

from __future__ import annotations

import contextlib
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator

import torch


def synchronise(device: str | torch.device) -> None:
    """Wait for queued kernels on a CUDA device (no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _time_call_ms(call: Callable[[], object], device: str | torch.device) -> float:
    if torch.device(device).type == "cuda":
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        synchronise(device)
        start.record()
        call()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    start_s = time.perf_counter()
    call()
    return (time.perf_counter() - start_s) * 1e3


def interleaved_medians(
    candidates: dict[str, Callable[[], object]],
    repeats: int,
    device: str | torch.device = "cpu",
    warmup: int = 1,
) -> dict[str, float]:
    """Median time in ms of each candidate, run in turn ``repeats`` times after ``warmup`` rounds
    (wall time on the CPU, CUDA events on a CUDA device)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    for _ in range(warmup):
        for call in candidates.values():
            call()
        synchronise(device)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, call in candidates.items():
            times[name].append(_time_call_ms(call, device))
    return {name: statistics.median(values) for name, values in times.items()}


class OverBudget(Exception):
    """A measurement ran past the time it was given (raised by ``time_limit``)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``OverBudget`` in the block once ``seconds`` have passed (SIGALRM: main thread of a
    POSIX process only; elsewhere the block runs unguarded)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return
    if seconds <= 0:
        raise OverBudget("no time left")

    def _expire(signum, frame):
        raise OverBudget(f"stopped after its {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
