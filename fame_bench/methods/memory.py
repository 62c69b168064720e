"""The two stores of negatives: MoCo's key :class:`Queue` and VTHCL's per-instance
:class:`MemoryBank`, each an ``nn.Module`` whose buffers travel in the method's ``state_dict``.

Both start from unit vectors drawn from the given generator (``(rows, D)``, L2-normalised), so a
method's initial state is a function of its seed only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _unit_rows(rows: int, dim: int, generator: torch.Generator | None) -> torch.Tensor:
    return F.normalize(torch.randn(rows, dim, generator=generator), dim=1)


class Queue(nn.Module):
    """A ring buffer of ``size`` keys ``entries (K, D)``: each push replaces the oldest ones.

    ``ptr`` is the row the next push starts at. A push of ``n`` keys needs ``K % n == 0`` so a
    push never wraps mid-way (MoCo's convention).
    """

    def __init__(self, size: int, dim: int, generator: torch.Generator | None = None):
        super().__init__()
        self.register_buffer("entries", _unit_rows(size, dim, generator))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return self.entries.shape[0]

    def check_push(self, n: int) -> None:
        """Raise a clear ``ValueError`` unless pushes of ``n`` keys fit the queue evenly."""
        if len(self) % n:
            raise ValueError(f"queue size K={len(self)} is not divisible by the {n} keys "
                             f"enqueued per step")

    @torch.no_grad()
    def push(self, keys: torch.Tensor) -> None:
        """Replace the oldest ``len(keys)`` entries by ``keys (n, D)`` (gathered from all ranks)."""
        n = keys.shape[0]
        self.check_push(n)
        ptr = int(self.ptr)
        self.entries[ptr:ptr + n] = keys.to(self.entries.dtype)
        self.ptr.fill_((ptr + n) % len(self))


class MemoryBank(nn.Module):
    """One unit vector per training instance, ``entries (N, D)``, moved towards each new
    embedding: ``entries[i] ← normalise(m·entries[i] + (1 − m)·v_i)``."""

    def __init__(self, size: int, dim: int, momentum: float,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("entries", _unit_rows(size, dim, generator))

    def __len__(self) -> int:
        return self.entries.shape[0]

    @torch.no_grad()
    def update(self, index: torch.Tensor, values: torch.Tensor) -> None:
        """Move rows ``index (n,)`` towards ``values (n, D)`` (both gathered from all ranks)."""
        m = self.momentum
        values = values.to(self.entries.dtype)
        self.entries[index] = F.normalize(m * self.entries[index] + (1 - m) * values, dim=1)


def rename_legacy_keys(module: nn.Module, state_dict: dict, prefix: str, *_args) -> None:
    """``load_state_dict`` pre-hook: a checkpoint written before the buffers moved into
    :class:`Queue` / :class:`MemoryBank` stores them under their old names; each old key found is
    renamed to its new key(s) (``module.legacy_state_keys()``), so such checkpoints still load."""
    for old, new_keys in module.legacy_state_keys().items():
        if prefix + old in state_dict:
            value = state_dict.pop(prefix + old)
            for new in new_keys:
                state_dict.setdefault(prefix + new, value)
