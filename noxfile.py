"""Nox sessions for fame-bench.

Every session runs in ONE shared virtual environment (``.nox/shared``): torch is installed once,
and a session re-installs only when ``pyproject.toml`` changes. Sessions therefore use
``venv_backend="none"`` and call that environment's interpreter explicitly.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
ENV = ROOT / ".nox" / "shared"
PY = ENV / "bin" / "python"
STAMP = ENV / ".installed-pyproject-sha256"

nox.options.sessions = ["lint", "tests"]
nox.options.error_on_external_run = False


def _env(session: nox.Session) -> str:
    """Create the shared environment once; reinstall only when pyproject.toml changed."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not PY.exists():
        session.run(sys.executable, "-m", "venv", str(ENV), external=True)
    if not STAMP.exists() or STAMP.read_text() != digest:
        session.run(str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip", external=True)
        session.run(str(PY), "-m", "pip", "install", "-q", "-e", ".[test,dev]", external=True)
        STAMP.write_text(digest)
    return str(PY)


def _py(session: nox.Session, *args: str, **kwargs) -> None:
    env = {"PYTHONHASHSEED": "0", **kwargs.pop("env", {})}
    session.run(_env(session), *args, external=True, env=env, **kwargs)


def _fame(session: nox.Session, *args: str) -> None:
    _py(session, "-m", "fame_bench.cli", *args, *session.posargs)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff: lint and import order."""
    _py(session, "-m", "ruff", "check", ".")


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The whole pytest suite (equivalence, behaviour, CPU benchmarks skipped)."""
    workers = os.environ.get("PYTEST_ADDOPTS", "")
    _py(session, "-m", "pytest", "suites", "-q", *session.posargs, env={"PYTEST_ADDOPTS": workers})


@nox.session(venv_backend="none")
def benchmarks(session: nox.Session) -> None:
    """pytest-benchmark timings (FAME vs the bare merge, NumPy vs PyTorch)."""
    _py(session, "-m", "pytest", "suites/benchmarks", "--benchmark-only", "-q", *session.posargs)
