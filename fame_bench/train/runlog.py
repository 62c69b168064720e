"""A run's log file: everything the ``fame_bench`` loggers say while the run goes on.

``run_log(path)`` attaches a ``logging.FileHandler`` (append: a resumed run continues the file)
to the ``fame_bench`` logger for the block, at INFO level, and detaches it afterwards; the
logger's own level is lowered to INFO for the block only if it was higher (nothing else changes,
so a caller's logging setup stays as it was). Skipped videos (``fame_bench.data``), progress
lines of long stages and the experiment's steps land there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextmanager
def run_log(path: str | Path) -> Iterator[Path]:
    """Append what ``fame_bench``'s loggers log during the block to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("fame_bench")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()
