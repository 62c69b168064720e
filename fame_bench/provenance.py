"""Which code made a result: the git commit of the package's checkout and whether it was dirty.

One lookup for the run records, the reports and the benchmark pages. Asked of the checkout that
holds this package (not of the process's working folder), 12 hex digits, ``"unknown"`` outside
git or when git does not answer within 10 s.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _git(*args: str, cwd: Path | None) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                          timeout=10, cwd=cwd or _PACKAGE_DIR).stdout


def git_commit(cwd: Path | None = None) -> str:
    """The short (12-digit) commit of HEAD; ``"unknown"`` outside git."""
    try:
        return _git("rev-parse", "--short=12", "HEAD", cwd=cwd).strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_state(cwd: Path | None = None) -> tuple[str, bool | None]:
    """``(commit, dirty)`` of the working tree now (tracked files only);
    ``("unknown", None)`` outside git."""
    commit = git_commit(cwd)
    if commit == "unknown":
        return commit, None
    try:
        status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return commit, bool(status.strip())
