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
    """A stand-in for FAME's mask stage (``mask_stage(clips, count, variant, hue) -> (B, H, W)``
    bool), the step ``fame()`` calls for every batch, in training and in the gate alike."""

    def stage(clips, count, variant="fame", hue="code"):
        calls.append(kind)
        shape = (clips.shape[0], *clips.shape[-2:])
        if kind == "all-ones":
            return torch.ones(shape, dtype=torch.bool)
        if kind == "all-zeros":
            return torch.zeros(shape, dtype=torch.bool)
        g = torch.Generator().manual_seed(0)
        return torch.rand(shape, generator=g) < 0.5

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
    monkeypatch.setattr(gates, "measure", lambda seeds, runs_dir: ({"acc": 0.30, "cost": 1.2},
                                                                    {"info": 1.0}))
    assert gates.main(["--baselines", str(path)]) == 1
    err = capsys.readouterr().err
    assert "GATE FAILED" in err and "acc" in err and "0.3000" in err and "0.5000" in err
    monkeypatch.setattr(gates, "measure", lambda seeds, runs_dir: ({"acc": 0.52, "cost": 1.2},
                                                                    {}))
    assert gates.main(["--baselines", str(path)]) == 0
