"""Where the package caches what it can make again (rendered synthetic splits, compiled kernels).

``$FAME_BENCH_CACHE``, else ``$XDG_CACHE_HOME/fame_bench``, else ``~/.cache/fame_bench``: one
place per user, whatever directory a command is started from.
"""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """The cache folder, read from the environment at each call (not made here)."""
    if os.environ.get("FAME_BENCH_CACHE"):
        return Path(os.environ["FAME_BENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fame_bench"
