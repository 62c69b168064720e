"""The ``fame-bench`` entry point: evaluation subcommands and delegation to reproduce."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fame_bench.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_retrieval_of_a_random_backbone(capsys):
    assert main(["retrieval", "--random", "--preset", "ci", "--seed", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"R@1", "R@5", "R@10", "R@20", "R@50"}
    assert 0.0 <= out["R@1"] <= out["R@50"] <= 1.0


def test_evaluation_needs_a_run_or_random(capsys):
    assert main(["linear", "--preset", "ci"]) == 2
    assert "--run" in capsys.readouterr().err


def test_module_entry_point_and_reproduce_delegation():
    done = subprocess.run([sys.executable, "-m", "fame_bench.cli", "reproduce", "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "table" in done.stdout
    done = subprocess.run([sys.executable, "-m", "fame_bench.cli", "pretrain", "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--fame-beta" in done.stdout and "--out" in done.stdout
