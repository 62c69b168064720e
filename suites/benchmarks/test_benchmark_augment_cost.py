"""pytest-benchmark: FAME against the bare merge, NumPy against PyTorch (``--benchmark-only``).

B = 16 clips of 3x16x112x112 float32. Every FAME benchmark also records, in ``extra_info``, its
ratio to the bare merge measured interleaved, since the absolute times of separate benchmarks
drift with the machine's load; on the CPU by ``cpu_fame_merge_ratio``, the function the CI gate
and ``reports/augmentation_cost.md`` read.
"""

from __future__ import annotations

import pytest
import torch

from fame_bench.augment import fame
from fame_bench.bench.augmentation_cost import (
    BETA,
    RATIO_SHAPE,
    bare_merge,
    cpu_fame_merge_ratio,
    fame_merge_ratio,
    make_batch,
    numpy_torch_ratio,
)
from reference import fame as reference_fame

CUDA = torch.cuda.is_available()
SHAPE = RATIO_SHAPE  # the gate's and the cost report's shape


def _batch(device):
    return make_batch(SHAPE["batch"], SHAPE["frames"], SHAPE["size"], device, seed=0)


def _run(benchmark, call):
    return benchmark.pedantic(call, rounds=5, warmup_rounds=1, iterations=1)


@pytest.mark.benchmark(group="fame-cpu")
def test_bare_merge_cpu(benchmark):
    clips, background, mask = _batch("cpu")
    _run(benchmark, lambda: bare_merge(mask, clips, background))


@pytest.mark.benchmark(group="fame-cpu")
def test_fame_torch_cpu(benchmark):
    clips, _, _ = _batch("cpu")
    with torch.no_grad():
        merged, mask = _run(benchmark, lambda: fame(clips, BETA))
    assert merged.shape == clips.shape
    # the gate's and the report's own measurement (one timing path)
    benchmark.extra_info["ratio_vs_bare_merge"] = cpu_fame_merge_ratio(repeats=3)["ratio"]


@pytest.mark.benchmark(group="fame-cpu")
def test_fame_numpy_reference(benchmark):
    clips, _, _ = _batch("cpu")
    array = clips.numpy()
    merged, _ = _run(benchmark, lambda: reference_fame.fame(array, BETA))
    assert merged.shape == array.shape
    benchmark.extra_info["ratio_vs_torch_cpu"] = numpy_torch_ratio(**SHAPE, repeats=3)["ratio"]


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.benchmark(group="fame-cuda")
def test_bare_merge_cuda(benchmark):
    clips, background, mask = _batch("cuda")

    def call():
        out = bare_merge(mask, clips, background)
        torch.cuda.synchronize()
        return out

    _run(benchmark, call)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.benchmark(group="fame-cuda")
def test_fame_cuda(benchmark):
    clips, _, _ = _batch("cuda")

    def call():
        with torch.no_grad():
            out = fame(clips, BETA)
        torch.cuda.synchronize()
        return out

    _run(benchmark, call)
    benchmark.extra_info["ratio_vs_bare_merge"] = fame_merge_ratio(
        **SHAPE, repeats=10, device="cuda")["ratio"]
