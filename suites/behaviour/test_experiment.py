"""The run-record layer: spec validation, hashing, caching, temporal-kernel statistics."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from fame_bench.train import experiment
from fame_bench.train.experiment import ExperimentSpec, spec_hash, temporal_kernel_weights


def test_spec_rejects_bad_fields():
    with pytest.raises(ValueError, match="method"):
        ExperimentSpec("x", "simclr")
    with pytest.raises(ValueError, match="augment"):
        ExperimentSpec("x", "moco", augment="mixup")
    with pytest.raises(ValueError, match="beta"):
        ExperimentSpec("x", "moco", augment="fame", beta=1.5)
    with pytest.raises(ValueError, match="random-init"):
        ExperimentSpec("x", "random", augment="fame")
    with pytest.raises(ValueError, match="fame_on"):
        ExperimentSpec("x", "moco", augment="fame", fame_on="keys")


def test_overrides_name_pretrain_fields():
    spec = ExperimentSpec("f", "moco", augment="fame", beta=0.3, fame_on="both",
                          pretrain_overrides=(("steps", 7),))
    over = spec.overrides()
    assert over == {"method": "moco", "augment": "fame", "dataset": "synthetic",
                    "fame_beta": 0.3, "fame_variant": "fame", "fame_on": "both", "steps": 7}


def test_spec_hash_is_stable_and_sensitive():
    a = {"spec": ExperimentSpec("m", "moco"), "preset": "ci", "seed": 0}
    assert spec_hash(a) == spec_hash(dict(a))
    assert spec_hash(a) != spec_hash({**a, "seed": 1})
    assert spec_hash(a) != spec_hash({**a, "spec": ExperimentSpec("m", "moco", beta=0.3)})


def test_temporal_kernels_per_stage():
    from fame_bench.models.backbones import build_backbone

    torch.manual_seed(0)
    weights = temporal_kernel_weights(build_backbone("tiny_r2plus1d"), samples=50)
    assert {"res2", "res3", "res4", "res5"} <= set(weights)
    for values in weights.values():
        assert 0 < len(values) <= 50
        assert values == sorted(values) and min(values) >= 0


def test_random_init_is_seeded_without_touching_global_rng():
    state = torch.random.get_rng_state()
    a = experiment._random_backbone("tiny_r2plus1d", 3)
    b = experiment._random_backbone("tiny_r2plus1d", 3)
    c = experiment._random_backbone("tiny_r2plus1d", 4)
    assert torch.equal(torch.random.get_rng_state(), state)
    wa, wb, wc = (next(m.parameters()) for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_record_is_written_and_cached(tmp_path, monkeypatch):
    pytest.importorskip("fame_bench.train.config")
    calls = []

    def fake_eval(backbone, data_cfg, eval_cfg, seed):
        calls.append(seed)
        return {"linear": {"motion_probe_swapped": 0.1 * (seed + 1)}}

    monkeypatch.setattr(experiment, "_evaluate", fake_eval)
    spec = ExperimentSpec("random", "random")
    record = experiment.run_experiment(spec, "ci", 1, runs_dir=tmp_path)
    path = experiment.plan_experiment(spec, "ci", 1, tmp_path).path
    assert path.parent.name == f"seed1-{record['spec_hash'][:8]}"
    on_disk = json.loads(path.read_text())
    assert on_disk == record
    for key in ("name", "method", "augment", "dataset", "preset", "seed", "config", "env",
                "wall_time_s", "pretrain", "eval", "spec_hash"):
        assert key in record
    assert record["env"]["torch"] == torch.__version__ and record["pretrain"] is None
    again = experiment.run_experiment(spec, "ci", 1, runs_dir=tmp_path)
    assert again == record and calls == [1]
    # A record of other settings in this directory (a hash-prefix collision) re-runs.
    on_disk["spec_hash"] = "stale"
    on_disk["checksum"] = experiment.record_checksum(on_disk)
    path.write_text(json.dumps(on_disk))
    experiment.run_experiment(spec, "ci", 1, runs_dir=tmp_path)
    assert calls == [1, 1]


def test_runs_with_other_settings_keep_their_own_directories(tmp_path, monkeypatch):
    """A second --set run lands beside the first instead of overwriting it; --force recomputes;
    a record in the layout before hashes (seed<k>/) is still read when it matches."""
    calls = []

    def fake_eval(backbone, data_cfg, eval_cfg, seed):
        calls.append(eval_cfg.linear_epochs)
        return {"linear": {"motion_probe_swapped": 0.01 * eval_cfg.linear_epochs}}

    monkeypatch.setattr(experiment, "_evaluate", fake_eval)
    plain = ExperimentSpec("random", "random")
    other = ExperimentSpec("random", "random", eval_overrides=(("linear_epochs", 7),))
    first = experiment.run_experiment(plain, "ci", 0, runs_dir=tmp_path)
    second = experiment.run_experiment(other, "ci", 0, runs_dir=tmp_path)
    assert first["spec_hash"] != second["spec_hash"]
    dirs = sorted(p.parent.name for p in (tmp_path / "ci" / "random").glob("*/record.json"))
    assert len(dirs) == 2 and all(d.startswith("seed0-") for d in dirs)
    assert experiment.run_experiment(plain, "ci", 0, runs_dir=tmp_path) == first  # kept
    assert calls == [60, 7]
    forced = experiment.run_experiment(plain, "ci", 0, runs_dir=tmp_path, force=True)
    assert calls == [60, 7, 60] and forced["eval"] == first["eval"]
    run_dir = experiment.plan_experiment(plain, "ci", 0, tmp_path).path.parent
    config = json.loads((run_dir / "config.json").read_text())
    assert config["spec_hash"] == first["spec_hash"] and config["eval"]["linear_epochs"] == 60
    log = (run_dir / "run.log").read_text()
    assert "run random seed 0" in log and "--force" in log and "videos scored" in log
    # the layout before hashes
    legacy = experiment.plan_experiment(other, "ci", 0, tmp_path / "old").legacy_path
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps(second))
    assert experiment.run_experiment(other, "ci", 0, runs_dir=tmp_path / "old") == second
    assert calls == [60, 7, 60]


def test_record_v2_says_what_the_run_used(tmp_path, monkeypatch):
    """Schema 2: the thread count measured during evaluation (not the process's), versions,
    the CPU model and the videos scored per split."""
    seen = {}

    def fake_eval(backbone, data_cfg, eval_cfg, seed):
        seen["threads"] = torch.get_num_threads()
        return {"linear": {"motion_probe_swapped": 0.1}}

    monkeypatch.setattr(experiment, "_evaluate", fake_eval)
    before = torch.get_num_threads()
    spec = ExperimentSpec("random", "random", eval_overrides=(("max_videos", 7),))
    record = experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path)
    assert torch.get_num_threads() == before
    assert record["schema_version"] == experiment.SCHEMA_VERSION == 2
    env = record["env"]
    assert env["threads"] == {"pretrain": None, "eval": seen["threads"]} and seen["threads"] == 1
    assert env["numpy"] and env["cpu"] and env["torchvision"]
    assert record["videos"]["eval_scored"] == {s: 7 for s in
                                               ("train", "train_unbiased", "test_biased",
                                                "test_swapped", "test_background_only")}
    assert set(record["videos"]["eval_skipped"].values()) == {0}
    assert record["videos"]["pretrain_skipped"] is None
    assert experiment.read_record(experiment.plan_experiment(spec, "ci", 0, tmp_path).path) \
        == record  # the checksum covers the new fields


def test_record_names_the_pretraining_set_that_was_used(tmp_path, monkeypatch):
    """A row on UCF101 whose pretraining set is overridden to K400 says k400 (it said ucf101)."""
    from fame_bench.evaluate.datasets import VideoCounts

    def fake_real(backbone, data, eval_cfg, seed, finetune_dir=None):
        assert data["dataset"] == "ucf101"
        return {"linear": {"top1": 0.5}}, VideoCounts({"train": 3, "test": 2},
                                                      {"train": 1, "test": 0})

    monkeypatch.setattr(experiment, "_evaluate_real", fake_real)
    spec = ExperimentSpec("random", "random", dataset="ucf101",
                          pretrain_overrides=(("data_root", str(tmp_path)), ("dataset", "k400")))
    record = experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path / "runs")
    assert (record["dataset"], record["eval_dataset"]) == ("k400", "ucf101")
    assert record["videos"]["eval_skipped"] == {"train": 1, "test": 0}


class _Killed(Exception):
    pass


def test_a_killed_real_data_finetune_resumes_from_the_run_directory(tmp_path, monkeypatch):
    """run_experiment on a real dataset checkpoints its finetune in <run_dir>/finetune/; a
    reproduction killed mid-finetune resumes it there, to the uninterrupted run's numbers, and
    the checkpoint goes once the record is written."""
    fake = pytest.importorskip("fame_bench.data.fake_layouts")
    from fame_bench.evaluate.finetune_checkpoint import FinetuneCheckpoint

    root = fake.make_ucf101(tmp_path / "ucf")
    spec = ExperimentSpec("random", "random", dataset="ucf101",
                          pretrain_overrides=(("crop_size", 32), ("data_root", str(root))),
                          eval_overrides=(("clip_len", 4), ("linear_epochs", 2),
                                          ("finetune_steps", 4), ("finetune_batch_size", 2)))
    monkeypatch.setattr(experiment, "FINETUNE_CKPT_EVERY", 2)
    whole = experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path / "whole")

    real_save = FinetuneCheckpoint.save

    def save_then_die(self, state):
        path = real_save(self, state)
        if state["step"] == 2:
            raise _Killed
        return path

    with monkeypatch.context() as patch:
        patch.setattr(FinetuneCheckpoint, "save", save_then_die)
        with pytest.raises(_Killed):
            experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path / "cut")
    run_dir = experiment.plan_experiment(spec, "ci", 0, tmp_path / "cut").path.parent
    assert (run_dir / "finetune" / "checkpoint.pt").is_file()
    assert not (run_dir / "record.json").exists()
    cut = experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path / "cut")
    assert "finetune resumed at step 2 of 4" in (run_dir / "run.log").read_text()
    assert cut["eval"]["finetune"] == whole["eval"]["finetune"]
    assert cut["eval"]["linear"] == whole["eval"]["linear"]
    assert not (run_dir / "finetune").exists()
    # a corrupt checkpoint left there is discarded, never loaded: the finetune starts again
    with monkeypatch.context() as patch:
        patch.setattr(FinetuneCheckpoint, "save", save_then_die)
        with pytest.raises(_Killed):
            experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path / "bad")
    bad_dir = experiment.plan_experiment(spec, "ci", 0, tmp_path / "bad").path.parent
    (bad_dir / "finetune" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.warns(RuntimeWarning, match="discarded, the finetune starts again"):
        redone = experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path / "bad")
    assert redone["eval"]["finetune"] == whole["eval"]["finetune"]


TINY_PRETRAIN = (("steps", 2), ("num_videos", 32), ("batch_size", 8), ("queue_size", 64),
                 ("ckpt_every", 2), ("log_every", 1), ("progress", False), ("device", "cpu"))
TINY_EVAL = (("max_videos", 32), ("finetune_steps", 0), ("linear_epochs", 3))


@pytest.mark.slow
def test_tiny_fame_run_end_to_end(tmp_path):
    """A two-step MoCo + FAME pretraining, evaluated and recorded (the whole chain, small)."""
    spec = ExperimentSpec("tiny_fame", "moco", augment="fame", beta=0.5,
                          pretrain_overrides=TINY_PRETRAIN, eval_overrides=TINY_EVAL)
    record = experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path)
    assert record["pretrain"]["steps"] == 2 and len(record["pretrain"]["loss_curve"]) >= 1
    assert record["augment"] == {"kind": "fame", "beta": 0.5, "variant": "fame",
                                 "fame_on": "first"}
    assert record["env"]["device"] == "cpu" and record["env"]["commit"]
    linear = record["eval"]["linear"]
    for key in ("test_biased", "test_swapped", "test_background_only", "motion_probe_swapped",
                "bias_gap", "background_reliance"):
        assert 0.0 <= linear[key] <= 1.0 or key in ("bias_gap", "background_reliance")
    assert record["pretrain"]["augment_ms"] > 0  # FAME ran and was timed
    assert record["env"]["threads"] == {"pretrain": 1, "eval": 1}  # the ci presets' threads
    assert record["videos"]["pretrain_skipped"] == 0
    assert set(record["temporal_kernels"]) >= {"res2", "res5"}


@pytest.mark.slow
def test_identical_pretraining_is_reused_not_retrained(tmp_path):
    """Another row (or only other evaluation settings) with the same pretraining links the
    finished checkpoint instead of training again, and gets the numbers a fresh run gets; a
    corrupt source checkpoint is never reused; ``force`` trains again."""
    from fame_bench.train.checkpoint import CHECKPOINT

    first = ExperimentSpec("tiny_moco", "moco", pretrain_overrides=TINY_PRETRAIN,
                           eval_overrides=TINY_EVAL)
    other_eval = (*TINY_EVAL, ("linear_epochs", 4))
    second = ExperimentSpec("tiny_moco_s2", "moco", pretrain_overrides=TINY_PRETRAIN,
                            eval_overrides=other_eval)
    a = experiment.run_experiment(first, "ci", 0, runs_dir=tmp_path)
    source = experiment.plan_experiment(first, "ci", 0, tmp_path).path.parent
    # a schema-1 source record (a process-wide thread count): the config's threads are taken
    old = dict(a, env=dict(a["env"], threads=2))
    old["checksum"] = experiment.record_checksum(old)
    (source / "record.json").write_text(json.dumps(old))
    b = experiment.run_experiment(second, "ci", 0, runs_dir=tmp_path)
    assert b["pretrain"]["reused_from"] == str(source)
    assert b["pretrain"]["loss_curve"] == a["pretrain"]["loss_curve"]
    assert b["env"]["threads"]["pretrain"] == a["env"]["threads"]["pretrain"] == 1
    assert b["wall_time_s"] >= a["pretrain"]["wall_time_s"]  # the cost from scratch
    fresh = experiment.run_experiment(second, "ci", 0, runs_dir=tmp_path, force=True)
    assert "reused_from" not in fresh["pretrain"] and fresh["eval"] == b["eval"]
    # another pretraining (more steps) finds nothing to reuse
    longer = ExperimentSpec("tiny_moco_4", "moco", pretrain_overrides=(
        *TINY_PRETRAIN, ("steps", 4)), eval_overrides=TINY_EVAL)
    c = experiment.run_experiment(longer, "ci", 0, runs_dir=tmp_path)
    assert "reused_from" not in c["pretrain"] and c["pretrain"]["steps"] == 4
    # a corrupt source checkpoint is skipped (the forced run above is now the newest source)
    for run_dir in (source, experiment.plan_experiment(second, "ci", 0, tmp_path).path.parent):
        checkpoint = run_dir / "pretrain" / CHECKPOINT
        data = bytearray(checkpoint.read_bytes())
        checkpoint.unlink()  # a hard link: write a new file, not through the shared inode
        data[len(data) // 2] ^= 0xFF
        checkpoint.write_bytes(bytes(data))
    third = ExperimentSpec("tiny_moco_s3", "moco", pretrain_overrides=TINY_PRETRAIN,
                           eval_overrides=TINY_EVAL)
    d = experiment.run_experiment(third, "ci", 0, runs_dir=tmp_path)
    assert "reused_from" not in d["pretrain"] and d["eval"] == a["eval"]
    # A random-init row's config only names the backbone and data (its ``method`` is the
    # preset's, so it can equal a MoCo row's): it is never matched to a pretraining.
    random_row = ExperimentSpec("random", "random", eval_overrides=TINY_EVAL)
    plan = experiment.plan_experiment(random_row, "ci", 0, tmp_path)
    posing = dataclasses.replace(plan, pretrain=dataclasses.replace(
        experiment.plan_experiment(third, "ci", 0, tmp_path).pretrain,
        out_dir=plan.pretrain.out_dir))
    assert not posing.pretrains and experiment.find_reusable_pretraining(posing) is None
    assert experiment.find_reusable_pretraining(dataclasses.replace(posing, pretrains=True))
    record = experiment.run_experiment(random_row, "ci", 0, runs_dir=tmp_path)
    assert record["pretrain"] is None and not (plan.path.parent / "pretrain").exists()
