"""pytest-benchmark: what a user chooses between, on CPU at small sizes (``--benchmark-only``).

Groups (each with its baseline; ``extra_info["ratio_vs_<baseline>"]`` is measured interleaved):

- ``mask-variants``: FAME with each mask variant (fame, seed, grid, gauss) and BE, against the
  bare merge of the same tensors; B = 8 clips of 3x8x32².
- ``input-dtype``: FAME on uint8 / bfloat16 clips against float32.
- ``batch-size``: FAME at B = 64 against B = 8 (``per_clip_ratio``: the ratio per clip).
- ``colour-jitter``: the batched colour jitter against torchvision v2 ``ColorJitter`` applied clip
  by clip (one draw per clip, as ours), B = 8 clips of 3x8x32².
"""

from __future__ import annotations

import pytest
import torch

from fame_bench.augment import BE, fame
from fame_bench.augment.fame import MASK_VARIANTS
from fame_bench.bench.augmentation_cost import BETA, bare_merge, make_batch
from fame_bench.data.transforms import batch_color_jitter
from suites.benchmarks.interleaved import bench

FRAMES, SIZE, BATCH = 8, 32, 8


def _clips(batch: int = BATCH, dtype: str = "float32"):
    return make_batch(batch, FRAMES, SIZE, "cpu", seed=0, dtype=dtype)


@pytest.mark.benchmark(group="mask-variants")
def test_bare_merge(benchmark):
    clips, background, mask = _clips()
    bench(benchmark, lambda: bare_merge(mask, clips, background))


@pytest.mark.benchmark(group="mask-variants")
@pytest.mark.parametrize("variant", MASK_VARIANTS)
def test_fame_variant(benchmark, variant):
    clips, background, mask = _clips()
    merged, _ = bench(benchmark, lambda: fame(clips, BETA, variant=variant),
                      lambda: bare_merge(mask, clips, background), "bare_merge")
    assert merged.shape == clips.shape


@pytest.mark.benchmark(group="mask-variants")
def test_background_erasing(benchmark):
    clips, background, mask = _clips()
    erase = BE(max_weight=0.3)
    generator = torch.Generator().manual_seed(0)
    out = bench(benchmark, lambda: erase(clips, generator=generator),
                lambda: bare_merge(mask, clips, background), "bare_merge")
    assert out.shape == clips.shape


@pytest.mark.benchmark(group="input-dtype")
@pytest.mark.parametrize("dtype", ["float32", "uint8", "bfloat16"])
def test_fame_input_dtype(benchmark, dtype):
    clips, _, _ = _clips(dtype=dtype)
    reference, _, _ = _clips()
    baseline = None if dtype == "float32" else (lambda: fame(reference, BETA))
    merged, _ = bench(benchmark, lambda: fame(clips, BETA), baseline, "float32")
    assert merged.dtype == clips.dtype


@pytest.mark.benchmark(group="batch-size")
@pytest.mark.parametrize("batch", [8, 64])
def test_fame_batch_size(benchmark, batch):
    clips, _, _ = _clips(batch)
    small, _, _ = _clips(8)
    baseline = None if batch == 8 else (lambda: fame(small, BETA))
    bench(benchmark, lambda: fame(clips, BETA), baseline, "batch_8")
    if baseline is not None:
        benchmark.extra_info["per_clip_ratio"] = \
            benchmark.extra_info["ratio_vs_batch_8"] * 8 / batch


def _torchvision_per_clip(clips: torch.Tensor, jitter) -> torch.Tensor:
    """torchvision v2 on each clip ``(T, C, H, W)``: one parameter draw per clip."""
    return torch.stack([jitter(clip.transpose(0, 1)).transpose(0, 1) for clip in clips])


@pytest.mark.benchmark(group="colour-jitter")
def test_colour_jitter_torchvision_per_clip(benchmark):
    v2 = pytest.importorskip("torchvision.transforms.v2")
    clips, _, _ = _clips()
    jitter = v2.ColorJitter(0.4, 0.4, 0.4, 0.1)
    out = bench(benchmark, lambda: _torchvision_per_clip(clips, jitter))
    assert out.shape == clips.shape


@pytest.mark.benchmark(group="colour-jitter")
def test_colour_jitter_batched(benchmark):
    v2 = pytest.importorskip("torchvision.transforms.v2")
    clips, _, _ = _clips()
    jitter = v2.ColorJitter(0.4, 0.4, 0.4, 0.1)
    generator = torch.Generator().manual_seed(0)
    out = bench(benchmark, lambda: batch_color_jitter(clips, generator, p=1.0),
                lambda: _torchvision_per_clip(clips, jitter), "torchvision_per_clip")
    assert out.shape == clips.shape
