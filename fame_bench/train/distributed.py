"""torchrun / DistributedDataParallel set-up: NCCL on GPUs, gloo on CPU.

A process started by ``torchrun`` (or any launcher that sets ``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``) joins the process group; otherwise training is single-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from fame_bench.runtime import resolve_device


@dataclass
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    initialised_here: bool

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device_name: str) -> DistInfo:
    """Join the process group when the launcher's environment says so."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", "0")))
    device = resolve_device(device_name, local_rank)
    if world_size == 1:
        return DistInfo(0, 1, 0, device, False)
    created = False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        created = True
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, device, created)


def teardown(info: DistInfo) -> None:
    if info.initialised_here and dist.is_initialized():
        dist.destroy_process_group()


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """All-reduce mean of a scalar tensor (identity on one rank)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= dist.get_world_size()
    return value
