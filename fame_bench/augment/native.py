"""The motion-compensated seed on the CPU in native code (``compensation.c``), built on first use.

Why: in torch ops, each of the compensated seed's steps is a pass over frame-sized temporaries,
so FAME-MC took 4.6× FAME at 32² (``reports/beyond.md``). Here the grey frames, the estimate's
preparation and peak search, the Lucas-Kanade step, the bilinear alignment, the change maps and the
fill run as loops over each frame pair, the transforms stay ``torch.fft``'s. The kernels do the same
float operations in the same order as ``augment.motion``, so the seed is the same bit for bit
(tested); the float64 sums may differ in their last bits, as between torch and the reference.

The C source is compiled with the system's C compiler (``$CC``, else ``cc``) into
``$FAME_BENCH_CACHE/native`` (else ``$XDG_CACHE_HOME/fame_bench/native``, else
``~/.cache/fame_bench/native``), named by the hash of the source, the flags and the machine, and
written atomically (``atomic.write_atomic``), so concurrent processes never load a half-written
library. Without a compiler, or with ``FAME_BENCH_NATIVE=0``, ``available`` is false and the torch
ops are used, with the same numbers. CPU clips only (read as float32); one thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import importlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from fame_bench.atomic import write_atomic
from fame_bench.augment.maps import divide, unit_frame
from fame_bench.augment.motion import (
    LK_DAMPING,
    LK_MAX_STEP,
    SHIFT_GRID,
    chunk_pairs,
    estimate_pooling,
    taper_window,
)
from fame_bench.user_cache import user_cache_dir

SOURCE = Path(__file__).with_name("compensation.c")
#: No contraction into fused multiply-adds and no reassociation: the float operations of the torch
#: ops, one rounding each. ``-fno-trapping-math`` only lets selects between computed values become
#: vector blends (the fill's rounding); it changes no value.
FLAGS = ("-O3", "-shared", "-fPIC", "-ffp-contract=off", "-fno-fast-math", "-fno-trapping-math")
ENV_SWITCH = "FAME_BENCH_NATIVE"

_POINTER, _INT, _DOUBLE = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
_SIGNATURES = {
    "frame_sums": (None, [_POINTER, _INT, _INT, _INT, _POINTER, _POINTER, _POINTER]),
    "block_sums": (None, [_POINTER, _INT, _INT, _INT, _INT, _POINTER]),
    "grey_frames": (None, [_POINTER, _INT, _INT, _INT, _POINTER]),
    "prepare_frames": (None, [_POINTER, _INT, _INT, _POINTER, _POINTER]),
    "peak_lags": (None, [_POINTER, _INT, _INT, _INT, _POINTER]),
    "refine_pairs": (None, [_POINTER, _INT, _INT, _INT, _INT, _POINTER, _DOUBLE, _DOUBLE, _DOUBLE,
                            _POINTER]),
    "compensated_changes": (ctypes.c_int, [_POINTER, _POINTER, _INT, _INT, _INT, _INT, _POINTER,
                                           _DOUBLE, _DOUBLE, _DOUBLE, _POINTER]),
}


def cache_dir() -> Path:
    """The compiled kernels' folder in the package's cache (``user_cache_dir``)."""
    return user_cache_dir() / "native"


def enabled() -> bool:
    """False when ``FAME_BENCH_NATIVE=0`` (the torch ops then, with the same numbers)."""
    return os.environ.get(ENV_SWITCH, "1") != "0"


@contextlib.contextmanager
def torch_ops() -> Iterator[None]:
    """The block runs the torch ops, not the native kernels (``FAME_BENCH_NATIVE=0`` for its
    duration, the variable restored after): to time or check one against the other."""
    before = os.environ.get(ENV_SWITCH)
    os.environ[ENV_SWITCH] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[ENV_SWITCH]
        else:
            os.environ[ENV_SWITCH] = before


def available() -> bool:
    """Whether the kernels are in use on the CPU in this process: enabled, and built."""
    return enabled() and library() is not None


def applies(clips: torch.Tensor) -> bool:
    """Whether the kernels run on ``clips``: ``available``, CPU, and not being traced by
    ``torch.compile`` (which compiles the torch ops instead: the kernels write through raw
    pointers, which traced tensors do not have)."""
    return clips.device.type == "cpu" and not _traced() and available()


def _traced() -> bool:
    """Whether ``torch.compile`` is tracing (``torch.compiler.is_compiling``, torch >= 2.3;
    ``torch._dynamo.is_compiling`` before)."""
    check = getattr(torch.compiler, "is_compiling", None)
    if check is None:
        check = importlib.import_module("torch._dynamo").is_compiling
    return check()


@functools.cache
def library() -> ctypes.CDLL | None:
    """The compiled kernels, built once per machine; None (with one warning) when they cannot be
    built or loaded."""
    try:
        path = _build()
        try:
            return _load(path)
        except OSError:  # a damaged file in the cache is never used: built again, once
            path.unlink(missing_ok=True)
            return _load(_build())
    except (OSError, subprocess.SubprocessError, RuntimeError) as error:
        warnings.warn(f"fame_bench: native motion compensation unavailable ({error}); using the "
                      "torch ops (same numbers, slower on the CPU)", RuntimeWarning, stacklevel=2)
        return None


def _build() -> Path:
    compiler = os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        raise RuntimeError(f"no C compiler {compiler!r} on PATH")
    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join((compiler, *FLAGS, platform.machine())).encode())
    target = cache_dir() / f"compensation-{key.hexdigest()[:16]}.so"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / target.name
        result = subprocess.run([compiler, *FLAGS, "-o", str(built), str(SOURCE), "-lm"],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{compiler} failed: {result.stderr.strip()[:300]}")
        # another process sees no file or the whole of one, never a half-written library
        return write_atomic(target, built.read_bytes())


def _load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


def frame_statistics(clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``fame.accumulate_frames(clips)`` (no compensation) natively: the mean absolute frame
    difference ``(B, H, W)`` and the mean frame ``(B, 3, H, W)``, float32, of CPU clips
    ``(B, 3, T, H, W)`` (float32 in [0, 1] or uint8); needs ``applies(clips)``."""
    batch, _, frames, height, width = clips.shape
    clip_frames = unit_frame(clips, slice(0, frames)).contiguous()
    motion = torch.empty(batch, height, width, dtype=torch.float32)
    totals = torch.empty(batch, 3, height, width, dtype=torch.float32)
    library().frame_sums(clip_frames.data_ptr(), batch, frames, height * width, motion.data_ptr(),
                         totals.data_ptr(), None)
    return divide(motion, frames - 1), divide(totals, frames)


def compensated_statistics(clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``fame.accumulate_frames(clips, compensate=True)`` natively: the mean compensated change
    ``(B, H, W)`` and the mean frame ``(B, 3, H, W)``, float32, of CPU clips ``(B, 3, T, H, W)``
    (float32 in [0, 1] or uint8, T >= 2); needs ``applies(clips)``. The mean frame and the grey
    frames come from one read of the clips."""
    batch, _, frames, height, width = clips.shape
    clip_frames = unit_frame(clips, slice(0, frames)).contiguous()
    totals = torch.empty(batch, 3, height, width, dtype=torch.float32)
    grey = torch.empty(batch, frames, height, width, dtype=torch.float32)
    library().frame_sums(clip_frames.data_ptr(), batch, frames, height * width, None,
                         totals.data_ptr(), grey.data_ptr())
    return _compensated_motion(clip_frames, grey), divide(totals, frames)


def compensated_motion(clips: torch.Tensor) -> torch.Tensor:
    """``fame._compensated_motion`` natively: the mean compensated change ``(B, H, W)`` float32
    of CPU clips ``(B, 3, T, H, W)`` (float32 in [0, 1] or uint8, T >= 2); needs
    ``applies(clips)``."""
    batch, _, frames, height, width = clips.shape
    clip_frames = unit_frame(clips, slice(0, frames)).contiguous()
    grey = torch.empty(batch, frames, height, width, dtype=torch.float32)
    library().grey_frames(clip_frames.data_ptr(), batch, frames, height * width, grey.data_ptr())
    return _compensated_motion(clip_frames, grey)


def _compensated_motion(clip_frames: torch.Tensor, grey: torch.Tensor) -> torch.Tensor:
    """The mean compensated change of contiguous float32 frames ``(B, 3, T, H, W)`` with their
    grey frames ``(B, T, H, W)``."""
    batch, _, frames, height, width = clip_frames.shape
    whole = whole_shifts(grey)
    motion = torch.zeros(batch, height, width, dtype=torch.float32)
    status = library().compensated_changes(
        clip_frames.data_ptr(), grey.data_ptr(), batch, frames, height, width, whole.data_ptr(),
        LK_MAX_STEP, LK_DAMPING, float(SHIFT_GRID), motion.data_ptr())
    if status != 0:
        raise MemoryError("fame_bench: out of memory in the native motion compensation")
    return divide(motion, frames - 1)


def whole_shifts(grey: torch.Tensor) -> torch.Tensor:
    """The whole-pixel shifts ``(B, T - 1, 2)`` float64 of contiguous grey frames ``(B, T, H, W)``
    float32, as ``motion.PairAligner``'s: on the frames pooled by ``estimate_pooling``, the
    preparation and peak search native, the transforms ``torch.fft``'s, a chunk of frame pairs at
    a time (``chunk_pairs``), each frame transformed once; then, on pooled frames, the coarse
    Lucas-Kanade step, times k, rounded."""
    batch, frames, height, width = grey.shape
    k = estimate_pooling(height, width)
    if k == 1:
        return _peak_shifts(grey)
    pooled = torch.empty(batch, frames, height // k, width // k, dtype=torch.float32)
    library().block_sums(grey.data_ptr(), batch * frames, height, width, k, pooled.data_ptr())
    whole = _peak_shifts(pooled)
    coarse = torch.empty_like(whole)
    batch, frames, height, width = pooled.shape
    library().refine_pairs(pooled.data_ptr(), batch, frames, height, width, whole.data_ptr(),
                           LK_MAX_STEP, LK_DAMPING, float(SHIFT_GRID), coarse.data_ptr())
    return torch.round(coarse * k)


def _peak_shifts(grey: torch.Tensor) -> torch.Tensor:
    """``whole_shifts`` of unpooled grey frames: the correlation's peaks."""
    lib = library()
    batch, frames, height, width = grey.shape
    window = taper_window(height, width).contiguous()
    step = chunk_pairs(batch, frames - 1, height, width)
    carried = None  # the spectrum of the last frame of the previous chunk
    lags = []
    # the first chunk's frames make step pairs, every later chunk's with the carried frame
    for start in [0, *range(step + 1, frames, step)]:
        chunk = grey[:, start:start + step + (start == 0)].contiguous()
        prepared = torch.empty(chunk.shape, dtype=torch.float64)
        lib.prepare_frames(chunk.data_ptr(), chunk.shape[0] * chunk.shape[1], height * width,
                           window.data_ptr(), prepared.data_ptr())
        spectrum = torch.fft.rfft2(prepared)
        if carried is not None:
            spectrum = torch.cat([carried, spectrum], dim=1)
        carried = spectrum[:, -1:]
        correlation = torch.fft.irfft2(spectrum[:, :-1].conj() * spectrum[:, 1:], s=(height, width))
        correlation = correlation.contiguous()
        found = torch.empty(*correlation.shape[:2], 2, dtype=torch.float64)
        lib.peak_lags(correlation.data_ptr(), correlation.shape[0] * correlation.shape[1], height,
                      width, found.data_ptr())
        lags.append(found)
    return torch.cat(lags, dim=1)
