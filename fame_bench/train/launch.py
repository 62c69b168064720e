"""Run ``pretrain`` in several local processes (gloo on CPU): the torchrun layout without
torchrun, for tests and CPU-only machines. Sits above ``loop`` (which uses ``distributed``)."""

from __future__ import annotations

import os
import socket

import torch.multiprocessing as mp

from fame_bench.train.config import PretrainConfig
from fame_bench.train.loop import pretrain


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_worker(rank: int, world_size: int, port: int, cfg_dict: dict, results) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    result = pretrain(PretrainConfig.from_dict(cfg_dict))
    if rank == 0:
        results.put(result)


def pretrain_local_processes(cfg, world_size: int = 2) -> dict:
    """Run ``pretrain(cfg)`` in ``world_size`` local processes (gloo on CPU, the torchrun layout
    without torchrun); returns rank 0's result. For tests and CPU-only machines."""
    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    mp.spawn(_local_worker, args=(world_size, _free_port(), cfg.to_dict(), results),
             nprocs=world_size, join=True)
    return results.get()
