"""Each benchmark's ratio to its group's baseline, measured interleaved.

pytest-benchmark times each test on its own, so two tests' times drift apart with the load of a
shared machine. The ratio a user compares is therefore measured again inside the test,
interleaved with the baseline (``fame_bench.bench.timing.interleaved_medians``), and stored in
``extra_info`` as ``ratio_vs_<baseline>`` next to the absolute times.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from fame_bench.bench.timing import interleaved_medians

ROUNDS = 5
RATIO_REPEATS = 21  # medians of µs-scale ops on a shared machine need many repeats


def bench(benchmark, call: Callable[[], object], baseline: Callable[[], object] | None = None,
          baseline_name: str = "", rounds: int = ROUNDS, grad: bool = False):
    """Time ``call`` with pytest-benchmark (under ``no_grad`` unless ``grad``); with a
    ``baseline``, also store ``this / baseline`` (medians, interleaved) as
    ``extra_info["ratio_vs_<baseline_name>"]``. Returns ``call()``'s result from the benchmark."""
    with torch.set_grad_enabled(grad):
        result = benchmark.pedantic(call, rounds=rounds, warmup_rounds=1, iterations=1)
        if baseline is None:
            benchmark.extra_info["baseline"] = True
        else:
            medians = interleaved_medians({"this": call, "baseline": baseline}, RATIO_REPEATS)
            benchmark.extra_info[f"ratio_vs_{baseline_name}"] = \
                medians["this"] / medians["baseline"]
    return result
