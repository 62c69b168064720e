"""Training batches from a real video dataset (``fame_bench.data.video``): a DataLoader over a
DistributedSampler, resumable by step, turned into the method's batch dict on the device.

The synthetic counterpart, ``batches.make_batch``, draws from videos held in memory; both give
the same batch layout for the method's ``batch_kind`` (``fame_bench.methods.base``).
"""

from __future__ import annotations

import itertools

import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from fame_bench.data.video import SkipCollate, build_dataset
from fame_bench.train.batches import batch_kind, to_float_clips
from fame_bench.train.config import PretrainConfig
from fame_bench.train.distributed import DistInfo


def real_dataset(cfg: PretrainConfig):
    """The training split of a real video dataset, clips shaped by ``cfg``."""
    mode = "vthcl" if batch_kind(cfg) == "tempo" else "pretrain"
    stride = cfg.vthcl_slow_stride if mode == "vthcl" else cfg.frame_stride
    return build_dataset(cfg.dataset, cfg.data_root, "train", cfg.fold, mode=mode,
                         clip_len=cfg.clip_len, stride=stride, size=cfg.crop_size or 112,
                         alpha=cfg.vthcl_alpha, same_span=cfg.vthcl_same_span, seed=cfg.seed,
                         flip_p=0.5)


class EpochFrom(Sampler[int]):
    """A ``DistributedSampler``'s indices of one epoch from position ``start`` on.

    A run resumed mid-epoch starts its loader after the batches it has already trained on, so
    they are neither decoded nor loaded again; the indices that follow are the ones an
    uninterrupted run would have drawn (same epoch, same shuffle).
    """

    def __init__(self, sampler: DistributedSampler) -> None:
        self.sampler, self.start = sampler, 0

    def set_position(self, epoch: int, start: int) -> None:
        self.sampler.set_epoch(epoch)
        self.start = start

    def __iter__(self):
        return itertools.islice(iter(self.sampler), self.start, None)

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.start)


def real_dataset_batches(cfg: PretrainConfig, info: DistInfo, start_step: int,
                         dataset, skipped: list[int]):
    """Batches from a real video dataset (``fame_bench.data.video``), resumable by step.

    Bad videos are dropped by the collate (counted and named in warnings and the log); a batch
    that lost items is refilled by repeating its good ones, so every rank keeps the same batch
    shape (MoCo gathers keys across ranks) and no rank skips a step the others take.
    ``skipped[0]`` counts this rank's dropped videos here, in the main process (the collate's
    own count lives in the DataLoader worker that ran it).
    """
    local_batch = cfg.batch_size // info.world_size
    sampler = EpochFrom(DistributedSampler(dataset, num_replicas=info.world_size,
                                           rank=info.rank, shuffle=True, seed=cfg.seed,
                                           drop_last=True))
    collate = SkipCollate()
    loader = DataLoader(dataset, batch_size=local_batch, sampler=sampler,
                        num_workers=cfg.num_workers, collate_fn=collate, drop_last=True,
                        pin_memory=info.device.type == "cuda", persistent_workers=False)
    per_epoch = len(sampler.sampler) // local_batch
    if per_epoch == 0:
        raise ValueError(f"{cfg.dataset}: fewer videos than one batch of {cfg.batch_size}")
    step, last_good = start_step, None
    while True:
        epoch, skip = divmod(step, per_epoch)
        # the loader starts after the batches already trained on (none decoded again)
        sampler.set_position(epoch, skip * local_batch)
        dataset.set_epoch(epoch)  # new clips each epoch, also with num_workers=0
        for items in loader:
            skipped[0] += local_batch - (0 if items is None else len(items["index"]))
            if items is None:
                if last_good is None:
                    raise ValueError(
                        f"{cfg.dataset} under {cfg.data_root!r}: no video of the first batch "
                        f"could be decoded ({collate.count} skipped so far; see the warnings)")
                items = last_good
            items = _refill(items, local_batch)
            last_good = items
            yield _real_batch(items, cfg, info.device)
            step += 1
        # next epoch starts at its first batch
        step = (epoch + 1) * per_epoch


def _refill(items: dict, size: int) -> dict:
    """Repeat the good items of a batch that lost some to bad videos, up to ``size``."""
    tensors = {k: v for k, v in items.items() if isinstance(v, torch.Tensor)}
    n = next(iter(tensors.values())).shape[0]
    if n == size:
        return items
    index = torch.arange(size) % n
    return {**items, **{k: v[index] for k, v in tensors.items()}}


def _real_batch(items: dict, cfg: PretrainConfig, device: torch.device) -> dict:
    out = {"index": items["index"].to(device)} if "index" in items else {}
    if "label" in items:
        out["label"] = items["label"].to(device)
    kind = batch_kind(cfg)
    if kind == "pair":
        clips = items["clips"]  # uint8 (B, 2, C, T, H, W)
        out["views"] = to_float_clips(clips.flatten(0, 1), device, cfg.crop_size).unflatten(
            0, clips.shape[:2])
    elif kind == "tempo":
        out["slow"] = to_float_clips(items["slow"], device, cfg.crop_size)
        out["fast"] = to_float_clips(items["fast"], device, cfg.crop_size)
    else:
        out["clips"] = to_float_clips(items["clips"][:, 0], device, cfg.crop_size)
    return out
