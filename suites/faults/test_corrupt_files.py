"""Fault injection, corrupt files (issue 11, cases 2, 3, 4, 6 and 10): the bytes are damaged by
the test; each file is refused by name or its row recomputed to the uninterrupted numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fame_bench.cli import main
from fame_bench.data import video
from fame_bench.train import experiment
from fame_bench.train.checkpoint import CheckpointError, load_checkpoint
from fame_bench.train.experiment import (
    ExperimentSpec,
    plan_experiment,
    read_record,
    run_experiment,
)
from suites.faults.tiny import (
    PRETRAIN_ARGS,
    TINY_SPEC,
    checkpoint_of,
    flip_tensor_byte,
    interrupt_after_first_checkpoint,
    one_line_error,
    same_weights,
    weight_evaluation,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One finished tiny run; tests copy it before damaging it."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert main(["pretrain", *PRETRAIN_ARGS, "--out", str(out)]) == 0
    return out


def _copy(run: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(run, to)
    return to


# --- case 2: flipped bytes inside the tensor data ---------------------------------------------


def test_case02_flipped_tensor_bytes_are_refused_by_crc(trained, tmp_path, capsys):
    run = _copy(trained, tmp_path / "run")
    flip_tensor_byte(checkpoint_of(run))
    corrupt = re.escape(f"{checkpoint_of(run)} is corrupt: its member")
    with pytest.raises(CheckpointError, match=f"{corrupt} .* fails the CRC check"):
        load_checkpoint(run)
    assert main(["linear", "--run", str(run), "--preset", "ci"]) == 2  # evaluation
    assert f"{checkpoint_of(run)} is corrupt" in one_line_error(capsys)
    assert main(["pretrain", *PRETRAIN_ARGS, "--out", str(run)]) == 2  # resume
    assert f"{checkpoint_of(run)} is corrupt" in one_line_error(capsys)


# --- case 3: truncated, empty or garbage checkpoints -------------------------------------------


DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty": lambda raw: b"",
    "garbage": lambda raw: b"not a checkpoint at all\n" * 40,
    "foreign": None,  # an intact torch file that is not a checkpoint
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_case03_unreadable_checkpoint_names_the_file(trained, tmp_path, capsys, damage):
    import torch

    run = _copy(trained, tmp_path / "run")
    path = checkpoint_of(run)
    if DAMAGE[damage] is None:
        torch.save([torch.zeros(3)], path)
    else:
        path.write_bytes(DAMAGE[damage](path.read_bytes()))
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_checkpoint(run)
    assert main(["linear", "--run", str(run), "--preset", "ci"]) == 2
    err = one_line_error(capsys)
    assert str(path) in err and "delete it" in err and "weights_only" not in err


def test_case03_reproduce_discards_an_unreadable_checkpoint_and_recomputes(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(experiment, "_evaluate", weight_evaluation)
    whole = run_experiment(TINY_SPEC, "ci", 0, runs_dir=tmp_path / "whole")

    runs = tmp_path / "damaged"
    run_experiment(TINY_SPEC, "ci", 0, runs_dir=runs)
    record = plan_experiment(TINY_SPEC, "ci", 0, runs).path
    record.unlink()  # as if killed after the checkpoint, before the record
    ckpt = checkpoint_of(record.parent / "pretrain")
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.warns(RuntimeWarning, match="discarded, the row is trained again"):
        again = run_experiment(TINY_SPEC, "ci", 0, runs_dir=runs)
    assert again["eval"] == whole["eval"]
    assert again["pretrain"]["loss_curve"] == whole["pretrain"]["loss_curve"]


# --- case 4: corrupt or edited run records ----------------------------------------------------


def _edit_number(text: str) -> str:
    record = json.loads(text)
    record["eval"]["linear"]["motion_probe_swapped"] = 99.9  # spec_hash and checksum kept
    return json.dumps(record)


def _drop_eval(text: str) -> str:
    record = json.loads(text)
    del record["eval"]
    return json.dumps(record)


RECORD_DAMAGE = {
    "truncated": lambda text: text[: len(text) // 2],
    "garbage": lambda text: "\x00\x01 garbage",
    "not_utf8": None,
    "not_a_dict": lambda text: "[1, 2, 3]",
    "eval_deleted": _drop_eval,
    "number_edited": _edit_number,
}


@pytest.mark.parametrize("damage", sorted(RECORD_DAMAGE))
def test_case04_damaged_record_is_recomputed(tmp_path, monkeypatch, damage):
    calls = []

    def fake_eval(backbone, data_cfg, eval_cfg, seed):
        calls.append(seed)
        return {"linear": {"motion_probe_swapped": 0.25, "test_biased": 0.5}}

    monkeypatch.setattr(experiment, "_evaluate", fake_eval)
    spec = ExperimentSpec("random", "random")
    first = run_experiment(spec, "ci", 0, runs_dir=tmp_path)
    path = plan_experiment(ExperimentSpec("random", "random"), "ci", 0, tmp_path).path
    if RECORD_DAMAGE[damage] is None:
        path.write_bytes(b"\xff\xfe" + path.read_bytes())
    else:
        path.write_text(RECORD_DAMAGE[damage](path.read_text()))
    assert read_record(path) is None  # never read as it is
    with pytest.warns(RuntimeWarning, match=re.escape(f"{path} is unreadable or fails")):
        again = run_experiment(spec, "ci", 0, runs_dir=tmp_path)
    assert calls == [0, 0]
    assert again["eval"] == first["eval"] == {"linear": {"motion_probe_swapped": 0.25,
                                                         "test_biased": 0.5}}
    assert read_record(path) == again


# --- case 6: malformed lines in metrics.jsonl -------------------------------------------------


def test_case06_malformed_metrics_rows_are_skipped_on_resume(trained, tmp_path, monkeypatch):
    run = tmp_path / "run"
    interrupt_after_first_checkpoint(monkeypatch, run)
    with open(run / "metrics.jsonl", "ab") as f:
        f.write(b'42\n{"step": "x"}\n\xff\xfe\x00 not utf-8\n[1, 2]\n{"step": 1}\n'
                b'{"step": true, "loss": 1.0}\nnull\n{"step": 0, "lo')
    assert main(["pretrain", *PRETRAIN_ARGS, "--out", str(run)]) == 0
    assert same_weights(load_checkpoint(trained)["method"], load_checkpoint(run)["method"])
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    whole = [json.loads(x) for x in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
    assert [r["loss"] for r in rows] == [r["loss"] for r in whole]


# --- case 10: split files ---------------------------------------------------------------------


def _ucf(root: Path, class_ind: str, train_list: str) -> Path:
    (root / "UCF-101" / "Jump").mkdir(parents=True)
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text(class_ind)
    (lists / "trainlist01.txt").write_text(train_list)
    return lists


def test_case10_ucf101_class_line_with_one_token(tmp_path):
    lists = _ucf(tmp_path, "1 Jump\n2\n", "Jump/v_Jump_g01_c01.avi 1\n")
    where = re.escape(f"{lists / 'classInd.txt'}, line 2: expected '<class number")
    with pytest.raises(video.SplitFileError, match=where):
        video.build_dataset("ucf101", tmp_path, "train")


def test_case10_ucf101_path_leaving_the_root(tmp_path):
    lists = _ucf(tmp_path, "1 Jump\n", "Jump/v_Jump_g01_c01.avi 1\n../../x.avi 1\n")
    where = re.escape(f"{lists / 'trainlist01.txt'}, line 2: '../../x.avi' is not a path")
    with pytest.raises(video.SplitFileError, match=where):
        video.build_dataset("ucf101", tmp_path, "train")


def test_case10_hmdb51_path_leaving_the_root(tmp_path):
    splits = tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    (splits / "jump_test_split1.txt").write_text("a.avi 1\n../../x.avi 1\n")
    where = re.escape(f"{splits / 'jump_test_split1.txt'}, line 2: '../../x.avi' is not")
    with pytest.raises(video.SplitFileError, match=where):
        video.build_dataset("hmdb51", tmp_path, "train")


@pytest.mark.parametrize(("entries", "where"), [
    ([{"vid_name": "a", "label": 0}, {"vid_name": "b"}], "entry 1: expected an object"),
    ([{"vid_name": "../../x", "label": 0}], "entry 0: '../../x.mp4' is not a path"),
    ({"vid_name": "a"}, "expected a JSON list"),
])
def test_case10_diving48_bad_entries(tmp_path, entries, where):
    (tmp_path / "rgb").mkdir()
    file = tmp_path / "Diving48_V2_train.json"
    file.write_text(json.dumps(entries))
    with pytest.raises(video.SplitFileError, match=f"{re.escape(str(file))}.*{re.escape(where)}"):
        video.build_dataset("diving48", tmp_path, "train")


@pytest.mark.parametrize(("csv", "where"), [
    ("label,youtube_id,time_end,split\njump,abc,10,train\n", "line 2: expected the columns"),
    ("label,youtube_id,time_start,time_end,split\njump,abc,x,10,train\n",
     "line 2: expected the columns"),
    ("label,youtube_id,time_start,time_end,split\n../..,abc,0,10,train\n",
     "line 2: '../../abc_000000_000010.mp4' is not a path"),
])
def test_case10_k400_bad_rows(tmp_path, csv, where):
    ann = tmp_path / "kinetics400"
    ann.mkdir()
    (ann / "train.csv").write_text(csv)
    with pytest.raises(video.SplitFileError, match=re.escape(f"{ann / 'train.csv'}, {where}")):
        video.build_dataset("k400", tmp_path, "train")
