"""Writing a file whole or not at all: readers see the old file or the new one, never half.

The one way the package replaces a file (run records, checkpoints, the synthetic cache, report
data): write a uniquely named temporary file next to it, then ``os.replace`` it into place, so
two writers never share a temporary file and a crash leaves at most a ``*.tmp`` behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | Path, content: str | bytes | Callable[[BinaryIO], object]) -> Path:
    """Replace ``path`` with ``content``: text (UTF-8), bytes, or a function that writes to the
    binary file it is given (``lambda f: torch.save(state, f)``); the folder is made if
    missing. The temporary file
    ``<name>.<random>.tmp`` lies in the same folder and is removed on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(content, str):
                f.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                f.write(content)
            else:
                content(f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
