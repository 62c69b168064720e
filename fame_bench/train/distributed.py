"""torchrun / DistributedDataParallel set-up: NCCL on GPUs, gloo on CPU.

A process started by ``torchrun`` (or any launcher that sets ``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``) joins the process group; otherwise training is single-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

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
    global _waiting_group
    if info.initialised_here and dist.is_initialized():
        _waiting_group = None  # destroyed with the default group
        dist.destroy_process_group()


def launched_world_size() -> int:
    """The number of processes the launcher started (``WORLD_SIZE``; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_rank() -> int:
    """This process's rank as the launcher set it (``RANK``; 0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


def multi_rank() -> bool:
    """Whether this process is one rank of several in an initialised process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_main_rank() -> bool:
    """Rank 0 of the process group, or the only process."""
    return not multi_rank() or dist.get_rank() == 0


#: How long a rank waits for the main rank's object (``broadcast_from_main``): the main rank
#: may be evaluating alone for hours at paper scale (11,200 finetune steps), far past the default
#: collective timeout, which stays the one of training (it catches a hung rank there).
MAIN_RANK_WAIT = timedelta(days=2)
_waiting_group = None


def broadcast_from_main(obj):
    """``obj`` as rank 0 passed it, on every rank (a picklable object; identity on one rank).

    Goes through a gloo group of its own with the long ``MAIN_RANK_WAIT`` timeout (and no GPU
    tensors), created the first time every rank calls this."""
    global _waiting_group
    if not multi_rank():
        return obj
    if _waiting_group is None:
        _waiting_group = dist.new_group(backend="gloo", timeout=MAIN_RANK_WAIT)
    box = [obj if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(box, src=0, group=_waiting_group)
    return box[0]


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """All-reduce mean of a scalar tensor (identity on one rank)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= dist.get_world_size()
    return value
