"""Nox sessions for fame-bench.

Every session runs in ONE shared virtual environment (``.nox/shared``): torch is installed once,
and a session re-installs only when ``pyproject.toml`` changes. Sessions therefore use
``venv_backend="none"`` and call that environment's interpreter explicitly.
"""

from __future__ import annotations

import hashlib
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
    # PASSIVE: on a busy 2-core machine OpenMP's spin-waiting made FAME's many small ops
    # 12-25x slower (measured); it must be set before torch is imported, hence here.
    env = {"PYTHONHASHSEED": "0", "OMP_WAIT_POLICY": "PASSIVE", **kwargs.pop("env", {})}
    session.run(_env(session), *args, external=True, env=env, **kwargs)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff: lint and import order."""
    _py(session, "-m", "ruff", "check", ".")


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The whole pytest suite (equivalence, behaviour, CPU benchmarks skipped)."""
    _py(session, "-m", "pytest", "suites", "-q", *session.posargs)


#: pytest-benchmark's saved runs (gitignored); `-- --benchmark-storage DIR` picks another folder.
BENCHMARK_STORAGE = ROOT / ".benchmarks"


@nox.session(venv_backend="none")
def benchmarks(session: nox.Session) -> None:
    """pytest-benchmark timings (mask variants and BE, input dtypes, batch sizes, colour jitter,
    one training step per method, FAME vs the bare merge, NumPy vs PyTorch), saved as JSON under
    .benchmarks/ for `benchmarks_compare`."""
    _py(session, "-m", "pytest", "suites/benchmarks", "--benchmark-only", "-q",
        "--benchmark-autosave", *session.posargs)


@nox.session(venv_backend="none")
def benchmarks_compare(session: nox.Session) -> None:
    """The benchmarks again against the latest saved run (`nox -s benchmarks`); fails when a
    median is more than 15 % slower. Nothing is saved."""
    custom = any(arg.startswith("--benchmark-storage") for arg in session.posargs)
    if not custom and not list(BENCHMARK_STORAGE.glob("*/*.json")):
        session.error(f"no saved benchmark run under {BENCHMARK_STORAGE}: run "
                      "`nox -s benchmarks` first")
    _py(session, "-m", "pytest", "suites/benchmarks", "--benchmark-only", "-q",
        "--benchmark-compare", "--benchmark-compare-fail=median:15%", *session.posargs)


# --- reports regenerated from measurements (each writes reports/<name>.md) ---


@nox.session(venv_backend="none")
def augmentation_cost(session: nox.Session) -> None:
    """FAME vs the bare merge, NumPy vs PyTorch, on the CPU (GPU rows: device_check)."""
    _py(session, "-m", "fame_bench.bench.augmentation_cost", *session.posargs)


@nox.session(venv_backend="none")
def gallery(session: nox.Session) -> None:
    """PNG of one synthetic clip per class with its ground-truth mask."""
    _py(session, "-m", "fame_bench.data.gallery", *session.posargs)


@nox.session(venv_backend="none")
def mask_quality(session: nox.Session) -> None:
    """IoU of each FAME mask variant against the synthetic ground truth."""
    _py(session, "-m", "fame_bench.bench.mask_quality", *session.posargs)


@nox.session(venv_backend="none")
def data_throughput(session: nox.Session) -> None:
    """Clips/s of decoding + sampling + transforms on this machine."""
    _py(session, "-m", "fame_bench.bench.data_throughput", *session.posargs)


@nox.session(venv_backend="none")
def training_throughput(session: nox.Session) -> None:
    """Clips/s per method and backbone, and FAME's share of a training step."""
    _py(session, "-m", "fame_bench.bench.training_throughput", *session.posargs)


@nox.session(venv_backend="none")
def device_check(session: nox.Session) -> None:
    """On a CUDA machine (8 min): CUDA tests, FAME's cost, throughput; writes the GPU rows.
    Without CUDA it says so and exits 0; `-- --dry-run` runs it at tiny sizes on the CPU."""
    _py(session, "-m", "fame_bench.bench.device_check", *session.posargs)


# --- paper tables (default preset: cpu; pass e.g. `-- --preset ci`) ---

TABLES = ["table1", "table2", "table4", "table5", "vthcl"]


def _reproduce(session: nox.Session, table: str) -> None:
    _py(session, "-m", "fame_bench.cli", "reproduce", table, *session.posargs)


@nox.session(venv_backend="none")
def reproduce_table1(session: nox.Session) -> None:
    """FAME's β ablation and FAME on both branches, against MoCo."""
    _reproduce(session, "table1")


@nox.session(venv_backend="none")
def reproduce_table2(session: nox.Session) -> None:
    """Diving48 stand-in: random init, MoCo, BE, FAME on the background-free variant."""
    _reproduce(session, "table2")


@nox.session(venv_backend="none")
def reproduce_table4(session: nox.Session) -> None:
    """Mask variants Gauss, Seed, Grid, FAME, with their mask IoU."""
    _reproduce(session, "table4")


@nox.session(venv_backend="none")
def reproduce_table5(session: nox.Session) -> None:
    """Supervised, MoCo, BE, FAME, VTHCL: linear probe and finetune."""
    _reproduce(session, "table5")


@nox.session(venv_backend="none")
def reproduce_vthcl(session: nox.Session) -> None:
    """VTHCL and its ablations (tempo ratio α, hierarchy levels)."""
    _reproduce(session, "vthcl")


@nox.session(venv_backend="none")
def reproduce_all(session: nox.Session) -> None:
    """Every table above, then the index reports/README.md."""
    _py(session, "-m", "fame_bench.cli", "reproduce", "all", *session.posargs)


@nox.session(venv_backend="none")
def gates(session: nox.Session) -> None:
    """CI regression gates against suites/baselines.json (ci preset, fixed seeds)."""
    _py(session, "-m", "fame_bench.gates", *session.posargs)


@nox.session(venv_backend="none")
def scaling(session: nox.Session) -> None:
    """Motion probe and bias gap vs pretraining steps (random init, MoCo, +FAME, +BE)."""
    _py(session, "-m", "fame_bench.reports.scaling", *session.posargs)


@nox.session(venv_backend="none")
def frontier(session: nox.Session) -> None:
    """Headline interval width against table 1's minutes, at 3 … 8 seeds (measured)."""
    _py(session, "-m", "fame_bench.reports.frontier", *session.posargs)


@nox.session(venv_backend="none")
def reproduce_beyond(session: nox.Session) -> None:
    """Beyond the papers: FAME under camera motion, a motion-compensated seed, a per-clip β."""
    _py(session, "-m", "fame_bench.reports.beyond", *session.posargs)
