"""The process's compute resources: which device a name means, how many CPU threads a block uses.

At the bottom of the package (torch only): training, evaluation and the benchmarks all resolve
devices and pin threads through here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext

import torch


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` → this process's GPU
    (``cuda:local_rank``); an explicit CUDA request without CUDA is a ``ValueError``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={name!r} but no CUDA device is available; "
                             "use 'cpu' or 'auto'")
        if device.index is None:
            return torch.device("cuda", local_rank)
    return device


@contextmanager
def cpu_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` intra-op CPU threads (0: unchanged), then restore the
    count it had before."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def autocast_dtype(name: str, device: torch.device) -> torch.dtype:
    """``"bf16"`` → bfloat16 where the device supports it (else float16); ``"fp16"`` → float16."""
    if name == "bf16" and (device.type != "cuda" or torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def cuda_autocast(device: torch.device, amp_dtype: str):
    """Autocast context for a forward pass on ``device``: ``amp_dtype`` ("bf16" | "fp16") on
    CUDA; nothing on the CPU and for ``"none"`` (float32 there, bit for bit as without it)."""
    if not _autocasts(device, amp_dtype):
        return nullcontext()
    return torch.autocast(device_type="cuda", dtype=autocast_dtype(amp_dtype, device))


def outside_autocast(fn: Callable) -> Callable:
    """``fn`` run with any enabled autocast turned off for its duration.

    For the augmentations: preprocessing, computed in the clips' own dtype even inside a
    training step's autocast. Under CUDA autocast a blur's ``conv2d`` comes out bfloat16 and
    cannot be written back into float32 clips, and any autocast op would make the CUDA views
    and masks differ from the CPU's.
    """

    @functools.wraps(fn)
    def without(*args, **kwargs):
        enabled = [kind for kind in ("cuda", "cpu") if torch.is_autocast_enabled(kind)]
        with ExitStack() as stack:
            for kind in enabled:
                stack.enter_context(torch.autocast(device_type=kind, enabled=False))
            return fn(*args, **kwargs)

    return without


def _autocasts(device: torch.device, amp_dtype: str) -> bool:
    return device.type == "cuda" and amp_dtype != "none"


def loss_scaler(device: torch.device, amp_dtype: str) -> torch.amp.GradScaler:
    """The GradScaler of a training loop autocast with ``amp_dtype`` ("bf16" | "fp16" | "none")
    on ``device``: enabled only for float16 on CUDA (bfloat16 has float32's range, so it needs
    no loss scaling; nothing is autocast on the CPU)."""
    enabled = _autocasts(device, amp_dtype) and autocast_dtype(amp_dtype, device) == torch.float16
    return torch.amp.GradScaler("cuda", enabled=enabled)
