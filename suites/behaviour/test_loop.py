"""End-to-end CPU pretraining per method on a tiny configuration, and the config/CLI layer."""

from __future__ import annotations

import json

import pytest
import torch

from fame_bench.cli import build_parser, config_from_args
from fame_bench.train.checkpoint import load_checkpoint
from fame_bench.train.config import PretrainConfig
from fame_bench.train.loop import pretrain
from fame_bench.train.trained import load_backbone


def tiny(tmp_path, **kw) -> PretrainConfig:
    values = dict(num_videos=32, batch_size=8, queue_size=32, steps=3, ckpt_every=2,
                  log_every=1, progress=False, out_dir=str(tmp_path / "run"))
    values.update(kw)
    return PretrainConfig.preset("ci", **values)


CASES = [
    dict(method="moco"),
    dict(method="moco", augment="fame", fame_beta=0.5),
    dict(method="moco", augment="fame", fame_on="both"),
    dict(method="moco", augment="fame", fame_on="queries", moco_enqueue="after_both"),
    dict(method="moco", augment="be"),
    dict(method="vthcl"),
    dict(method="vthcl", vthcl_negatives="queue", vthcl_levels=("res5",)),
    dict(method="supervised"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_pretrain_end_to_end(tmp_path, case):
    cfg = tiny(tmp_path, **case)
    result = pretrain(cfg)
    assert set(result) >= {"run_dir", "steps", "loss_curve", "step_ms", "augment_ms",
                           "augment_share", "wall_time_s"}
    assert [s for s, _ in result["loss_curve"]] == [0, 1, 2]
    assert all(torch.isfinite(torch.tensor(v)) for _, v in result["loss_curve"])
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [0, 1, 2]
    if case.get("augment", "none") != "none":
        assert 0 < result["augment_share"] < 1
    else:
        assert result["augment_ms"] == 0
    state = load_checkpoint(cfg.out_dir)
    assert state["step"] == 3
    backbone = load_backbone(cfg.out_dir)
    assert not backbone.training
    with torch.no_grad():
        assert backbone(torch.rand(2, 3, 8, 32, 32)).shape == (2, backbone.out_dim)
    # a finished run is returned without training again
    again = pretrain(cfg)
    assert again["loss_curve"] == result["loss_curve"]


def test_same_seed_same_numbers(tmp_path):
    a = pretrain(tiny(tmp_path / "a", steps=2))
    b = pretrain(tiny(tmp_path / "b", steps=2))
    assert a["loss_curve"] == b["loss_curve"]


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown PretrainConfig fields"):
        PretrainConfig.preset("ci", nonsense=1)
    with pytest.raises(ValueError, match="preset"):
        PretrainConfig.preset("huge")
    with pytest.raises(ValueError, match="method"):
        PretrainConfig.preset("ci", method="simclr")
    with pytest.raises(ValueError, match="fame_on"):
        PretrainConfig.preset("ci", fame_on="keys")
    with pytest.raises(ValueError, match="moco_enqueue"):
        PretrainConfig.preset("ci", moco_enqueue="never")
    with pytest.raises(ValueError, match="blur_sigma"):
        PretrainConfig.preset("ci", blur_sigma=(2.0, 0.1))
    with pytest.raises(ValueError, match="divisible by the keys enqueued"):
        pretrain(tiny(tmp_path, queue_size=40))
    pretrain(tiny(tmp_path / "x", steps=1))
    with pytest.raises(ValueError, match="different run"):
        pretrain(tiny(tmp_path / "x", steps=1, lr=0.5))


def test_cli_overrides():
    args = build_parser().parse_args(
        ["pretrain", "--preset", "ci", "--method", "moco", "--augment", "fame", "--fame-beta",
         "0.3", "--seed", "2", "--out", "runs/x", "--fame-on", "queries",
         "--vthcl-levels", "res4,res5"])
    cfg = config_from_args(args)
    assert (cfg.augment, cfg.fame_beta, cfg.seed, cfg.out_dir, cfg.fame_on) == (
        "fame", 0.3, 2, "runs/x", "queries")
    assert cfg.vthcl_levels == ("res4", "res5") and cfg.batch_size == PretrainConfig.preset(
        "ci").batch_size
    paper = PretrainConfig.preset("paper")
    assert (paper.backbone, paper.clip_len, paper.crop_size, paper.batch_size) == (
        "r2plus1d_18", 16, 112, 64)


def test_fame_step_share_is_measured():
    from fame_bench.bench.training_throughput import fame_step_share

    r = fame_step_share("ci", steps=2)
    assert r["step_ms"] > r["augment_ms"] > 0
    assert r["share"] == pytest.approx(r["augment_ms"] / r["step_ms"])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_pretrain_on_cuda_with_amp(tmp_path):
    for case in ({"method": "moco", "augment": "fame"}, {"method": "vthcl"}):
        result = pretrain(tiny(tmp_path / case["method"], device="cuda", **case))
        assert all(torch.isfinite(torch.tensor(v)) for _, v in result["loss_curve"])


def test_amp_dtype_and_fame_compile_options():
    from fame_bench.augment.fame import mask_stage
    from fame_bench.methods.moco import build_clip_augment
    from fame_bench.runtime import autocast_dtype

    with pytest.raises(ValueError, match="amp_dtype"):
        PretrainConfig.preset("ci", amp_dtype="float8")
    assert PretrainConfig.preset("paper", amp_dtype="fp16").amp_dtype == "fp16"
    assert PretrainConfig().amp_dtype == "bf16"  # bfloat16 where the GPU supports it
    assert autocast_dtype("bf16", torch.device("cpu")) == torch.bfloat16
    assert autocast_dtype("fp16", torch.device("cpu")) == torch.float16
    assert build_clip_augment("fame")._stage is mask_stage
    assert build_clip_augment("fame", fame_compile=True)._stage is not mask_stage


def test_tensorboard_mirrors_the_metrics_rows(tmp_path, monkeypatch):
    from fame_bench.train import loop

    scalars = []

    class FakeWriter:
        def add_scalar(self, tag, value, step):
            scalars.append((tag, value, step))

        def close(self):
            scalars.append("closed")

    monkeypatch.setattr(loop, "tensorboard_writer", lambda run_dir: FakeWriter())
    pretrain(tiny(tmp_path, steps=2, tensorboard=True))
    rows = [json.loads(line) for line in
            (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [(tag, v, s) for tag, v, s in scalars[:-1] if tag == "pretrain/loss"] == [
        ("pretrain/loss", r["loss"], r["step"]) for r in rows]
    assert scalars[-1] == "closed"


def test_tensorboard_without_its_package_is_a_clear_error_before_training(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(ValueError, match=r"fame-bench\[tensorboard\]"):
        pretrain(tiny(tmp_path, tensorboard=True))
    assert load_checkpoint(tmp_path / "run") is None  # nothing trained, nothing half-written
