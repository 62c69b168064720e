"""Fault injection, concurrency (issue 11, case 5): two processes never share a run directory;
record writes never collide; temporary files left by a kill are cleaned under the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fame_bench.atomic import write_atomic
from fame_bench.train import experiment
from fame_bench.train.experiment import ExperimentSpec, plan_experiment, run_experiment
from fame_bench.train.runlock import RunLockedError
from suites.faults.tiny import PRETRAIN_ARGS, TINY_SPEC, weight_evaluation

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}

HOLD_LOCK = """
import sys, time
from fame_bench.train.runlock import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def _wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _pretrain_command(out: Path, steps: int) -> list[str]:
    args = list(PRETRAIN_ARGS)
    args[args.index("--steps") + 1] = str(steps)
    return [sys.executable, "-m", "fame_bench.cli", "pretrain", *args, "--out", str(out)]


def test_case05_second_pretraining_on_one_run_dir_is_refused(tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen(_pretrain_command(out, steps=100_000), cwd=ROOT, env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = out / ".lock"
        _wait_for(lambda: lock.exists() and f"pid {first.pid} " in lock.read_text(),
                  "the first run to hold its run directory")
        second = subprocess.run(_pretrain_command(out, steps=100_000), cwd=ROOT, env=ENV,
                                capture_output=True, text=True, timeout=300)
        assert first.poll() is None, "the first run must still be training"
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1
    assert f"{out} is in use by another process (pid {first.pid} on " in second.stderr
    metrics = out / "metrics.jsonl"
    steps = [json.loads(x)["step"] for x in metrics.read_text().splitlines() if x.endswith("}")
             ] if metrics.exists() else []
    assert steps == list(range(len(steps))), "one writer only: no duplicated rows"


def test_case05_second_process_on_one_runs_dir_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(experiment, "_evaluate", weight_evaluation)
    run_dir = plan_experiment(TINY_SPEC, "ci", 0, tmp_path).path.parent
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)], cwd=ROOT, env=ENV,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=f"pid {holder.pid} on "):
            run_experiment(TINY_SPEC, "ci", 0, runs_dir=tmp_path)
        assert not (run_dir / "pretrain").exists()  # nothing was trained
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the dead holder's lock: the row runs now, and the checkpoint a
    # killed writer left half-written is removed
    (run_dir / "pretrain").mkdir()
    (run_dir / "pretrain" / "tmpa1b2.pt.tmp").write_bytes(b"PK\x03\x04")
    assert run_experiment(TINY_SPEC, "ci", 0, runs_dir=tmp_path)["pretrain"]["steps"] == 2
    assert not list(run_dir.rglob("*.tmp"))


def test_case05_concurrent_record_writes_never_collide(tmp_path):
    path = tmp_path / "record.json"
    errors = []

    def write_many(tag: int) -> None:
        try:
            for i in range(300):
                write_atomic(path, json.dumps({"writer": tag, "i": i}))
        except Exception as err:  # noqa: BLE001 - any failure is the finding
            errors.append(err)

    threads = [threading.Thread(target=write_many, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(path.read_text())["i"] == 299
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_case05_stale_temporaries_of_a_killed_run_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(experiment, "_evaluate", lambda *a: {"linear": {"test_biased": 0.5}})
    run_dir = plan_experiment(ExperimentSpec("random", "random"), "ci", 0, tmp_path).path.parent
    run_dir.mkdir(parents=True)
    (run_dir / "record.json.tmp").write_text('{"half')  # the old fixed name, left by a kill
    (run_dir / "record.json.k2j3.tmp").write_text("{")
    run_experiment(ExperimentSpec("random", "random"), "ci", 0, runs_dir=tmp_path)
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock", "config.json", "record.json",
                                                         "run.log"]
