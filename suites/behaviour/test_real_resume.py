"""Resuming on a real dataset skips the consumed batches by slicing the sampler: the batches
that follow are the uninterrupted run's, and no consumed video is loaded again."""

import itertools

import torch
from torch.utils.data import Dataset

from fame_bench.train.config import PretrainConfig
from fame_bench.train.distributed import DistInfo
from fame_bench.train.real_batches import real_dataset_batches


class CountingVideos(Dataset):
    """Ten fake videos; each item's clip depends on (epoch, index), as the real datasets'."""

    def __init__(self) -> None:
        self.loaded: list[int] = []
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return 10

    def __getitem__(self, index: int) -> dict:
        self.loaded.append(index)
        value = (self.epoch * 100 + index) % 255
        return {"index": torch.tensor(index),
                "clips": torch.full((2, 3, 2, 4, 4), value, dtype=torch.uint8)}


def _batches(start_step: int, count: int):
    cfg = PretrainConfig.preset("ci", method="moco", batch_size=4, num_workers=0)
    info = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"),
                    initialised_here=False)
    dataset = CountingVideos()
    stream = real_dataset_batches(cfg, info, start_step, dataset, skipped=[0])
    return [b["index"].tolist() for b in itertools.islice(stream, count)], dataset.loaded


def test_resume_continues_the_uninterrupted_sequence_across_epochs():
    # 10 videos, batch 4, drop_last: 2 batches an epoch; steps 0..5 span three epochs
    full, _ = _batches(0, 6)
    for start in (1, 2, 3, 5):
        resumed, _ = _batches(start, 6 - start)
        assert resumed == full[start:]


def test_resume_loads_no_consumed_video():
    full, _ = _batches(0, 2)
    resumed, loaded = _batches(1, 1)
    assert resumed == full[1:]
    assert loaded == full[1]  # only the batch it trains on, not step 0's videos first
