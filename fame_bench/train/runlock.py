"""One process per run directory: an exclusive ``flock`` on ``<run_dir>/.lock``.

The holder writes its pid, host and start time into the lock file, so a second process can name
it when it refuses. The kernel releases the lock when the holder exits, killed or not, so a lock
file left behind never blocks anyone. Temporary files (``*.tmp``) found in the directory under
the lock were left by a killed writer (every writer holds the lock) and are removed.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK = ".lock"


class RunLockedError(RuntimeError):
    """Another process holds the run directory."""


@contextmanager
def run_lock(run_dir: str | Path) -> Iterator[Path]:
    """Hold ``run_dir`` (created if needed) exclusively for the block; refuse at once with a
    :class:`RunLockedError` naming the holder when another process has it."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown"
            raise RunLockedError(
                f"{run_dir} is in use by another process ({holder}); wait for it to finish or "
                f"use another directory"
            ) from None
        holder = (f"pid {os.getpid()} on {socket.gethostname()}, since "
                  f"{time.strftime('%Y-%m-%d %H:%M:%S')}").encode()
        os.pwrite(fd, holder, 0)  # then cut the rest: a reader never sees an empty file
        os.ftruncate(fd, len(holder))
        remove_stale_temporaries(run_dir)
        yield run_dir
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete the ``*.tmp`` files of ``run_dir`` (call only while holding its lock)."""
    stale = sorted(run_dir.glob("*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
