"""Checkpoints: written atomically, verified (every member's CRC) and loaded with
``weights_only=True``; a file that fails either is a :class:`CheckpointError` naming it.

A checkpoint holds the method's ``state_dict`` (encoders, queue, memory banks), the optimiser and
GradScaler states, the step, the config (a plain dict) and the global torch RNG state. Batches and
augmentations draw from generators derived from ``(seed, step)`` (``batches.step_generator``), so
these states are enough to continue a killed run to the same final weights.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import torch

from fame_bench.atomic import write_atomic

CHECKPOINT = "checkpoint.pt"
#: What every checkpoint written by the training loop holds.
CHECKPOINT_KEYS = ("method", "optimizer", "scaler", "step", "config", "rng")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted: empty, truncated, corrupt or not ours."""


def save_checkpoint(run_dir: str | Path, state: dict) -> Path:
    """Write ``run_dir/checkpoint.pt`` via a temporary file and ``os.replace`` (never half)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CHECKPOINT
    return write_atomic(path, lambda f: torch.save(state, f))


def load_checkpoint(run_dir: str | Path, map_location="cpu") -> dict | None:
    """The checkpoint dict of ``run_dir``, or ``None`` when there is none.

    The archive's CRCs are checked before anything is unpickled, so a flipped byte in the tensor
    data is refused rather than trained on; an unreadable file is a :class:`CheckpointError`.
    """
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    advice = ("delete it to train the run again from step 0, or restore an intact copy; it is "
              "never loaded as it is")
    verify_archive(path, advice)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # any failure to unpickle means the file is unusable
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(err).__name__}); "
                              f"{advice}") from err
    missing = ([k for k in CHECKPOINT_KEYS if k not in state] if isinstance(state, dict)
               else list(CHECKPOINT_KEYS))
    if missing:
        raise CheckpointError(f"{path} is not a fame-bench checkpoint (no {missing}); {advice}")
    return state


def verify_archive(path: Path, advice: str) -> None:
    """Refuse a file that is not an intact zip archive (``torch.save``'s format): a member whose
    CRC does not match its bytes, a truncated or empty file, garbage."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError) as err:
        raise CheckpointError(f"{path} is not a readable checkpoint (an empty, truncated or "
                              f"foreign file: {err}); {advice}") from err
    if bad is not None:
        raise CheckpointError(f"{path} is corrupt: its member {bad!r} fails the CRC check; "
                              f"{advice}")
