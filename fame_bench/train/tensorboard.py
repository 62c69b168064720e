"""The optional TensorBoard sink of the training loop (``PretrainConfig.tensorboard``): every
numeric column of ``metrics.jsonl`` also as a scalar under ``pretrain/<column>``, event files in
``<run_dir>/tensorboard``. JSON lines stay the record; TensorBoard is a view of them, and its
package is an optional extra (``pip install 'fame-bench[tensorboard]'``).
"""

from __future__ import annotations

from pathlib import Path

TENSORBOARD_DIR = "tensorboard"


def tensorboard_writer(run_dir: Path):
    """A ``SummaryWriter`` into ``run_dir/tensorboard``; without the package a ``ValueError``
    saying how to get it (raised before any step is trained)."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # optional dependency
    except ImportError as err:
        raise ValueError("tensorboard=true needs the optional 'tensorboard' package "
                         "(pip install 'fame-bench[tensorboard]'); it is not installed") from err
    return SummaryWriter(log_dir=str(Path(run_dir) / TENSORBOARD_DIR))


def log_row(writer, row: dict) -> None:
    """The numeric columns of one ``metrics.jsonl`` row as scalars at its ``step``."""
    for key, value in row.items():
        if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
            writer.add_scalar(f"pretrain/{key}", value, row["step"])
