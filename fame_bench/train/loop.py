"""The one training loop: method-agnostic, resumable, DDP-aware, with JSON-lines metrics.

``pretrain(cfg)`` builds the method from the config, draws batches (synthetic data from memory,
``batches``; real datasets through a DataLoader + DistributedSampler, ``real_batches``), steps
SGD with a cosine schedule, runs the method's non-gradient updates, logs one JSON line per step
to ``run_dir/metrics.jsonl`` and checkpoints every ``ckpt_every`` steps and at the end. A run
directory that already holds a checkpoint is resumed from it; on CPU the resumed run ends with
the same weights, bit for bit, as an uninterrupted one (every random draw comes from generators
derived from (seed, step)). AMP on CUDA when ``cfg.amp``: bfloat16 autocast (``amp_dtype="bf16"``,
where the GPU supports it) or float16 autocast with a GradScaler (``"fp16"``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from fame_bench.atomic import write_atomic
from fame_bench.methods.base import Method
from fame_bench.methods.registry import build_method, method_class
from fame_bench.progress import StageProgress
from fame_bench.runtime import cpu_threads, cuda_autocast, loss_scaler
from fame_bench.train import distributed
from fame_bench.train.batches import InMemoryVideos, load_synthetic, make_batch, step_generator
from fame_bench.train.checkpoint import load_checkpoint, save_checkpoint
from fame_bench.train.config import PretrainConfig, check_resumable
from fame_bench.train.real_batches import real_dataset, real_dataset_batches
from fame_bench.train.runlock import run_lock
from fame_bench.train.schedule import cosine_lr
from fame_bench.train.tensorboard import log_row, tensorboard_writer

LOG = logging.getLogger("fame_bench.train")
METRICS = "metrics.jsonl"
RESULT = "result.json"


def build_optimizer(cfg: PretrainConfig, params) -> torch.optim.Optimizer:
    """SGD with momentum (the papers' recipe) or AdamW; the lr is set per step by the schedule."""
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.sgd_momentum,
                           weight_decay=cfg.weight_decay)


def _load_data(cfg: PretrainConfig) -> InMemoryVideos | None:
    if cfg.dataset in ("synthetic", "synthetic_finegrained"):
        split = cfg.supervised_split if method_class(cfg.method).trains_on_labels else "pretrain"
        return load_synthetic(cfg, split)
    return None  # real datasets stream through a DataLoader


def _read_metrics(path: Path, before_step: int) -> list[dict]:
    """The logged rows of steps ``0 .. before_step - 1``, one per step (the last one written).

    A line that is not a JSON object with an integer ``step`` and a numeric ``loss`` (a line
    cut by a kill, bytes that are not UTF-8, an edit) is skipped: the rows only feed the loss
    curve, never the weights.
    """
    if not path.exists():
        return []
    rows = {}
    for raw in path.read_bytes().splitlines():
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(row, dict):
            continue
        step, loss = row.get("step"), row.get("loss")
        if (isinstance(step, int) and not isinstance(step, bool) and 0 <= step < before_step
                and isinstance(loss, (int, float)) and not isinstance(loss, bool)):
            rows[step] = row
    return [rows[step] for step in sorted(rows)]


def _skipped_so_far(rows: list[dict]) -> int:
    """The last logged count of dropped videos (0 on synthetic data or when none is logged)."""
    value = rows[-1].get("skipped_videos") if rows else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _loss_curve(rows: list[dict], log_every: int, last_step: int) -> list[list]:
    return [[r["step"], r["loss"]] for r in rows
            if r["step"] % log_every == 0 or r["step"] == last_step]


def pretrain(cfg: PretrainConfig, data: InMemoryVideos | None = None) -> dict:
    """Train (or resume) the run ``cfg`` describes; returns ``run_dir, steps, loss_curve,
    step_ms, augment_ms, augment_share, wall_time_s, threads`` (torch's thread count during the
    steps) and ``skipped_videos`` (undecodable videos dropped, every rank and resumption; also a
    column of ``metrics.jsonl`` on real datasets), also written to ``run_dir/result.json``.

    ``data``: optional in-memory uint8 videos replacing the configured synthetic split.
    """
    info = distributed.setup(cfg.device)
    try:
        if info.world_size > 1:
            # Every rank reads the run directory (its checkpoint) only once the main rank has
            # prepared it: a reproduction removes a foreign checkpoint just before this call.
            torch.distributed.barrier()
        # One process per run directory (the main rank holds it for all ranks): a second one
        # would train the same steps again and interleave its rows with ours.
        with cpu_threads(cfg.threads if info.device.type == "cpu" else 0), (
                run_lock(cfg.out_dir) if info.is_main else contextlib.nullcontext()):
            return _pretrain(cfg, info, data)
    finally:
        distributed.teardown(info)


@dataclass
class _Run:
    """What one process trains with: built by ``_build``, resumed by ``_resume``."""

    cfg: PretrainConfig
    info: distributed.DistInfo
    run_dir: Path
    method: Method
    model: nn.Module  # the method, wrapped in DistributedDataParallel on several ranks
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    amp: str  # the autocast of a step: ``cfg.amp_dtype`` with ``cfg.amp``, else "none"
    data: InMemoryVideos | None  # synthetic videos in memory, or None for a real dataset
    dataset: object  # the real dataset when ``data`` is None
    num_instances: int
    num_classes: int


def _build(cfg: PretrainConfig, info: distributed.DistInfo, data) -> _Run:
    """Load the data and build the method, its optimiser and AMP scaler (a fresh run's state)."""
    device = info.device
    run_dir = Path(cfg.out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if data is None:
        data = _load_data(cfg)
    dataset = real_dataset(cfg) if data is None else None
    if data is not None:
        num_instances, num_classes = len(data), int(data.labels.max()) + 1
    else:  # the VTHCL memory bank holds one entry per training video
        num_instances = len(dataset)
        num_classes = max(r.label for r in dataset.records) + 1

    # Parameter init draws from the global RNG inside torch.nn; fork it so the caller's RNG is
    # left untouched and the init is a function of cfg.seed only.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        method = build_method(cfg, num_instances, num_classes,
                              generator=step_generator(cfg.seed, 0, stream=303))
    method.to(device)
    method.check_global_batch(cfg.batch_size)
    if cfg.batch_size % info.world_size:
        raise ValueError(f"batch_size {cfg.batch_size} not divisible by {info.world_size} ranks")
    params = [p for p in method.parameters() if p.requires_grad]
    optimizer = build_optimizer(cfg, params)
    amp = cfg.amp_dtype if cfg.amp else "none"
    return _Run(cfg, info, run_dir, method, method, optimizer, loss_scaler(device, amp), amp,
                data, dataset, num_instances, num_classes)


def _resume(run: _Run) -> int:
    """Load ``run_dir``'s checkpoint into ``run`` when there is one; the first step to train."""
    state = load_checkpoint(run.run_dir, map_location=run.info.device)
    if state is None:
        return 0
    check_resumable(state["config"], run.cfg)
    run.method.load_state_dict(state["method"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    return int(state["step"])


def _step(run: _Run, step: int, batch: dict) -> tuple[float, float, float, dict]:
    """One optimiser step on ``batch`` at the schedule's lr; ``(loss averaged over ranks,
    step seconds, augmentation seconds, the method's other stats)``."""
    device = run.info.device
    # CPU generator: every op draws on the CPU and moves the draw to the device
    generator = step_generator(run.cfg.seed, step, stream=1000 + run.info.rank)
    _sync(device)
    t0 = time.perf_counter()
    with cuda_autocast(device, run.amp):
        loss, stats = run.model(batch, generator)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {float(loss)} at step {step}")
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.method.after_step()
    _sync(device)
    step_s = time.perf_counter() - t0
    loss_value = float(distributed.mean_over_ranks(loss.detach()))
    augment_s = float(stats.pop("augment_s", 0.0))
    return loss_value, step_s, augment_s, stats


def _checkpoint(run: _Run, steps_done: int) -> None:
    """Save the state after ``steps_done`` steps (the main rank writes; all ranks wait)."""
    if run.info.is_main:
        save_checkpoint(run.run_dir, {
            "method": run.method.state_dict(), "optimizer": run.optimizer.state_dict(),
            "scaler": run.scaler.state_dict(), "step": steps_done,
            "config": run.cfg.to_dict(), "rng": {"torch": torch.get_rng_state()},
            "num_instances": run.num_instances, "num_classes": run.num_classes,
        })
    if run.info.world_size > 1:
        torch.distributed.barrier()


def _pretrain(cfg: PretrainConfig, info: distributed.DistInfo, data) -> dict:
    wall_start = time.perf_counter()
    device = info.device
    run = _build(cfg, info, data)
    board = tensorboard_writer(run.run_dir) if cfg.tensorboard and info.is_main else None
    start_step = _resume(run)
    metrics_path = run.run_dir / METRICS
    rows = _read_metrics(metrics_path, start_step)
    if info.is_main:
        metrics_path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    if info.world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        run.model = DistributedDataParallel(run.method, device_ids=ids)

    # videos dropped as undecodable, over every process of this run (real datasets only)
    skipped_before = _skipped_so_far(rows)
    skipped_here = [0]
    real_batches = (real_dataset_batches(cfg, info, start_step, run.dataset, skipped_here)
                    if run.data is None else None)
    threads_used = torch.get_num_threads()
    LOG.info("pretraining %s/%s in %s: steps %d..%d of %d, batch %d, device %s, %d torch "
             "thread(s)%s", cfg.method, cfg.augment, run.run_dir, start_step, cfg.steps - 1,
             cfg.steps, cfg.batch_size, device, threads_used,
             " (resumed from its checkpoint)" if start_step else "")
    step_times, augment_times = [], []
    # a bar on a terminal, else a log line every 10 % (fame_bench.progress)
    bar = StageProgress(cfg.steps, f"pretraining {cfg.method}/{cfg.augment}",
                        enabled=cfg.progress and info.is_main, initial=start_step)
    run.method.train()
    with open(metrics_path, "a") if info.is_main else _NullFile() as log:
        for step in range(start_step, cfg.steps):
            lr = cosine_lr(step, cfg.steps, cfg.lr, cfg.warmup_steps)
            for group in run.optimizer.param_groups:
                group["lr"] = lr
            if run.data is not None:
                batch = make_batch(run.data, cfg, step, info.rank, info.world_size, device)
            else:
                batch = next(real_batches)
            loss_value, step_s, augment_s, stats = _step(run, step, batch)
            step_times.append(step_s)
            augment_times.append(augment_s)
            row = {"step": step, "loss": loss_value, "lr": lr, "step_ms": 1000 * step_s,
                   "augment_ms": 1000 * augment_s, **stats}
            if run.data is None:
                mean = distributed.mean_over_ranks(torch.tensor(float(skipped_here[0]),
                                                                device=device))
                row["skipped_videos"] = skipped_before + round(float(mean) * info.world_size)
            rows.append(row)
            log.write(json.dumps(row) + "\n")
            log.flush()
            if board is not None:
                log_row(board, row)
            bar.set_postfix(f"loss {loss_value:.3f}")
            bar.update(1)
            if (step + 1) % cfg.ckpt_every == 0 or step + 1 == cfg.steps:
                _checkpoint(run, step + 1)
    bar.close()
    if board is not None:
        board.close()

    result = _result(cfg, run.run_dir, rows, step_times, augment_times, wall_start)
    result["threads"] = threads_used
    result["skipped_videos"] = _skipped_so_far(rows)
    if info.is_main:
        write_atomic(run.run_dir / RESULT, json.dumps(result, indent=1))
    return result


def _result(cfg, run_dir, rows, step_times, augment_times, wall_start) -> dict:
    """Timings exclude the first step of this process (allocation and warm-up)."""
    timed = step_times[1:] or step_times
    timed_aug = augment_times[1:] or augment_times
    if not timed:  # nothing left to train: report what the earlier process measured
        old = _read_result(run_dir / RESULT)
        if old is not None:
            timed = [old["step_ms"] / 1000.0]
            timed_aug = [old["augment_ms"] / 1000.0]
    step_ms = 1000 * statistics.mean(timed) if timed else float("nan")
    augment_ms = 1000 * statistics.mean(timed_aug) if timed_aug else float("nan")
    return {
        "run_dir": str(run_dir), "steps": cfg.steps,
        "loss_curve": _loss_curve(rows, cfg.log_every, cfg.steps - 1),
        "step_ms": step_ms, "augment_ms": augment_ms,
        "augment_share": augment_ms / step_ms if step_ms else float("nan"),
        "wall_time_s": time.perf_counter() - wall_start,
    }


def _read_result(path: Path) -> dict | None:
    """The ``result.json`` of an earlier process, or ``None`` when missing or unreadable (its
    timings are then reported as NaN, not guessed)."""
    try:
        old = json.loads(path.read_bytes().decode("utf-8"))
        return old if all(isinstance(old.get(k), (int, float))
                          for k in ("step_ms", "augment_ms")) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _NullFile:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass
