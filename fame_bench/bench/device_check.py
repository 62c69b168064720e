"""One command for a CUDA machine (issue #15): the CUDA-marked tests, FAME's cost on the device and
training throughput at the ``paper`` shapes, inside one time budget.

``python -m fame_bench.bench.device_check`` (``nox -s device_check``) writes the GPU rows of
``reports/augmentation_cost.md`` and ``reports/training_throughput.md`` (their marked blocks; the
CPU rows stay) and every measurement, with the device's name and the software versions, to
``reports/device_check.json`` (rewritten after each stage, so a killed run keeps what it did).
Each stage has a share of the budget (default 8 minutes, all told); a measurement that does not
fit in what is left is skipped with a note, one that overruns is stopped.

Without a CUDA device it prints one line and exits 0, touching nothing. ``--dry-run`` (or
``--device cpu``) runs every stage at tiny sizes on the CPU into a temporary directory (or
``--reports-dir``), so that the code paths are tested where no GPU is; its numbers mean nothing.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # See augmentation_cost: must be set before torch loads its OpenMP runtime.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import xml.etree.ElementTree as ElementTree  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from fame_bench.atomic import write_atomic  # noqa: E402
from fame_bench.bench import augmentation_cost, training_throughput  # noqa: E402
from fame_bench.bench.report_sections import gpu_block, replace_gpu_block  # noqa: E402
from fame_bench.bench.training_throughput import DeviceShape  # noqa: E402
from fame_bench.provenance import git_state  # noqa: E402
from fame_bench.train.experiment import cpu_model  # noqa: E402

NO_DEVICE = "no CUDA device: nothing measured"
SUMMARY = "device_check.json"
REPORTS = ("augmentation_cost.md", "training_throughput.md")
# Where each stage must end, as a fraction of the budget from the start; time a stage leaves
# unused passes to the next.
STAGE_ENDS = {"tests": 0.2, "op": 0.6, "train": 0.95, "reports": 1.0}
GPU_MARK = "pytest.mark.gpu"


@dataclass
class Plan:
    """What each stage runs: the real shapes on a CUDA device, tiny ones for a CPU smoke run."""

    device: str
    op_shapes: list[tuple[int, int]]  # (batch, side); the first is the headline, the second B=64
    op_frames: int
    op_repeats: int
    op_warmup: int
    compile_backend: str
    max_compiled: int | None  # compiled cases to try, in device_cases' order (None: all)
    train_shape: DeviceShape
    train_steps: int
    row_guess_s: float
    test_paths: list[str] | None = None  # None: every suites/ file with a CUDA-marked test
    notes: list[str] = field(default_factory=list)


def gpu_plan(device: str) -> Plan:
    return Plan(device=device, op_shapes=[(8, 112), (64, 112), (8, 224)], op_frames=16,
                op_repeats=20, op_warmup=3, compile_backend="inductor", max_compiled=None,
                train_shape=training_throughput.PAPER_SHAPE, train_steps=8, row_guess_s=30.0)


def smoke_plan() -> Plan:
    """Every stage on the CPU at tiny sizes (``torch.compile`` traced with the ``eager`` backend,
    no code generated): tests the code, measures nothing worth reading."""
    return Plan(device="cpu", op_shapes=[(4, 8), (2, 8)], op_frames=2, op_repeats=1,
                op_warmup=1, compile_backend="eager", max_compiled=1,
                train_shape=DeviceShape(backbone="tiny_r2plus1d", clip_len=4, size=8,
                                        vthcl_slow_stride=2, batches=(4, 4), queue_size=16),
                train_steps=2, row_guess_s=0.0,
                notes=["dry run on the CPU at tiny sizes: code paths only, not measurements"])


# --- stage 1: the CUDA-marked tests -----------------------------------------------------------


def gpu_test_files(root: Path = Path("suites")) -> list[str]:
    """Test files under ``root`` that hold a CUDA-marked test (only these are collected, so a
    module whose imports the device lacks cannot stop the others)."""
    return sorted(str(p) for p in root.rglob("test_*.py") if GPU_MARK in p.read_text())


def run_cuda_tests(paths: list[str], timeout_s: float) -> dict:
    """``pytest -m gpu`` on ``paths`` in a subprocess (benchmarks run once, untimed): each test's
    outcome from its JUnit XML, the exit code and the output's tail."""
    if timeout_s <= 1:
        return {"status": "skipped", "note": "time budget: nothing left for the tests"}
    with tempfile.TemporaryDirectory(prefix="device-check-") as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                   "-o", "addopts=", "--benchmark-disable", "--continue-on-collection-errors",
                   f"--junitxml={junit}", *paths]
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONHASHSEED": "0"}
        start = time.monotonic()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                                  env=env)
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout or b""
            text = out.decode(errors="replace") if isinstance(out, bytes) else out
            return {"status": "error", "error": f"stopped after its {timeout_s:.0f} s",
                    "command": " ".join(command), "tail": text.splitlines()[-20:]}
        tests = _junit_outcomes(junit) if junit.exists() else []
    counts: dict[str, int] = {}
    for t in tests:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    failed = done.returncode not in (0, 5) or counts.get("failed") or counts.get("error")
    return {
        "status": "failed" if failed else "ran",
        "returncode": done.returncode,
        "seconds": time.monotonic() - start,
        "counts": counts,
        "tests": tests,
        "command": " ".join(command),
        "tail": (done.stdout + done.stderr).splitlines()[-20:],
    }


def _junit_outcomes(path: Path) -> list[dict]:
    outcomes = []
    for case in ElementTree.parse(path).iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = (found.get("message") or "").splitlines()[0][:200] if found.get(
                    "message") else ""
                break
        outcomes.append({"test": f"{case.get('classname')}::{case.get('name')}",
                         "outcome": outcome, "seconds": float(case.get("time") or 0.0),
                         "message": message})
    return outcomes


# --- stages 2 and 3 ---------------------------------------------------------------------------


def run_op_stage(plan: Plan, deadline: float) -> dict:
    """FAME against the bare merge per variant, dtype, shape, eager and compiled; and one eager
    call's kernel profile at the headline shape."""
    head_batch, head_size = plan.op_shapes[0]
    try:
        profile = augmentation_cost.kernel_profile(head_batch, plan.op_frames, head_size,
                                                   plan.device)
    except Exception as error:  # the profiler's API moves between torch versions
        profile = {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    cases = augmentation_cost.device_cases(plan.op_shapes, plan.op_frames)
    compiled = [c for c in cases if c.compiled][:plan.max_compiled]
    cases = [c for c in cases if not c.compiled or c in compiled]
    entries = augmentation_cost.measure_device(plan.device, cases, deadline, plan.op_repeats,
                                               plan.op_warmup, plan.compile_backend)
    torch._dynamo.reset()  # frees the last case's compiled code (and CUDA-graph memory pool)
    if torch.device(plan.device).type == "cuda":
        torch.cuda.empty_cache()
    timer = "CUDA-event" if torch.device(plan.device).type == "cuda" else "wall-clock"
    return {"shapes": plan.op_shapes, "frames": plan.op_frames, "repeats": plan.op_repeats,
            "timer": timer,
            "warmup": plan.op_warmup, "compile_backend": plan.compile_backend,
            "profile": profile, "entries": entries}


def run_train_stage(plan: Plan, deadline: float) -> dict:
    rows = training_throughput.measure_device(plan.device, plan.train_shape, deadline,
                                              plan.train_steps, row_guess_s=plan.row_guess_s)
    return {"shape": asdict(plan.train_shape), "steps": plan.train_steps, "rows": rows}


def moco_step_ms(train: dict | None) -> dict[tuple[int, int], float]:
    """Plain MoCo's step time per (batch, side), for FAME's share of a step."""
    if not train:
        return {}
    side = train["shape"]["size"]
    return {(r["batch_size"], side): r["step_ms"] for r in train["rows"]
            if r["name"] == "moco" and r["status"] == "measured"}


# --- stage 4: the reports ---------------------------------------------------------------------


def environment(device: str) -> dict:
    cuda = torch.device(device).type == "cuda"
    commit, dirty = git_state()
    return {
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if cuda
        else cpu_model(),
        "capability": ".".join(map(str, torch.cuda.get_device_capability(device))) if cuda
        else None,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "python": platform.python_version(),
        "commit": commit,
        "dirty": dirty,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def where(env: dict) -> str:
    if env.get("tree_commit"):
        code = f"the tree of commit {env['tree_commit']}"
    else:
        code = f"commit {env['commit']}" + (" with uncommitted changes" if env.get("dirty") else "")
    return (f"**{env['device_name']}** (torch {env['torch']}, CUDA {env['cuda']}, {code}, "
            f"{env['date']})")


def write_reports(summary: dict, reports_dir: Path) -> list[str]:
    """Replace the GPU block of both reports with this run's rows; returns the files written."""
    env, written = summary["environment"], []
    notes = [f"**{n}**" for n in summary["notes"]]
    blocks = {}
    if "op" in summary["stages"]:
        train = summary["stages"].get("train")
        step_what = training_throughput.describe(DeviceShape(**train["shape"])) if train else "—"
        blocks["augmentation_cost.md"] = augmentation_cost.render_device_block(
            summary["stages"]["op"], moco_step_ms(train), where(env), step_what)
        if summary.get("recheck"):
            blocks["augmentation_cost.md"] += augmentation_cost.render_recheck_block(
                summary["recheck"], moco_step_ms(train))
    if "train" in summary["stages"]:
        blocks["training_throughput.md"] = training_throughput.render_device_block(
            summary["stages"]["train"], where(env))
    for name, lines in blocks.items():
        path = reports_dir / name
        text = path.read_text() if path.exists() else f"# {name}\n"
        path.write_text(replace_gpu_block(text, gpu_block([*notes, *lines])))
        written.append(str(path))
    return written


def _save(summary: dict, reports_dir: Path) -> Path:
    path = reports_dir / SUMMARY
    write_atomic(path, json.dumps(summary, indent=1, default=str) + "\n")
    return path


# --- the command ------------------------------------------------------------------------------


def run(plan: Plan, reports_dir: Path, budget_s: float, stages: tuple[str, ...],
        tree_commit: str | None = None) -> dict:
    """Every stage in ``stages`` within ``budget_s``; the summary, also saved after each stage.
    ``tree_commit``: see ``--tree-commit``."""
    start = time.monotonic()
    reports_dir.mkdir(parents=True, exist_ok=True)
    env = environment(plan.device)
    if tree_commit:
        env["tree_commit"] = tree_commit
    summary = {"environment": env, "budget_s": budget_s,
               "plan": asdict(plan), "notes": plan.notes, "stages": {}}

    def deadline(stage: str) -> float:
        return start + STAGE_ENDS[stage] * budget_s

    for stage in stages:
        began = time.monotonic()
        print(f"[device_check] {stage}: until {deadline(stage) - start:.0f} s of "
              f"{budget_s:.0f} s", flush=True)
        if stage == "tests":
            paths = plan.test_paths if plan.test_paths is not None else gpu_test_files()
            result = run_cuda_tests(paths, deadline(stage) - time.monotonic())
        elif stage == "op":
            result = run_op_stage(plan, deadline(stage))
        elif stage == "train":
            result = run_train_stage(plan, deadline(stage))
        else:
            result = {"written": write_reports(summary, reports_dir)}
        result["stage_seconds"] = time.monotonic() - began
        summary["stages"][stage] = result
        summary["elapsed_s"] = time.monotonic() - start
        _save(summary, reports_dir)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (= --dry-run)")
    parser.add_argument("--dry-run", action="store_true",
                        help="every stage at tiny sizes on the CPU, into a temporary directory")
    parser.add_argument("--budget-s", type=float, default=480.0,
                        help="seconds for everything (default 8 minutes)")
    parser.add_argument("--reports-dir", type=Path, default=None,
                        help="where the reports and device_check.json go (default reports/; "
                             "a temporary directory for --dry-run)")
    parser.add_argument("--stages", default=",".join(STAGE_ENDS),
                        help=f"comma-separated subset of {','.join(STAGE_ENDS)}")
    parser.add_argument("--render-from", type=Path, default=None, metavar="JSON",
                        help="measure nothing: write the reports' GPU rows from a saved summary "
                             "(e.g. of a run stopped before its reports stage)")
    parser.add_argument("--tree-commit", default=None, metavar="REV",
                        help="the commit whose tree was measured, where the device's copy "
                             "carries other git metadata (recorded beside git's own answer)")
    parser.add_argument("--recheck", type=Path, default=None, metavar="JSON",
                        help="with --render-from: a later measurement of some op cases (a list "
                             "of measure_device entries), rendered after the op table")
    parser.add_argument("--recheck-commit", default=None, metavar="REV",
                        help="the commit whose code --recheck measured (required with it)")
    args = parser.parse_args(argv)
    if (args.recheck is None) != (args.recheck_commit is None) or (
            args.recheck is not None and args.render_from is None):
        parser.error("--recheck and --recheck-commit go together, with --render-from")
    if args.render_from is not None:
        return render_from(args.render_from, args.reports_dir or Path("reports"),
                           args.tree_commit, args.recheck, args.recheck_commit)
    stages = tuple(s for s in args.stages.split(",") if s)
    unknown = sorted(set(stages) - set(STAGE_ENDS))
    if unknown:
        parser.error(f"--stages: unknown {unknown}; expected a subset of {list(STAGE_ENDS)}")
    if args.budget_s <= 0:
        parser.error(f"--budget-s must be > 0 seconds; got {args.budget_s}")
    dry = args.dry_run or args.device == "cpu"
    if not dry and not torch.cuda.is_available():
        print(NO_DEVICE)
        return 0
    if dry:
        plan = smoke_plan()
        reports_dir = args.reports_dir or Path(tempfile.mkdtemp(prefix="device-check-dry-"))
        reports_dir.mkdir(parents=True, exist_ok=True)
        for name in REPORTS:  # splice into copies of the real reports, never the reports
            source = Path("reports") / name
            if source.exists() and not (reports_dir / name).exists():
                shutil.copy(source, reports_dir / name)
    else:
        plan = gpu_plan(args.device)
        reports_dir = args.reports_dir or Path("reports")
    summary = run(plan, reports_dir, args.budget_s, stages, args.tree_commit)
    print(f"[device_check] {summary['environment']['device_name']}: "
          f"{summary['elapsed_s']:.0f} s; summary in {reports_dir / SUMMARY}")
    for stage, result in summary["stages"].items():
        print(f"[device_check] {stage}: {_stage_line(stage, result)}")
    return 0


def render_from(path: Path, reports_dir: Path, tree_commit: str | None = None,
                recheck: Path | None = None, recheck_commit: str | None = None) -> int:
    """Write the GPU rows of the reports from the summary at ``path`` (no measurement). With
    ``tree_commit`` or ``recheck``, the summary gains them and is saved to ``reports_dir``."""
    try:
        summary = json.loads(Path(path).read_text())
        if tree_commit:
            summary["environment"]["tree_commit"] = tree_commit
        if recheck is not None:
            entries = json.loads(Path(recheck).read_text())
            if not isinstance(entries, list) or not all("case" in e for e in entries):
                raise ValueError(f"--recheck {recheck}: expected a JSON list of op entries")
            summary["recheck"] = {"commit": recheck_commit, "source": SUMMARY,
                                  "entries": entries}
        written = write_reports(summary, reports_dir)
        if tree_commit or recheck is not None:
            written.append(str(_save(summary, reports_dir)))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"--render-from {path}: expected a device_check summary (JSON with 'environment', "
              f"'notes', 'stages'); {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print("\n".join(written) if written else f"{path}: no op or train stage to write")
    return 0


def _stage_line(stage: str, result: dict) -> str:
    if stage == "tests":
        return f"{result.get('status')} {result.get('counts', '')} {result.get('error', '')}"
    if stage in ("op", "train"):
        items = result["entries"] if stage == "op" else result["rows"]
        counts: dict[str, int] = {}
        for item in items:
            counts[item["status"]] = counts.get(item["status"], 0) + 1
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return ", ".join(result.get("written", [])) or "nothing written"


if __name__ == "__main__":
    raise SystemExit(main())
