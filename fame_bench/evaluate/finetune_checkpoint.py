"""Checkpoints of a finetune in progress, so a killed finetune continues where it stopped.

A checkpoint holds the finetuned network and its head, the optimiser (momentum buffers), the
step, the state of the finetune's generator and of its batch sampler: everything the remaining
steps draw from, so a resumed finetune ends with the same weights, bit for bit on CPU, as one
that was never interrupted. It is written atomically and checked like a pretraining checkpoint
(``fame_bench.train.checkpoint``: CRCs before unpickling, ``weights_only``), and carries a
fingerprint of what it was trained for (backbone weights, configuration, data): a checkpoint of
anything else is refused, never resumed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from fame_bench.train.checkpoint import (
    CHECKPOINT,
    CheckpointError,
    save_checkpoint,
    verify_archive,
)

#: Finetune steps between checkpoints unless told otherwise (``--ckpt-every``; a reproduction's
#: real-data finetune).
DEFAULT_EVERY = 500

KEYS = ("model", "head", "optimizer", "step", "generator", "sampler", "fingerprint")


def fingerprint(settings: dict) -> str:
    """SHA-256 of what a finetune is a finetune of (JSON ``settings``: backbone digest,
    configuration, data, seed): its checkpoint's fingerprint."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


@dataclass
class FinetuneCheckpoint:
    """Where (``directory / checkpoint.pt``) and how often (``every`` steps; 0: only at the
    end of training) a finetune saves itself; ``fingerprint``: what it is a finetune of.
    ``resumed_from``: the step :meth:`load` found (0: none)."""

    directory: Path
    fingerprint: str
    every: int = 0
    resumed_from: int = field(default=0, init=False)

    @property
    def path(self) -> Path:
        return Path(self.directory) / CHECKPOINT

    def due(self, steps_done: int, total: int) -> bool:
        """Whether to save after ``steps_done`` steps of ``total``."""
        return steps_done == total or (self.every > 0 and steps_done % self.every == 0)

    def save(self, state: dict) -> Path:
        return save_checkpoint(self.directory, {**state, "fingerprint": self.fingerprint})

    def load(self) -> dict | None:
        """The saved state, or ``None`` when there is none; a corrupt or foreign file is a
        :class:`CheckpointError` naming it."""
        path = self.path
        if not path.exists():
            return None
        advice = "delete it to finetune again from step 0; it is never loaded as it is"
        verify_archive(path, advice)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # any failure to unpickle means the file is unusable
            raise CheckpointError(f"{path} is not a readable finetune checkpoint "
                                  f"({type(err).__name__}); {advice}") from err
        if not isinstance(state, dict) or any(k not in state for k in KEYS):
            raise CheckpointError(f"{path} is not a finetune checkpoint; {advice}")
        if state["fingerprint"] != self.fingerprint:
            raise CheckpointError(f"{path} is a finetune of another backbone, configuration "
                                  f"or dataset; {advice}")
        self.resumed_from = int(state["step"])
        return state

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
