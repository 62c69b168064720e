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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_worker(rank: int, world_size: int, port: int, cfg_dict: dict, results) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    from fame_bench.train.config import PretrainConfig
    from fame_bench.train.loop import pretrain

    result = pretrain(PretrainConfig.from_dict(cfg_dict))
    if rank == 0:
        results.put(result)


def pretrain_local_processes(cfg, world_size: int = 2) -> dict:
    """Run ``pretrain(cfg)`` in ``world_size`` local processes (gloo on CPU, the torchrun layout
    without torchrun); returns rank 0's result. For tests and CPU-only machines."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    mp.spawn(_local_worker, args=(world_size, _free_port(), cfg.to_dict(), results),
             nprocs=world_size, join=True)
    return results.get()
