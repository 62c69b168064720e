"""One protocol of a backbone on a real dataset, fold by fold, from the command line
(``fame-bench linear|finetune|retrieval --dataset ucf101 --data-root D --fold all``).

Results go into ``<out>/eval.json`` (the run directory unless told otherwise), one entry per
protocol, dataset and fold (``results[protocol][dataset]["fold1" | "fold2" | "fold3" | "mean" |
"official"]``): evaluations of other datasets, folds or protocols never overwrite each other, and
each fold's entry is written as soon as it is done. ``--fold all`` adds a ``mean`` entry naming
the folds it averages. UCF101 and HMDB51 have three official splits ("folds"); Diving48 and
Kinetics-400 have one train/test split, keyed ``official`` (Kinetics-400 tests on ``validate``).

A finetune saves itself under ``<out>/eval/finetune-<dataset>-<fold>-<hash8>/`` (the hash covers
the backbone's weights, the configuration and the data) and a rerun of the same command resumes
from there, to the same weights as an uninterrupted run (``finetune_checkpoint``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import nn

from fame_bench.atomic import write_atomic
from fame_bench.data.video import RECORD_READERS
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.datasets import VideoCounts, evaluate_named_dataset
from fame_bench.evaluate.finetune_checkpoint import FinetuneCheckpoint
from fame_bench.evaluate.finetune_checkpoint import fingerprint as finetune_fingerprint
from fame_bench.names import REAL_DATASETS as DATASETS
from fame_bench.train.runlock import LOCK, RunLockedError, run_lock

LOG = logging.getLogger("fame_bench.evaluate")
EVAL_JSON = "eval.json"
SCHEMA_VERSION = 1
#: Datasets with three official train/test splits; the others have one.
FOLDED = ("ucf101", "hmdb51")
FOLDS = ("1", "2", "3", "all")
SINGLE_SPLIT = "official"


def data_root_for(values: Sequence[str] | None, dataset: str) -> str:
    """The root of ``dataset`` among ``--data-root`` values: ``NAME=PATH`` per dataset, or a
    bare ``PATH`` for ``dataset`` itself."""
    roots: dict[str, str] = {}
    for value in values or ():
        name, sep, path = value.partition("=")
        if sep and "/" not in name:
            if name not in DATASETS:
                raise ValueError(f"--data-root {value!r}: {name!r} is not a dataset; expected "
                                 f"NAME=PATH with NAME one of {', '.join(DATASETS)}, or a PATH")
        else:
            name, path = dataset, value
        if not path:
            raise ValueError(f"--data-root {value!r}: expected PATH or NAME=PATH")
        if roots.get(name, path) != path:
            raise ValueError(f"--data-root gives {name} two roots: {roots[name]} and {path}")
        roots[name] = path
    if dataset not in roots:
        raise ValueError(f"no data root for {dataset}: give --data-root PATH or --data-root "
                         f"{dataset}=PATH")
    return roots[dataset]


def folds_for(dataset: str, fold: str | None) -> list[int | None]:
    """The folds ``--fold`` asks for (default 1); ``[None]``: the dataset's one split."""
    if dataset not in FOLDED:
        if fold is not None:
            raise ValueError(f"--fold applies to {' and '.join(FOLDED)} (three official "
                             f"splits); {dataset} has one train/test split: leave --fold out")
        return [None]
    if fold is None:
        return [1]
    if fold not in FOLDS:
        raise ValueError(f"--fold must be one of {', '.join(FOLDS)}, got {fold!r}")
    return [1, 2, 3] if fold == "all" else [int(fold)]


def fold_key(fold: int | None) -> str:
    return SINGLE_SPLIT if fold is None else f"fold{fold}"


def weights_digest(module: nn.Module) -> str:
    """SHA-256 of the module's parameters and buffers (names, dtypes, shapes, bytes)."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _held(path: Path, mode: int) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def reading_run(run_dir: str | Path) -> Iterator[None]:
    """Hold ``run_dir`` shared while its checkpoint is evaluated: evaluations of one run go
    side by side, but not while a pretraining holds it (``train.runlock``) nor does one start
    on it meanwhile."""
    try:
        with _held(Path(run_dir) / LOCK, fcntl.LOCK_SH | fcntl.LOCK_NB):
            yield
    except BlockingIOError:
        raise RunLockedError(f"{run_dir} is being trained by another process; evaluate it "
                             f"once that run has finished") from None


def read_eval_json(path: Path) -> dict:
    """``eval.json`` (a fresh one when missing); ``ValueError`` when it is not one."""
    if not path.exists():
        return {"schema_version": SCHEMA_VERSION, "results": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ValueError(f"{path} is not a fame-bench eval.json (no 'results' object)")
    return data


def merge_entries(out_dir: Path, protocol: str, dataset: str, entries: dict) -> Path:
    """Add ``entries`` (fold key → entry) to ``out_dir/eval.json``, keeping every other entry;
    a concurrent writer waits for its turn. An unreadable eval.json is moved aside (kept), not
    overwritten."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / EVAL_JSON
    with _held(out_dir / f".{EVAL_JSON}.lock", fcntl.LOCK_EX):
        try:
            data = read_eval_json(path)
        except ValueError as err:
            aside = path.with_name(f"{EVAL_JSON}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(path, aside)
            warnings.warn(f"{err}: moved to {aside}, a new {EVAL_JSON} started",
                          RuntimeWarning, stacklevel=2)
            data = read_eval_json(path)
        data["schema_version"] = SCHEMA_VERSION
        data["results"].setdefault(protocol, {}).setdefault(dataset, {}).update(entries)
        write_atomic(path, json.dumps(data, indent=1) + "\n")
    return path


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def mean_entry(per_fold: dict[str, dict]) -> dict:
    """The mean of each metric over the folds' entries, naming the folds it averages."""
    metrics = [entry["metrics"] for entry in per_fold.values()]
    return {"metrics": {k: sum(m[k] for m in metrics) / len(metrics) for k in metrics[0]},
            "folds": [entry["fold"] for entry in per_fold.values()],
            "per_fold": {key: entry["metrics"] for key, entry in per_fold.items()},
            "finished_utc": _now()}


def evaluate_folds(backbone: nn.Module, protocol: str, dataset: str, root: str,
                   folds: Sequence[int | None], eval_cfg: EvalConfig, seed: int = 0,
                   size: int = 112, out_dir: str | Path | None = None, ckpt_every: int = 0,
                   source: dict | None = None, env: dict | None = None) -> dict[str, dict]:
    """``protocol`` (``linear | finetune | retrieval``) of ``backbone`` on each fold of
    ``dataset`` under ``root``: ``{fold key: entry}``, plus ``mean`` over several folds. With
    ``out_dir``, each entry goes into ``out_dir/eval.json`` as soon as it is done, and a
    finetune checkpoints itself there every ``ckpt_every`` steps. ``source``: what the
    backbone is (the run directory, or a random init), and ``env`` where it ran (versions,
    device, commit: ``train.experiment.environment``), kept in each entry."""
    if protocol not in ("linear", "finetune", "retrieval"):
        raise ValueError(f"protocol must be linear, finetune or retrieval, got {protocol!r}")
    if protocol == "finetune" and eval_cfg.finetune_steps < 1:
        raise ValueError("finetune needs --finetune-steps >= 1")
    for fold in folds:  # a wrong root or split file fails before anything is evaluated
        RECORD_READERS[dataset](root, "test", fold or 1)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        read_eval_json(out / EVAL_JSON)  # an unreadable one is named before hours of work
    digest = weights_digest(backbone)
    results = {}
    for fold in folds:
        key = fold_key(fold)
        LOG.info("%s on %s %s", protocol, dataset, key)
        entry = _evaluate_fold(backbone, protocol, dataset, root, fold, eval_cfg, seed, size,
                               out, ckpt_every, digest, source or {}, env or {})
        results[key] = entry
        if out is not None:
            merge_entries(out, protocol, dataset, {key: entry})
            if protocol == "finetune":  # its result is safe: the checkpoint has done its job
                FinetuneCheckpoint(_finetune_dir(out, dataset, key, entry["fingerprint"]),
                                   entry["fingerprint"]).remove()
    if len(folds) > 1:
        results["mean"] = mean_entry(results)
        if out is not None:
            merge_entries(out, protocol, dataset, {"mean": results["mean"]})
    return results


def _finetune_dir(out: Path, dataset: str, key: str, fingerprint: str) -> Path:
    return out / "eval" / f"finetune-{dataset}-{key}-{fingerprint[:8]}"


def _evaluate_fold(backbone, protocol: str, dataset: str, root: str, fold: int | None,
                   eval_cfg: EvalConfig, seed: int, size: int, out: Path | None,
                   ckpt_every: int, digest: str, source: dict, env: dict) -> dict:
    settings = {"protocol": protocol, "dataset": dataset, "fold": fold,
                "data_root": str(Path(root).resolve()), "seed": seed, "crop_size": size,
                "eval": dataclasses.asdict(eval_cfg), "backbone_sha256": digest}
    fingerprint = finetune_fingerprint(settings)
    checkpoint, holding = None, contextlib.nullcontext()
    if protocol == "finetune" and out is not None:
        directory = _finetune_dir(out, dataset, fold_key(fold), fingerprint)
        checkpoint = FinetuneCheckpoint(directory, fingerprint, ckpt_every)
        holding = run_lock(directory)  # one process per finetune
    counts = VideoCounts()
    start = time.perf_counter()
    with holding:
        metrics = evaluate_named_dataset(backbone, dataset, root, eval_cfg, seed, fold or 1,
                                         size, counts, (protocol,), checkpoint)[protocol]
    entry = {"metrics": metrics, **settings, "source": source,
             "videos": {"scored": counts.scored, "skipped": counts.skipped},
             "wall_time_s": round(time.perf_counter() - start, 3), "finished_utc": _now(),
             "fingerprint": fingerprint, "env": env}
    if checkpoint is not None:
        entry["resumed_from_step"] = checkpoint.resumed_from
    return entry
