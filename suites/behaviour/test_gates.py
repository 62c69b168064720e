"""CI regression gates: the comparison, the baseline file, and a broken FAME mask failing them."""

from __future__ import annotations

import importlib
import json

import pytest
import torch

from fame_bench import gates
from fame_bench.gates import GateResult, compare, updated_baselines

BASE = {"figures": {
    "acc": {"value": 0.50, "tolerance": 0.05, "direction": "higher_is_better",
            "set_by_commit": "abc123"},
    "cost": {"value": 1.5, "tolerance": 0.5, "direction": "lower_is_better",
             "set_by_commit": "abc123"},
}}


def test_compare_passes_within_tolerance_and_fails_beyond():
    ok = compare({"acc": 0.46, "cost": 1.9}, BASE)
    assert all(r.passed for r in ok)
    bad = {r.figure: r for r in compare({"acc": 0.44, "cost": 2.1}, BASE)}
    assert not bad["acc"].passed and not bad["cost"].passed
    message = bad["acc"].message()
    assert "REGRESSION" in message and "acc" in message
    assert "0.4400" in message and "0.5000" in message and "abc123" in message


def test_unmeasured_baseline_fails_and_unknown_figure_is_not_gated():
    results = {r.figure: r for r in compare({"acc": 0.6, "new": 1.0}, BASE)}
    assert not results["cost"].passed  # a gate must not silently vanish
    assert results["new"].passed and not results["new"].gated


def test_direction_must_be_known():
    with pytest.raises(ValueError, match="direction"):
        _ = GateResult("x", 1.0, 1.0, 0.1, "sideways").passed


def test_update_keeps_tolerance_and_records_commit():
    new = updated_baselines({"acc": 0.61234567}, BASE, "def456", (0, 1))
    assert new["figures"]["acc"] == {"value": 0.6123, "tolerance": 0.05,
                                     "direction": "higher_is_better",
                                     "set_by_commit": "def456", "note": ""}
    assert new["seeds"] == [0, 1] and new["preset"] == "ci"


def test_committed_baselines_are_complete():
    baselines = json.loads(gates.BASELINES.read_text())
    assert set(baselines["figures"]) == set(gates.DIRECTION)
    for name, entry in baselines["figures"].items():
        assert entry["direction"] == gates.DIRECTION[name]
        assert entry["tolerance"] > 0 and entry["set_by_commit"], name


def _fame_module():
    # ``fame_bench.augment.fame`` the attribute is the function; the module is in sys.modules.
    return importlib.import_module("fame_bench.augment.fame")


def _broken_stage(kind: str, calls: list):
    """A stand-in for FAME's mask stage (``mask_stage(clips, count, variant, hue, centres,
    mc_downsample) -> ((B, H, W) bool, in_range)``), the step ``fame()`` calls for every
    batch, in training and in the gate alike."""

    def stage(clips, count, variant="fame", hue="code", centres=None, mc_downsample=1):
        calls.append(kind)
        shape = (clips.shape[0], *clips.shape[-2:])
        if kind == "all-ones":
            return torch.ones(shape, dtype=torch.bool), None
        if kind == "all-zeros":
            return torch.zeros(shape, dtype=torch.bool), None
        g = torch.Generator().manual_seed(0)
        return torch.rand(shape, generator=g) < 0.5, None

    return stage


@pytest.mark.parametrize("broken", ["all-ones", "all-zeros", "random"])
def test_broken_mask_fails_the_mask_gate(monkeypatch, broken):
    baselines = json.loads(gates.BASELINES.read_text())
    calls: list = []
    monkeypatch.setattr(_fame_module(), "mask_stage", _broken_stage(broken, calls))
    measured = {"fame_mask_iou": gates.measure_mask_iou()}
    assert calls, "the injected mask stage was not used: fame() no longer calls mask_stage"
    result = next(r for r in compare(measured, baselines) if r.figure == "fame_mask_iou")
    assert not result.passed, result.message()
    assert "REGRESSION: fame_mask_iou" in result.message()


def test_intact_mask_passes_the_mask_gate():
    baselines = json.loads(gates.BASELINES.read_text())
    measured = {"fame_mask_iou": gates.measure_mask_iou()}
    result = next(r for r in compare(measured, baselines) if r.figure == "fame_mask_iou")
    assert result.passed, result.message()


def test_main_exits_non_zero_naming_figure_baseline_and_value(monkeypatch, capsys, tmp_path):
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps(BASE))
    monkeypatch.setattr(gates, "measure", lambda seeds, runs_dir, parts: (
        {"acc": 0.30, "cost": 1.2}, {"info": 1.0}, []))
    assert gates.main(["--baselines", str(path)]) == 1
    err = capsys.readouterr().err
    assert "GATE FAILED" in err and "acc" in err and "0.3000" in err and "0.5000" in err
    monkeypatch.setattr(gates, "measure", lambda seeds, runs_dir, parts: (
        {"acc": 0.52, "cost": 1.2}, {}, []))
    assert gates.main(["--baselines", str(path)]) == 0


# --- learnability checks on the gate's runs -----------------------------------------------------


def gate_record(key: str, seed: int, motion: float, loss_end: float = 2.0) -> dict:
    """A record as the gate's run of ``key`` (``gate_specs``) would write it."""
    spec = gates.gate_specs()[key]
    method = spec.method
    chance_start = {"moco": 6.2, "supervised": 2.3}.get(method, 0.0)
    return {"name": spec.name, "seed": seed, "method": method,
            "augment": spec.augment_record("first" if method == "moco" else None),
            "config": {"pretrain": {"queue_size": 512, **dict(spec.pretrain_overrides)},
                       "data": {"num_classes": 10, "n_pretrain": 2000}},
            "pretrain": None if method == "random" else {
                "steps": 100, "loss_curve": [[0, chance_start], [95, loss_end],
                                             [99, loss_end]]},
            "eval": {"linear": {"motion_probe_swapped": motion}}}


def gate_runs(oracle=0.7, oracle_loss=0.5, fame_loss=2.0) -> dict:
    motion = {"moco": (0.25, 0.27), "fame": (0.3, 0.31), "random": (0.10, 0.11),
              "oracle": (oracle, oracle)}
    loss = {"oracle": oracle_loss, "fame": fame_loss}
    return {key: [gate_record(key, s, v, loss.get(key, 2.0))
                  for s, v in enumerate(values)] for key, values in motion.items()}


def test_gate_specs_hold_the_rows_the_checks_need():
    specs = gates.gate_specs()
    assert specs["random"].method == "random"
    assert specs["oracle"].method == "supervised"
    assert dict(specs["oracle"].pretrain_overrides)["supervised_split"] == "train_unbiased"
    assert all(dict(s.eval_overrides)["finetune_steps"] == 0 for s in specs.values())
    assert len({s.name for s in specs.values()}) == len(specs)


def test_learnability_on_gate_runs_passes_and_fails():
    good = gates.learnability(gate_runs())
    assert [c.passed for c in good] == [True] * 4 + [None], [c.line() for c in good]  # no finetune
    bad = {c.key: c for c in gates.learnability(gate_runs(oracle=0.3, oracle_loss=2.2))}
    assert bad["oracle_learns"].passed is False and bad["loss_falls"].passed is False
    assert bad["random_floor"].passed and bad["moco_beats_random"].passed


def _measured_with(checks):
    def measure(seeds, runs_dir, parts):
        measure.parts = parts
        return {"acc": 0.52, "cost": 1.2}, {}, checks
    return measure


def test_a_failed_learnability_check_fails_the_gates(monkeypatch, capsys, tmp_path):
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps(BASE))
    failing = gates.learnability(gate_runs(oracle=0.3))
    monkeypatch.setattr(gates, "measure", _measured_with(failing))
    assert gates.main(["--baselines", str(path)]) == 1
    captured = capsys.readouterr()
    assert "LEARNABILITY CHECK FAILED — ✗ oracle" in captured.err
    assert "✓ random-init motion probe ≤ 15 %" in captured.out  # every check is printed
    monkeypatch.setattr(gates, "measure", _measured_with(gates.learnability(gate_runs())))
    assert gates.main(["--baselines", str(path)]) == 0


def test_checks_only_skips_baselines_and_exits_by_the_checks(monkeypatch, capsys, tmp_path):
    missing = tmp_path / "no-baselines.json"  # never read with --checks-only
    measure = _measured_with(gates.learnability(gate_runs()))
    monkeypatch.setattr(gates, "measure", measure)
    assert gates.main(["--checks-only", "--baselines", str(missing)]) == 0
    assert measure.parts == ("accuracy",)
    assert "all learnability checks pass" in capsys.readouterr().out
    monkeypatch.setattr(gates, "measure", _measured_with(gates.learnability(
        gate_runs(oracle=0.2))))
    assert gates.main(["--checks-only", "--baselines", str(missing)]) == 1
    with pytest.raises(SystemExit):
        gates.main(["--checks-only", "--update"])


def test_a_known_learnability_failure_is_reported_and_only_a_new_one_fails(
        monkeypatch, capsys, tmp_path):
    path = tmp_path / "baselines.json"
    fame_loss_high = gates.learnability(gate_runs(fame_loss=6.0))
    loss = {c.key: c for c in fame_loss_high}["loss_falls"]
    assert loss.passed is False and len(loss.failing) == 1
    known = {"loss_falls": {"rows": list(loss.failing), "reason": "measured at calibration"}}
    path.write_text(json.dumps({**BASE, "known_learnability_failures": known}))
    monkeypatch.setattr(gates, "measure", _measured_with(fame_loss_high))
    assert gates.main(["--baselines", str(path)]) == 0
    assert "known failure, recorded in the baselines" in capsys.readouterr().out
    # another row failing the same check is a regression
    both = gates.learnability(gate_runs(fame_loss=6.0, oracle_loss=2.3))
    monkeypatch.setattr(gates, "measure", _measured_with(both))
    assert gates.main(["--baselines", str(path)]) == 1
    # --update keeps the written-down failures
    kept = gates.updated_baselines({"acc": 0.5}, json.loads(path.read_text()), "abc", (0, 1))
    assert kept["known_learnability_failures"] == known
