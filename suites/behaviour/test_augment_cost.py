"""The cost measurements behind reports/augmentation_cost.md, on tiny clips (speed, not figures)."""

from __future__ import annotations

from fame_bench.bench.augmentation_cost import fame_merge_ratio, measure_all, render


def test_fame_merge_ratio_returns_medians_and_their_ratio():
    result = fame_merge_ratio(batch=2, frames=2, size=16, repeats=2)
    assert {"fame_ms", "merge_ms", "ratio", "mask_share", "select_share"} <= result.keys()
    assert result["fame_ms"] > 0 and result["merge_ms"] > 0
    assert abs(result["ratio"] - result["fame_ms"] / result["merge_ms"]) < 1e-9


def test_report_names_the_machine_targets_and_missing_cuda():
    results = measure_all(repeats=1, compile_variant=False, frames=2, size=16)
    text = render(results)
    assert "FAME / bare merge" in text and "NumPy reference / PyTorch FAME" in text
    assert "1.5x" in text and "torch threads" in text
    if "cuda" not in results:
        assert "no CUDA device in this run" in text
    assert f"{results['cpu']['ratio']:.2f}" in text
