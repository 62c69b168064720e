"""A run killed with SIGKILL after its first checkpoint resumes to the same final weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fame_bench.train.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def _command(out: Path) -> list[str]:
    return [sys.executable, "-m", "fame_bench.cli", "pretrain", "--preset", "ci",
            "--method", "moco", "--augment", "fame", "--num-videos", "32", "--batch-size", "8",
            "--queue-size", "32", "--steps", "12", "--ckpt-every", "2", "--log-every", "1",
            "--progress", "false", "--seed", "3", "--out", str(out)]


def _run(out: Path) -> None:
    subprocess.run(_command(out), cwd=ROOT, check=True, capture_output=True, timeout=300,
                   env={**os.environ, "PYTHONHASHSEED": "0"})


@pytest.mark.slow
def test_killed_run_resumes_bit_for_bit(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    _run(whole)

    proc = subprocess.Popen(_command(killed), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (killed / "checkpoint.pt").exists() and time.time() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no clean-up
    proc.wait()
    interrupted_at = load_checkpoint(killed)["step"]
    assert interrupted_at < 12, "the run finished before it could be killed"

    _run(killed)
    a, b = load_checkpoint(whole), load_checkpoint(killed)
    assert a["step"] == b["step"] == 12
    assert a["method"].keys() == b["method"].keys()
    for name, tensor in a["method"].items():
        assert torch.equal(tensor, b["method"][name]), name
    steps = [json.loads(x)["step"] for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(12))
    losses_a = [json.loads(x)["loss"] for x in (whole / "metrics.jsonl").read_text().splitlines()]
    losses_b = [json.loads(x)["loss"] for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert losses_a == losses_b
