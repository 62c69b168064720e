"""The cost measurements behind reports/augmentation_cost.md, on tiny clips (speed, not figures)."""

from __future__ import annotations

from fame_bench.bench.augmentation_cost import (
    DTYPES,
    bare_merge,
    fame_merge_ratio,
    make_batch,
    measure_all,
    render,
)
from fame_bench.bench.report_sections import find_gpu_block, placeholder_block


def test_fame_merge_ratio_returns_medians_and_their_ratio():
    result = fame_merge_ratio(batch=2, frames=2, size=16, repeats=2)
    assert {"fame_ms", "merge_ms", "ratio", "mask_share", "select_share"} <= result.keys()
    assert result["fame_ms"] > 0 and result["merge_ms"] > 0
    assert abs(result["ratio"] - result["fame_ms"] / result["merge_ms"]) < 1e-9


def test_report_names_the_machine_targets_and_unmeasured_gpu_rows():
    results = measure_all(repeats=1, compile_variant=False, frames=2, size=16)
    text = render(results)
    assert "FAME / bare merge" in text and "NumPy reference / PyTorch FAME" in text
    assert "1.5x" in text and "torch threads" in text
    assert find_gpu_block(text) == placeholder_block()  # filled by device_check on a GPU
    assert f"{results['cpu']['ratio']:.2f}" in text


def test_uint8_and_bfloat16_batches_and_every_variant_are_timed():
    for dtype in ("uint8", "bfloat16"):
        clips, background, mask = make_batch(2, 2, 8, "cpu", 0, dtype)
        assert clips.dtype == background.dtype == mask.dtype == DTYPES[dtype]
        assert bare_merge(mask, clips, background).dtype == DTYPES[dtype]
    for variant in ("seed", "grid", "gauss"):
        result = fame_merge_ratio(batch=2, frames=2, size=8, repeats=1, variant=variant,
                                  dtype="uint8")
        assert result["variant"] == variant and result["fame_ms"] > 0
