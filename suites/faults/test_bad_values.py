"""Fault injection, bad values (issue 11, cases 1, 7, 8, 9 and 12): each ends in a one-line
error naming the value and what was expected, before anything is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import fame_bench.augment as op
from fame_bench.cli import main
from fame_bench.train.checkpoint import load_checkpoint
from reference import be as ref_be
from reference import fame as ref_fame
from suites.faults.tiny import (
    PRETRAIN_ARGS,
    interrupt_after_first_checkpoint,
    one_line_error,
    same_weights,
)

ROOT = Path(__file__).resolve().parents[2]


# --- case 1: float clips outside [0, 1] -------------------------------------------------------


@pytest.mark.parametrize("variant", ["fame", "seed", "grid", "gauss", "gauss_random"])
@pytest.mark.parametrize("scale", ["0..255", "-1..1"])
def test_case01_clips_outside_unit_range_are_refused(variant, scale):
    clips = torch.rand(4, 3, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    clips = clips * 255 if scale == "0..255" else clips * 2 - 1
    with pytest.raises(ValueError, match=r"clips must be float in \[0, 1\] or uint8; got values"):
        op.fame(clips, 0.5, variant=variant)
    with pytest.raises(ValueError, match=r"clips must be float in \[0, 1\] or uint8; got values"):
        ref_fame.fame(clips.numpy(), 0.5, variant=variant)


def test_case01_reference_float64_overflow_is_refused():
    clips = np.full((2, 3, 2, 8, 8), 0.5)
    clips[0, 0, 0, 0, 0] = 1e39  # finite in float64, inf once cast to float32
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ref_fame.foreground_mask(clips, 0.5)


def test_case01_half_and_uint8_clips_in_range_still_work():
    clips = torch.rand(2, 3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    for batch in (clips.half(), clips.bfloat16(), (clips * 255).to(torch.uint8)):
        merged, mask = op.fame(batch, 0.5)
        assert merged.dtype == batch.dtype and mask.shape == (2, 8, 8)


# --- case 7: --log-every 0 ------------------------------------------------------------------


def test_case07_log_every_zero_is_refused_and_may_change_on_resume(tmp_path, capsys,
                                                                    monkeypatch):
    out = tmp_path / "run"
    assert main(["pretrain", *PRETRAIN_ARGS, "--log-every", "0", "--out", str(out)]) == 2
    assert "log_every must be >= 1, got 0" in one_line_error(capsys)
    assert not out.exists()

    whole = tmp_path / "whole"
    assert main(["pretrain", *PRETRAIN_ARGS, "--out", str(whole)]) == 0
    interrupt_after_first_checkpoint(monkeypatch, out)
    assert load_checkpoint(out)["step"] == 2
    # log_every does not change the weights: resuming with another value is allowed
    assert main(["pretrain", *PRETRAIN_ARGS, "--log-every", "3", "--out", str(out)]) == 0
    assert same_weights(load_checkpoint(whole)["method"], load_checkpoint(out)["method"])


# --- case 8: every numeric field validated, before any directory ------------------------------


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--num-videos", "-3", "num_videos must be >= 0, got -3"),
    ("--queue-size", "0", "queue_size must be >= 1, got 0"),
    ("--crop-size", "-5", "crop_size must be >= 0, got -5"),
    ("--dim", "0", "dim must be >= 1, got 0"),
    ("--warmup-steps", "-3", "warmup_steps must be >= 0, got -3"),
    ("--lr", "nan", "lr must be finite, got nan"),
    ("--temperature", "0", "temperature must be > 0, got 0.0"),
    ("--fame-p", "1.5", "fame_p must be in [0, 1], got 1.5"),
    ("--jitter", "0.4,inf,0.4,0", "jitter must be finite, got inf"),
    ("--seed", "-1", "seed must be >= 0, got -1"),
])
def test_case08_bad_numbers_are_refused_by_name(tmp_path, capsys, option, value, message):
    out = tmp_path / "run"
    assert main(["pretrain", *PRETRAIN_ARGS, option, value, "--out", str(out)]) == 2
    assert f"PretrainConfig.{message}" in one_line_error(capsys)
    assert not out.exists()


def test_case08_eval_config_numbers_are_validated_too():
    from fame_bench.evaluate.config import EvalConfig

    with pytest.raises(ValueError, match=r"EvalConfig.linear_lr must be finite, got nan"):
        EvalConfig.preset("ci", linear_lr=float("nan"))
    with pytest.raises(ValueError, match=r"EvalConfig.finetune_steps must be an integer"):
        EvalConfig.preset("ci", finetune_steps="ten")


# --- case 9: reproduce --set of owned or bad fields, before any row runs ----------------------


@pytest.mark.parametrize(("setting", "message"), [
    (["--set", "seed=7"], "--set seed: the reproduction sets this field itself (from --seeds)"),
    (["--set", "out_dir=elsewhere"], "--set out_dir: the reproduction sets this field itself"),
    (["--set", "steps=0"], "PretrainConfig.steps must be >= 1, got 0"),
    (["--set", "no_such_field=1"], "PretrainConfig has no field(s) ['no_such_field']"),
    (["--eval-set", "linear_epochs=0"], "EvalConfig.linear_epochs must be >= 1, got 0"),
])
def test_case09_reproduce_refuses_before_running_any_row(tmp_path, capsys, setting, message):
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    argv = ["reproduce", "table1", "--preset", "ci", "--seeds", "2", "--runs-dir", str(runs),
            "--reports-dir", str(reports), *setting]
    assert main(argv) == 2
    assert message in one_line_error(capsys)
    assert not runs.exists() and not reports.exists()


# --- case 12: minor ones ----------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_case12_fame_module_passes_a_lone_clip_through(p):
    clips = torch.rand(1, 3, 4, 8, 8)
    out = op.FAME(p=p)(clips, torch.Generator().manual_seed(0))
    assert torch.equal(out, clips) and out is not clips


def test_case12_fame_module_with_p_zero_leaves_a_batch_unchanged():
    clips = torch.rand(3, 3, 4, 8, 8)
    assert torch.equal(op.FAME(p=0.0)(clips, torch.Generator().manual_seed(0)), clips)


@pytest.mark.parametrize("bad", [0.5, -1.0, float("nan"), 2.0])
def test_case12_merge_refuses_a_non_binary_mask(bad):
    fg, bg = torch.rand(2, 3, 2, 4, 4), torch.rand(2, 3, 2, 4, 4)
    mask = torch.ones(2, 4, 4)
    mask[1, 2, 3] = bad
    with pytest.raises(ValueError, match="mask must be binary"):
        op.merge(fg, bg, mask)
    with pytest.raises(ValueError, match="mask must be binary"):
        ref_fame.merge(fg.numpy(), bg.numpy(), mask.numpy())
    mask[1, 2, 3] = 0.0  # a binary float mask is fine
    assert torch.equal(op.merge(fg, bg, mask), torch.from_numpy(
        ref_fame.merge(fg.numpy(), bg.numpy(), mask.numpy())))


@pytest.mark.parametrize("weight", [np.array([0.2]), np.full((2, 1), 0.2), np.full(3, 0.2)])
def test_case12_reference_be_checks_the_weight_shape_like_the_op(weight):
    clips = np.random.default_rng(0).random((2, 3, 4, 4, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"must be a scalar or \(2,\)"):
        ref_be.background_erasing(clips, np.array([0, 1]), weight)
    with pytest.raises(ValueError, match=r"must be a scalar or \(2,\)"):
        op.background_erasing(torch.from_numpy(clips), torch.tensor([0, 1]),
                              torch.from_numpy(weight))


def test_case12_user_error_prints_one_line_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fame_bench.cli", "pretrain", "--dim", "0",
                           "--out", str(tmp_path / "run")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == "fame-bench: error: PretrainConfig.dim must be >= 1, got 0\n"
    assert not (tmp_path / "run").exists()
