"""Run a reproduction's (row × seed) experiments, in parallel worker processes, with progress.

Every run is independent (its own run directory, its own seeds), so ``jobs`` worker processes
each take whole runs; each run pins its own torch thread count (the CPU presets use 1 thread), so
``jobs = cores`` keeps every core busy without oversubscription. A record's numbers do not depend
on which worker made it or on ``jobs``: on CPU the same seed gives the same record.

Progress is one line per finished run: runs done / total, the run's own wall time, and an ETA
from the wall times of the runs finished so far (same row first) or, before any has finished, of
the records already on disk.

Under ``torchrun`` (``run_jobs_on_ranks``) every rank runs every job, one after another, so each
pretraining is one DDP run across the ranks; rank 0 writes the records.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from fame_bench import progress
from fame_bench.train import distributed
from fame_bench.train.experiment import (
    ExperimentSpec,
    cached_record,
    find_reusable_pretraining,
    plan_experiment,
    run_experiment,
    seed_record_paths,
)


@dataclass(frozen=True)
class Job:
    """One run of a reproduction: row ``spec`` at ``preset`` with ``seed``."""

    spec: ExperimentSpec
    preset: str
    seed: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.preset, self.spec.name, self.seed)


def default_jobs() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def unique_jobs(jobs: list[Job]) -> list[Job]:
    """Jobs in first-seen order, each (preset, row, seed) once: tables share runs."""
    seen: dict[tuple[str, str, int], Job] = {}
    for job in jobs:
        seen.setdefault(job.key, job)
    return list(seen.values())


def _past_wall_time(job: Job, plan, runs_dir: Path, force: bool = False) -> float | None:
    """Wall time of a record of this row and seed already on disk (``plan``: the job's): this
    run's own, else the newest one made with other settings (a stale or edited one still tells
    the time); without the pretraining's when a finished identical one will be reused."""
    reusable = None if force else find_reusable_pretraining(plan)
    saved = 0.0 if reusable is None else _pretrain_seconds(reusable[1])
    others = seed_record_paths(runs_dir, job.preset, job.spec.name, job.seed)
    for path in (plan.path, *others):
        try:
            value = json.loads(path.read_text()).get("wall_time_s")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return max(0.0, float(value) - saved)
    return None


def _pretrain_seconds(record: dict) -> float:
    value = (record.get("pretrain") or {}).get("wall_time_s")
    return float(value) if isinstance(value, (int, float)) else 0.0


def _run(job: Job, runs_dir: str, force: bool = False) -> tuple[dict, float, bool]:
    """The job's record, the seconds it took and whether it came from the cache (a cached
    record costs nothing, so it must not count as a timing)."""
    start = time.perf_counter()
    cached = not force and cached_record(
        plan_experiment(job.spec, job.preset, job.seed, runs_dir)) is not None
    record = run_experiment(job.spec, job.preset, job.seed, runs_dir=runs_dir, force=force)
    return record, time.perf_counter() - start, cached


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
    """Counts finished runs and estimates the time left from their wall times."""

    def __init__(self, jobs: list[Job], runs_dir: Path, workers: int, force: bool = False):
        self.total = len(jobs)
        self.done = 0
        self.workers = workers
        self.finished: dict[str, list[float]] = {}
        plans = {job.key: plan_experiment(job.spec, job.preset, job.seed, runs_dir)
                 for job in jobs}
        # a cached record is read, not run: no time left for it, and no estimate to look up
        # (finding a reusable pretraining reads every record of the seed)
        self.cached = {key for key, plan in plans.items()
                       if not force and cached_record(plan) is not None}
        self.past = {job.key: _past_wall_time(job, plans[job.key], runs_dir, force)
                     for job in jobs if job.key not in self.cached}

    def estimate(self, job: Job) -> float | None:
        same_row = self.finished.get(job.spec.name)
        if same_row:
            return statistics.mean(same_row)
        return self.past.get(job.key)

    def eta(self, remaining: list[Job]) -> str:
        remaining = [job for job in remaining if job.key not in self.cached]
        estimates = [self.estimate(job) for job in remaining]
        known = [e for e in estimates if e is not None]
        if not remaining:
            return "0m00s"
        if not known:
            everything = [t for ts in self.finished.values() for t in ts]
            if not everything:
                return "unknown"
            known = [statistics.mean(everything)] * len(remaining)
        else:  # rows never timed count as the mean of the timed ones
            known = known + [statistics.mean(known)] * (len(estimates) - len(known))
        return fmt_duration(sum(known) / max(1, min(self.workers, len(remaining))))

    def finish(self, job: Job, seconds: float, remaining: list[Job],
               cached: bool = False) -> str:
        self.done += 1
        if cached:  # read from disk: says nothing about what a run of this row costs
            took = "cached"
        else:
            self.finished.setdefault(job.spec.name, []).append(seconds)
            took = f"{seconds:.1f} s"
        return (f"[{self.done}/{self.total}] {job.spec.name} seed {job.seed}: {took}; "
                f"ETA {self.eta(remaining)}")


def _quiet_worker() -> None:
    """Workers share the terminal: no progress bars there (their runs' logs keep the lines)."""
    progress.BARS = False


def run_jobs(jobs: list[Job], runs_dir: str | Path, workers: int = 1,
             log: Callable[[str], None] = print,
             force: bool = False) -> dict[tuple[str, str, int], dict]:
    """Run (or read from the cache; ``force``: recompute) every job; returns
    ``{job.key: record}``.

    ``workers > 1`` runs jobs in that many spawned processes (fresh interpreters: no torch state
    is shared with the parent). A failing run stops the reproduction with its error once the runs
    already started have ended; the records written before it are kept on disk.
    """
    jobs = unique_jobs(jobs)
    runs_dir = Path(runs_dir)
    progress = Progress(jobs, runs_dir, workers, force)
    records: dict[tuple[str, str, int], dict] = {}
    if workers <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            record, seconds, cached = _run(job, str(runs_dir), force)
            records[job.key] = record
            log(progress.finish(job, seconds, jobs[i + 1:], cached))
        return records

    context = multiprocessing.get_context("spawn")
    pending = list(jobs)
    running: dict[Future, Job] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_quiet_worker) as pool:
        while pending or running:
            while pending and len(running) < workers:
                job = pending.pop(0)
                running[pool.submit(_run, job, str(runs_dir), force)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                try:
                    record, seconds, cached = future.result()
                except BaseException:
                    pending.clear()  # start nothing new; the running ones finish
                    raise
                records[job.key] = record
                log(progress.finish(job, seconds, pending + list(running.values()), cached))
    return records


def run_jobs_on_ranks(jobs: list[Job], runs_dir: str | Path, device: str,
                      log: Callable[[str], None] = print,
                      force: bool = False) -> tuple[dict[tuple[str, str, int], dict], bool]:
    """``run_jobs`` in one process of a torchrun job (``WORLD_SIZE`` > 1): every rank runs the
    same jobs in the same order, one at a time, and joins each one's pretraining; rank 0 alone
    writes the records (``train.experiment.run_experiment``) and logs the progress. The process
    group (NCCL for a CUDA ``device``, else gloo) lives for these runs only. Returns
    ``({job.key: record}, whether this is rank 0)``: every rank gets the same records."""
    info = distributed.setup(device)
    try:
        records = run_jobs(jobs, runs_dir, workers=1, log=log if info.is_main else _silent,
                           force=force)
    finally:
        distributed.teardown(info)
    return records, info.is_main


def _silent(_line: str) -> None:
    pass


def records_on_disk(jobs: list[Job], runs_dir: str | Path) -> dict:
    """The valid records of ``jobs`` already on disk, made with their settings
    (``cached_record``), by ``job.key``."""
    out = {}
    for job in jobs:
        record = cached_record(plan_experiment(job.spec, job.preset, job.seed, runs_dir))
        if record is not None:
            out[job.key] = record
    return out
