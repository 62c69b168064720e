"""pytest-benchmark: one training step per method, so FAME's share of a step is a benchmark too.

Group ``train-step``: MoCo (the baseline), MoCo + FAME, MoCo + BE and VTHCL, each one full step
(batch, forward, loss, backward, SGD, momentum/queue updates) of the ci preset's tiny R(2+1)D on
B = 8 random videos of 32². ``extra_info``: ``ratio_vs_moco`` (interleaved) and, for FAME and
BE, ``augment_share``: the time inside the augmentation over the step's, summed over the timed
steps (the loop's own measure).
"""

from __future__ import annotations

import pytest
import torch

from fame_bench.methods.registry import build_method
from fame_bench.train.batches import InMemoryVideos, clip_span, make_batch, step_generator
from fame_bench.train.config import PretrainConfig
from fame_bench.train.loop import build_optimizer
from suites.benchmarks.interleaved import bench

BATCH, SIZE = 8, 32
ROWS = {
    "moco": dict(method="moco"),
    "moco_fame": dict(method="moco", augment="fame"),
    "moco_be": dict(method="moco", augment="be"),
    "vthcl": dict(method="vthcl", vthcl_num_negatives=8),
}


class Step:
    """One training step of ``row`` per call, on fixed random videos; times the augmentation."""

    def __init__(self, row: str):
        self.cfg = PretrainConfig.preset("ci", batch_size=BATCH, queue_size=4 * BATCH,
                                         device="cpu", progress=False, **ROWS[row])
        generator = torch.Generator().manual_seed(0)
        videos = torch.randint(0, 256, (2 * BATCH, 3, clip_span(self.cfg), SIZE, SIZE),
                               dtype=torch.uint8, generator=generator)
        self.data = InMemoryVideos(videos, torch.arange(2 * BATCH) % 4)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.method = build_method(self.cfg, len(self.data), 4,
                                       generator=step_generator(0, 0, stream=303))
        self.method.train()
        self.optimizer = build_optimizer(self.cfg, [p for p in self.method.parameters()
                                                    if p.requires_grad])
        self.step, self.augment_s, self.step_s = 0, 0.0, 0.0

    def __call__(self) -> float:
        import time

        start = time.perf_counter()
        batch = make_batch(self.data, self.cfg, self.step, 0, 1, torch.device("cpu"))
        loss, stats = self.method(batch, step_generator(0, self.step, stream=1000))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.method.after_step()
        self.step += 1
        self.step_s += time.perf_counter() - start
        self.augment_s += float(stats.get("augment_s", 0.0))
        return float(loss.detach())


@pytest.mark.benchmark(group="train-step")
@pytest.mark.parametrize("row", list(ROWS))
def test_training_step(benchmark, row):
    step = Step(row)
    baseline = None if row == "moco" else Step("moco")
    loss = bench(benchmark, step, baseline, "moco", grad=True)
    assert loss == loss  # finite: NaN != NaN
    if row in ("moco_fame", "moco_be"):
        benchmark.extra_info["augment_share"] = step.augment_s / step.step_s
