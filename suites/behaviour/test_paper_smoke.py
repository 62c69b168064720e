"""The ``paper`` preset's real-dataset path, end to end on fake trees in the official layouts:
UCF101-style pretraining, Diving48 downstream (table 2), shrunk by ``--set``/``--eval-set``."""

from __future__ import annotations

import json

import pytest

from fame_bench.data.fake_layouts import make_diving48, make_ucf101
from fame_bench.reports.commands import parse_assignments
from fame_bench.reports.reproduce import main

SHRINK = ["--set", "backbone=tiny_r2plus1d", "--set", "steps=1", "--set", "batch_size=4",
          "--set", "queue_size=8", "--set", "clip_len=4", "--set", "crop_size=32",
          "--set", "num_workers=0", "--set", "ckpt_every=1",
          "--eval-set", "clip_len=4", "--eval-set", "num_clips=1", "--eval-set", "batch_size=4",
          "--eval-set", "linear_epochs=2", "--eval-set", "finetune_steps=2",
          "--eval-set", "finetune_batch_size=2"]


def test_parse_assignments():
    assert parse_assignments(["steps=3", "jitter=[0.4,0.4]", "backbone=r3d_18", "amp=false"]) == {
        "steps": 3, "jitter": (0.4, 0.4), "backbone": "r3d_18", "amp": False}
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        parse_assignments(["steps"])


@pytest.mark.slow
def test_reproduce_table2_paper_preset_on_fake_trees(tmp_path):
    root = tmp_path / "data"
    make_ucf101(root, groups=(1, 8, 9, 10))
    make_diving48(root, per_split=4)
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    argv = ["table2", "--preset", "paper", "--data-root", str(root), "--seeds", "1",
            "--runs-dir", str(runs), "--reports-dir", str(reports), *SHRINK]
    assert main(argv) == 0
    records = [json.loads(p.read_text()) for p in runs.rglob("record.json")]
    assert len(records) == 5  # random, oracle, MoCo, BE, FAME
    for record in records:
        assert record["preset"] == "paper"
        assert record["config"]["pretrain"]["data_root"] == str(root)
        assert record["config"]["data"]["dataset"] == "diving48"
        assert 0.0 <= record["eval"]["linear"]["top1"] <= 1.0
    text = (reports / "table2.md").read_text()
    assert "`paper`" in text and "diving48" in text.lower()


def test_moco_batch_too_small_for_split_batchnorm_is_a_clear_error():
    from fame_bench.train.config import PretrainConfig

    with pytest.raises(ValueError, match="at least 4"):
        PretrainConfig.preset("ci", batch_size=2, queue_size=4)
