"""The rendered-split cache: whole splits as ``.npz`` under one per-user directory, keyed by a
hash of what changes the pixels, written atomically; splits this machine cannot hold are
refused before anything is rendered (:func:`check_room`)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch

from fame_bench.atomic import write_atomic
from fame_bench.data.synthetic.config import SyntheticConfig, check_split
from fame_bench.data.synthetic.render import NUM_DRAWS, SyntheticSplit, render_clips
from fame_bench.user_cache import user_cache_dir


def _default_cache_dir() -> Path:
    """The splits' folder: the package's cache (``user_cache_dir``)."""
    return user_cache_dir()


class NoRoomError(ValueError):
    """The requested splits do not fit this machine's memory, disk or cache limit."""


def split_bytes(cfg: SyntheticConfig, split: str) -> int:
    """Bytes a rendered split takes in memory and (uncompressed ``.npz``) in the cache: uint8
    videos ``(N, 3, T, H, W)``, bool masks ``(N, T, H, W)``, int64 labels and families."""
    per_clip = 4 * cfg.frames * cfg.size * cfg.size + 16
    return cfg.split_size(split) * per_clip


def available_memory_bytes() -> int | None:
    """Memory the kernel says can be allocated without swapping (``MemAvailable``); ``None``
    where it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _free_disk_bytes(directory: Path) -> int:
    existing = directory.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def check_room(cfg: SyntheticConfig, splits, seed: int = 0, cache_dir: str | Path | None = None,
               use_cache: bool = True) -> None:
    """Refuse, before rendering anything, splits that this machine cannot hold: all of them
    in memory (``MemAvailable``), the ones not cached yet on the cache's disk, and no more than
    ``$FAME_BENCH_CACHE_LIMIT_GB`` when it is set. The message gives the sizes."""
    cache_dir = Path(cache_dir or _default_cache_dir())
    splits = list(splits)
    total = sum(split_bytes(cfg, s) for s in splits)
    to_write = sum(split_bytes(cfg, s) for s in splits if use_cache and not
                   (cache_dir / f"{s}-{cache_key(cfg, s, seed)}.npz").exists())
    what = (f"the synthetic '{cfg.name}' split(s) {', '.join(splits)} take "
            f"{total / 1e9:.1f} GB")
    memory = available_memory_bytes()
    if memory is not None and total > memory:
        raise NoRoomError(f"{what} in memory; this machine has {memory / 1e9:.1f} GB available. "
                          f"Use a smaller preset (ci, cpu) or a machine with more memory")
    if to_write and to_write > _free_disk_bytes(cache_dir):
        raise NoRoomError(f"{what} ({to_write / 1e9:.1f} GB not cached yet); {cache_dir} has "
                      f"{_free_disk_bytes(cache_dir) / 1e9:.1f} GB free. Set FAME_BENCH_CACHE "
                      f"to a disk with room, or use a smaller preset (ci, cpu)")
    limit = os.environ.get("FAME_BENCH_CACHE_LIMIT_GB")
    if to_write and limit:
        try:
            limit_bytes = float(limit) * 1e9
        except ValueError:
            raise ValueError(f"FAME_BENCH_CACHE_LIMIT_GB must be a number of GB, got "
                             f"{limit!r}") from None
        if to_write > limit_bytes:
            raise NoRoomError(f"{what} ({to_write / 1e9:.1f} GB not cached yet), over "
                          f"FAME_BENCH_CACHE_LIMIT_GB={limit} for the cache at {cache_dir}. "
                          f"Raise the limit or use a smaller preset (ci, cpu)")


def cache_key(cfg: SyntheticConfig, split: str, seed: int) -> str:
    """Hash of everything that changes the pixels (the preset's name does not)."""
    fields = {k: v for k, v in cfg.hash_fields().items() if k != "name"}
    payload = json.dumps(
        {"config": fields, "split": split, "seed": seed, "draws": NUM_DRAWS, "version": 1},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def make_split(
    cfg: SyntheticConfig, split: str, seed: int = 0, cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> SyntheticSplit:
    """The whole split ``split`` (``cfg.split_size(split)`` clips), cached as uint8 ``.npz`` under
    ``~/.cache/fame_bench/`` (or ``$FAME_BENCH_CACHE``) keyed by a hash of (config, split, seed);
    refused up front when the machine cannot hold it (:func:`check_room`).
    The cache is written to a temporary file and renamed, so a concurrent or interrupted writer
    never leaves a half file behind."""
    check_split(split)
    path = Path(cache_dir or _default_cache_dir()) / f"{split}-{cache_key(cfg, split, seed)}.npz"
    check_room(cfg, [split], seed, cache_dir, use_cache)
    if use_cache and path.exists():
        try:
            with np.load(path) as z:
                return SyntheticSplit(
                    videos=torch.from_numpy(z["videos"]),
                    labels=torch.from_numpy(z["labels"]),
                    families=torch.from_numpy(z["families"]),
                    masks=torch.from_numpy(z["masks"]),
                    split=split,
                )
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache entry: render again and overwrite it
    data = render_clips(cfg, split, range(cfg.split_size(split)), seed)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: np.savez(
            f, videos=data.videos.numpy(), labels=data.labels.numpy(),
            families=data.families.numpy(), masks=data.masks.numpy(),
        ))
    return data
