"""Learnability checks on hand-made run records: chance losses, each check's pass, fail and
not-evaluated cases."""

from __future__ import annotations

import math

import pytest

from fame_bench.reports import validity
from fame_bench.reports.stats import group_by_name


def record(name: str, seed: int, motion: float | None, method: str = "moco",
           augment: str = "none", split: str = "train", curve=None, **pretrain) -> dict:
    config = {"queue_size": 512, "supervised_split": split, "vthcl_levels": ["res3", "res4",
                                                                            "res5"],
              "vthcl_num_negatives": 16384, "vthcl_negatives": "bank", "num_videos": 0,
              **pretrain}
    curve = curve if curve is not None else [[0, 6.3], [50, 5.0], [90, 3.0], [99, 2.8]]
    return {"name": name, "seed": seed, "method": method,
            "augment": {"kind": augment, "beta": 0.5, "variant": "fame", "both": False},
            "config": {"pretrain": config, "data": {"num_classes": 10, "n_pretrain": 2000}},
            "pretrain": None if method == "random" else {"steps": 100, "loss_curve": curve},
            "eval": {"linear": {} if motion is None else {"motion_probe_swapped": motion}}}


def table(oracle=(0.7, 0.72, 0.69), random=(0.10, 0.11, 0.09), moco=(0.20, 0.22, 0.21),
          moco_curve=None) -> dict:
    records = [record("oracle", s, v, "supervised", split="train_unbiased",
                      curve=[[0, 2.3], [90, 0.5], [99, 0.4]]) for s, v in enumerate(oracle)]
    records += [record("random", s, v, "random") for s, v in enumerate(random)]
    records += [record("moco", s, v, curve=moco_curve) for s, v in enumerate(moco)]
    records += [record("moco_fame_b0.5", s, 0.2, augment="fame") for s in range(3)]
    return group_by_name(records)


def by_key(checks):
    return {c.key: c for c in checks}


def test_chance_loss_per_method():
    assert validity.chance_loss(record("m", 0, 0.1)) == pytest.approx(math.log(513))
    assert validity.chance_loss(record("s", 0, 0.1, "supervised")) == pytest.approx(math.log(10))
    # VTHCL, memory bank of 2000 videos < 16384 negatives: all 2000 entries are drawn;
    # 3 levels x 2 directions of InfoNCE over 1 + 2000 logits
    vthcl = record("v", 0, 0.1, "vthcl")
    assert validity.chance_loss(vthcl) == pytest.approx(6 * math.log(2001))
    fewer = record("v", 0, 0.1, "vthcl", vthcl_num_negatives=255, vthcl_levels=["res5"])
    assert validity.chance_loss(fewer) == pytest.approx(2 * math.log(256))
    queue = record("v", 0, 0.1, "vthcl", vthcl_negatives="queue", vthcl_num_negatives=4096)
    assert validity.chance_loss(queue) == pytest.approx(6 * math.log(4097))
    real = record("v", 0, 0.1, "vthcl")
    real["config"]["data"] = {"dataset": "ucf101", "root": "/x", "size": 112}
    assert validity.chance_loss(real) is None
    assert validity.chance_loss(record("r", 0, 0.1, "random")) is None


def test_tail_loss_is_the_mean_of_the_last_tenth_of_the_steps():
    r = record("m", 0, 0.1, curve=[[0, 6.0], [85, 5.0], [90, 4.0], [95, 3.0], [99, 2.0]])
    assert validity.tail_loss(r) == pytest.approx((4.0 + 3.0 + 2.0) / 3)  # steps ≥ 89.1
    assert validity.tail_loss(record("r", 0, 0.1, "random")) is None


def test_every_check_passes_on_a_learnable_preset():
    checks = validity.learnability_checks(table())
    assert [c.mark for c in checks] == ["✓"] * 4 + ["–"], [c.line() for c in checks]
    assert "no finetune motion probe" in by_key(checks)["finetune_keeps"].detail
    assert validity.failed(checks) == []
    assert "oracle motion probe 70.3" in by_key(checks)["oracle_learns"].detail
    assert "moco − random per seed: +11.0 points" in by_key(checks)["moco_beats_random"].detail


def test_each_check_fails_on_its_own_symptom():
    weak_oracle = by_key(validity.learnability_checks(table(oracle=(0.4, 0.45, 0.5))))
    assert weak_oracle["oracle_learns"].passed is False
    easy_probe = by_key(validity.learnability_checks(table(random=(0.3, 0.3, 0.3))))
    assert easy_probe["random_floor"].passed is False
    flat = by_key(validity.learnability_checks(table(moco_curve=[[0, 6.2], [90, 5.9],
                                                                 [99, 5.8]])))
    assert flat["loss_falls"].passed is False
    assert "moco 5.850 = 94 % of chance 6.240 ✗" in flat["loss_falls"].detail
    assert "moco_fame_b0.5 2.900" in flat["loss_falls"].detail  # the other rows still listed
    # MoCo above random on average, but not on every seed: within noise is a failure
    noisy = by_key(validity.learnability_checks(table(moco=(0.25, 0.08, 0.13))))
    assert noisy["moco_beats_random"].passed is False
    assert [c.key for c in validity.failed(list(noisy.values()))] == ["moco_beats_random"]


def test_checks_without_their_rows_are_not_evaluated_with_a_reason():
    groups = table()
    only_methods = {k: v for k, v in groups.items() if k.startswith("moco")}
    checks = by_key(validity.learnability_checks(only_methods))
    assert checks["oracle_learns"].passed is None and checks["oracle_learns"].mark == "–"
    assert "no oracle row in this table" in checks["oracle_learns"].detail
    assert "no random-init row" in checks["moco_beats_random"].detail
    assert checks["loss_falls"].passed is True  # evaluated on the rows that are there
    one_seed = {k: v[:1] for k, v in groups.items()}
    assert "one common seed" in by_key(validity.learnability_checks(one_seed))[
        "moco_beats_random"].detail
    real = {k: [{**r, "eval": {"linear": {"top1": 0.5}}} for r in v] for k, v in groups.items()}
    assert by_key(validity.learnability_checks(real))["oracle_learns"].passed is None


def test_rows_are_found_by_their_records_not_their_names():
    groups = {f"gate_{k}": v for k, v in table().items()}
    supervised = [record("supervised", s, 0.3, "supervised", curve=[[0, 2.3], [99, 0.5]])
                  for s in range(3)]
    groups = {"supervised": supervised, **groups}  # supervised on biased labels: no oracle
    assert validity.find_row(groups, validity.is_oracle) == "gate_oracle"
    assert validity.find_row(groups, validity.is_plain_moco) == "gate_moco"
    checks = validity.learnability_checks(groups)
    assert all(c.passed for c in checks[:4]) and validity.failed(checks) == []
    assert validity.learnability_checks(groups)[0].to_dict()["mark"] == "✓"


def test_finetune_check_reads_the_oracles_finetune_motion_probe():
    def with_finetune(values):
        groups = table()
        for r, v in zip(groups["oracle"], values, strict=True):
            r["eval"]["finetune"] = {"motion_probe_swapped": v}
        return by_key(validity.learnability_checks(groups))["finetune_keeps"]

    kept = with_finetune((0.9, 0.85, 0.88))
    assert kept.passed is True and "oracle finetune motion probe 87.7" in kept.detail
    lost = with_finetune((0.10, 0.12, 0.09))  # finetuning from the oracle's weights lost it
    assert lost.passed is False
    assert [c.key for c in validity.failed([lost])] == ["finetune_keeps"]
