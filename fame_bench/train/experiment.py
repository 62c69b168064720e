"""The run-record layer: one experiment = pretrain (optional) → evaluate → ``record.json``.

``run_experiment(spec, preset, seed)`` writes ``runs/<preset>/<name>/seed<k>-<hash8>/record.json``
(schema in ``docs/interfaces.md``; ``<hash8>``: the start of its ``spec_hash``) and is a cache: a
record on disk whose ``spec_hash`` matches (same spec, preset, seed, pretraining and evaluation
configs) is returned as-is, so tables share runs (the MoCo baseline appears in tables 1, 4 and
5), and a run with other settings lands in its own directory. Reports read these records only.

A run whose pretraining is identical to a finished one of the same preset and seed (another row
name, or only the evaluation settings changed) reuses that pretraining instead of training again:
its checkpoint is linked into the new run directory and the record says where it came from
(``pretrain.reused_from``). Pretraining is deterministic on CPU, so the numbers are those a
fresh run gives; ``force`` always trains again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from fame_bench.atomic import write_atomic
from fame_bench.augment.fame import MASK_VARIANTS, mask_version
from fame_bench.data.synthetic import LATER_FIELDS as DATA_LATER_FIELDS
from fame_bench.evaluate.bias import evaluate_synthetic, scored_videos
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.datasets import VideoCounts, evaluate_named_dataset
from fame_bench.evaluate.finetune_checkpoint import DEFAULT_EVERY as FINETUNE_CKPT_EVERY
from fame_bench.evaluate.finetune_checkpoint import FinetuneCheckpoint, fingerprint
from fame_bench.evaluate.run_eval import weights_digest
from fame_bench.models.backbones import seeded_backbone
from fame_bench.names import AUGMENTS, REAL_DATASETS, ROW_METHODS, SYNTHETIC_DATASETS
from fame_bench.provenance import git_commit
from fame_bench.runtime import cpu_threads
from fame_bench.train import distributed
from fame_bench.train.checkpoint import CheckpointError, load_checkpoint
from fame_bench.train.config import FAME_ON, PretrainConfig, check_resumable
from fame_bench.train.loop import pretrain
from fame_bench.train.runlock import run_lock
from fame_bench.train.runlog import run_log
from fame_bench.train.trained import load_backbone

LOG = logging.getLogger("fame_bench.experiment")
RUN_CONFIG = "config.json"
RUN_LOG = "run.log"
#: Where a real-data finetune saves itself (every ``FINETUNE_CKPT_EVERY`` steps) in the run
#: directory, so a killed reproduction resumes it; removed once the record holds its result.
FINETUNE_DIR = "finetune"

#: Version of the run record's layout (``docs/interfaces.md``); records without the field are
#: version 1 (``env.threads`` was the process's thread count, not the run's).
SCHEMA_VERSION = 2

#: PretrainConfig fields that do not change a run's numbers: left out of the record's hash.
HASH_FREE = ("out_dir", "progress", "num_workers", "extra", "fame_compile", "tensorboard")

#: PretrainConfig fields a random-init row keeps from its overrides: what shapes the encoder
#: and its input (and the data it is evaluated on), not how it would have been trained.
RANDOM_ROW_FIELDS = ("dataset", "data_root", "backbone", "clip_len", "frame_stride", "crop_size",
                     "device", "data_overrides")

#: Spec and PretrainConfig fields added after run records existed, with the (JSON) value that
#: changes nothing: left out of the hash while at it, so the records made before stay valid.
#: (SyntheticConfig keeps its own list: ``SyntheticConfig.hash_fields``.)
HASH_LATER_FIELDS = {"data_overrides": [], "compile_backbone": False}
#: The same for ``EvalConfig`` fields (CPU evaluation ignores ``amp_dtype``).
EVAL_HASH_LATER_FIELDS = {"amp_dtype": "bf16"}

#: Statistics of the temporal kernels kept in the record (for the paper's Figure 2): at most
#: this many |w| values per stage, an evenly spaced subsample of the sorted weights.
TEMPORAL_SAMPLES_PER_STAGE = 400
#: torchvision-style module names of the video ResNets → the paper's stage names.
STAGE_NAMES = {"layer1": "res2", "layer2": "res3", "layer3": "res4", "layer4": "res5"}


@dataclass(frozen=True)
class ExperimentSpec:
    """What one row of a table runs. ``method="random"`` evaluates a random-init backbone.

    ``fame_on``: where FAME/BE enter MoCo (``"first" | "queries" | "both"``, ``docs/moco.md``);
    ``None`` keeps the preset's (``"first"``, the authors' code) or a ``--set`` override.
    ``pretrain_overrides`` / ``eval_overrides`` are extra ``PretrainConfig`` / ``EvalConfig``
    fields as ``(name, value)`` pairs (tuples, so the spec stays hashable); the gates use the
    latter to skip finetuning, which they do not read. ``data_overrides``: ``SyntheticConfig``
    fields as pairs (e.g. a camera pan), used for pretraining and evaluation alike.
    ``beta``: FAME's β, or ``"auto"`` (per clip, ``fame_bench.augment``).
    """

    name: str
    method: str
    augment: str = "none"
    beta: float | str = 0.5
    mask_variant: str = "fame"  # FAME's foreground mask (``augment.fame.MASK_VARIANTS``)
    fame_on: str | None = None
    dataset: str = "synthetic"
    vthcl_alpha: int | None = None
    vthcl_levels: tuple[str, ...] | None = None
    pretrain_overrides: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    eval_overrides: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    eval_dataset: str | None = None  # real datasets: downstream set (default: ``dataset``)
    data_overrides: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.method not in ROW_METHODS:
            raise ValueError(f"method must be one of {ROW_METHODS}, got {self.method!r}")
        if self.augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {AUGMENTS}, got {self.augment!r}")
        if self.mask_variant not in MASK_VARIANTS:
            raise ValueError(f"mask_variant must be one of {MASK_VARIANTS}, got "
                             f"{self.mask_variant!r}")
        if self.beta != "auto" and (isinstance(self.beta, str) or not 0.0 < self.beta < 1.0):
            raise ValueError(f"beta must be in (0, 1) or 'auto', got {self.beta!r}")
        if self.data_overrides and self.dataset not in SYNTHETIC_DATASETS:
            raise ValueError(f"data_overrides apply to the synthetic datasets only, not "
                             f"{self.dataset!r}")
        known = (*SYNTHETIC_DATASETS, *REAL_DATASETS)
        if self.dataset not in known or (self.eval_dataset or self.dataset) not in known:
            raise ValueError(f"dataset and eval_dataset must be among {known}, got "
                             f"{self.dataset!r} / {self.eval_dataset!r}")
        if self.fame_on is not None and self.fame_on not in FAME_ON:
            raise ValueError(f"fame_on must be one of {FAME_ON} or None, got {self.fame_on!r}")
        if self.method == "random" and self.augment != "none":
            raise ValueError("a random-init row has no pretraining, so augment must be 'none'")

    def record(self) -> dict:
        """The spec as run records and spec hashes hold it. ``mask_variant`` keeps the name it
        had there, ``variant``, so records and hashes made before the rename still match."""
        return {("variant" if key == "mask_variant" else key): value
                for key, value in _jsonable(self).items()}

    def augment_record(self, fame_on: str | None, mask_version: int | None = None) -> dict:
        """The run record's ``augment`` block; ``fame_on``: the mode the run used (MoCo only);
        ``mask_version``: the mask's algorithm version, kept when there is one
        (``versioned_mask``)."""
        block = {"kind": self.augment, "beta": self.beta, "variant": self.mask_variant,
                 "fame_on": fame_on}
        return block if mask_version is None else {**block, "mask_version": mask_version}

    def overrides(self) -> dict:
        """``PretrainConfig.preset`` overrides for this spec."""
        out: dict[str, Any] = {"method": self.method, "augment": self.augment,
                               "dataset": self.dataset}
        if self.augment == "fame":
            out.update(fame_beta=self.beta, fame_variant=self.mask_variant)
        if self.fame_on is not None:
            out["fame_on"] = self.fame_on
        if self.vthcl_alpha is not None:
            out["vthcl_alpha"] = self.vthcl_alpha
        if self.vthcl_levels is not None:
            out["vthcl_levels"] = tuple(self.vthcl_levels)
        if self.data_overrides:
            out["data_overrides"] = tuple(self.data_overrides)
        out.update(dict(self.pretrain_overrides))
        return out


def versioned_mask(augment: str, variant: str) -> int | None:
    """The algorithm version of the FAME mask a run with ``augment`` and mask ``variant`` uses,
    when it is not 1 (``augment.fame.MASK_VERSIONS``), else ``None``: a run's hash and its
    pretraining's identity hold it only then, so the records of every other run keep their
    hash, and one made with an earlier version of the mask is never reused."""
    if augment != "fame":
        return None
    version = mask_version(variant)
    return None if version == 1 else version


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def spec_hash(payload: dict) -> str:
    """Hash of everything that decides a run's numbers (spec, preset, seed, configs)."""
    text = json.dumps(_jsonable(payload), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str | None:
    """The installed version of distribution ``name``; ``None`` when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment(device: str, threads: dict | None = None) -> dict:
    """Versions (torch, torchvision, av, numpy, python), device and its name, CPU model,
    commit and ``threads``: the torch thread counts the run used (``{"pretrain", "eval"}``,
    measured during each stage; ``"auto"`` device resolved)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    commit = git_commit()
    cpu = cpu_model()
    if device.startswith("cuda") and torch.cuda.is_available():
        device_name = torch.cuda.get_device_name(torch.device(device))
    else:
        device_name = cpu
    return {"torch": torch.__version__, "torchvision": package_version("torchvision"),
            "av": package_version("av"), "numpy": package_version("numpy"),
            "python": platform.python_version(), "device": device, "device_name": device_name,
            "cpu": cpu, "commit": commit,
            "threads": dict(threads) if threads is not None else
            {"pretrain": None, "eval": torch.get_num_threads()}}


def _pretrain_config(spec: ExperimentSpec, preset: str, seed: int, out_dir: Path):
    overrides = spec.overrides()
    known = {f.name for f in dataclasses.fields(PretrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"PretrainConfig has no field(s) {unknown} needed by experiment "
                         f"{spec.name!r}; known fields: {sorted(known)}")
    if spec.method == "random":
        # No pretraining: the preset still names the backbone, the data and the device.
        overrides = {k: v for k, v in overrides.items() if k in RANDOM_ROW_FIELDS}
    return PretrainConfig.preset(preset, **overrides, seed=seed, out_dir=str(out_dir))


def _data_config(spec: ExperimentSpec, cfg):
    """The synthetic config the pretraining used (``cfg.synthetic_config()``: its preset and
    ``data_overrides``), for evaluation; for a real dataset, where to find it."""
    if spec.dataset in REAL_DATASETS:
        if not cfg.data_root:
            raise ValueError(f"dataset {spec.dataset!r} needs a data root (--data-root)")
        return {"dataset": spec.eval_dataset or spec.dataset, "root": str(cfg.data_root),
                "size": int(cfg.crop_size or 112)}
    return cfg.synthetic_config()


def _random_backbone(name: str, seed: int) -> torch.nn.Module:
    """A random-init backbone; its init is drawn from ``seed`` without leaking global state."""
    return seeded_backbone(name, seed).eval()


def temporal_kernel_weights(backbone: torch.nn.Module,
                            samples: int = TEMPORAL_SAMPLES_PER_STAGE) -> dict[str, list[float]]:
    """|w| of the temporal convolutions (kernels ``(t, 1, 1)``, t > 1) per stage.

    The stage is the first component of the module's name (``stem``; ``layer1..4`` are reported
    as ``res2..res5``). The paper's
    Figure 2 plots these weights per stage; the record keeps an evenly spaced subsample of the
    sorted magnitudes (quantiles), enough for a violin plot.
    """
    per_stage: dict[str, list[torch.Tensor]] = {}
    for name, module in backbone.named_modules():
        if isinstance(module, torch.nn.Conv3d):
            kt, kh, kw = module.kernel_size
            if kt > 1 and kh == 1 and kw == 1:
                top = name.split(".")[0]
                stage = STAGE_NAMES.get(top, top)
                per_stage.setdefault(stage, []).append(module.weight.detach().abs().flatten())
    out = {}
    for stage, tensors in per_stage.items():
        values = torch.sort(torch.cat(tensors).float().cpu()).values
        index = torch.linspace(0, values.numel() - 1, min(samples, values.numel())).round()
        out[stage] = [round(float(v), 6) for v in values[index.long()]]
    return out


#: Characters of the spec hash in a run directory's name (``seed<k>-<hash8>``).
RUN_DIR_HASH_CHARS = 8


def record_path(runs_dir: str | Path, preset: str, name: str, seed: int, key: str) -> Path:
    """``runs/<preset>/<name>/seed<k>-<hash8>/record.json``: a run made with other settings
    (another ``--set``, a re-tuned preset) gets its own directory and never overwrites this one;
    tables that share a row share its directory (same spec, same hash)."""
    return (Path(runs_dir) / preset / name / f"seed{seed}-{key[:RUN_DIR_HASH_CHARS]}"
            / "record.json")


def legacy_record_path(runs_dir: str | Path, preset: str, name: str, seed: int) -> Path:
    """Where records were written before run directories carried the hash (``seed<k>/``):
    still read when their ``spec_hash`` matches, never written."""
    return Path(runs_dir) / preset / name / f"seed{seed}" / "record.json"


def seed_record_paths(runs_dir: str | Path, preset: str, name: str, seed: int) -> list[Path]:
    """Every record file of row ``name`` and ``seed`` on disk, whatever its settings, newest
    first."""
    row = Path(runs_dir) / preset / name
    return _newest_first((*row.glob(f"seed{seed}-*/record.json"),
                          legacy_record_path(runs_dir, preset, name, seed)))


@dataclass(frozen=True)
class ExperimentPlan:
    """Everything a row × seed needs, built and validated before anything runs."""

    path: Path  # the record
    pretrain: Any  # PretrainConfig (its out_dir is ``path.parent / "pretrain"``)
    data: Any  # SyntheticConfig, or a dict naming a real dataset
    eval: Any  # EvalConfig
    key: str  # the record's spec_hash
    legacy_path: Path  # where a record of this row and seed lay before run dirs had the hash
    # False for a random-init row: its ``pretrain`` config only names the backbone and the data
    # (its ``method`` is the preset's), so it must never be matched to a pretraining
    pretrains: bool = True


def plan_experiment(spec: ExperimentSpec, preset: str, seed: int,
                    runs_dir: str | Path = "runs") -> ExperimentPlan:
    """Build and validate the configs of one run (a bad field is a ``ValueError`` here, before
    any directory is created or any row has run)."""
    # out_dir is left out of the hash, and the run directory is named after the hash
    cfg = _pretrain_config(spec, preset, seed, Path(runs_dir))
    data_cfg = _data_config(spec, cfg)
    eval_cfg = EvalConfig.preset(preset, **dict(spec.eval_overrides))
    config_for_hash = {k: v for k, v in _jsonable(cfg).items()
                       if k not in HASH_FREE}
    data_for_hash = data_cfg if isinstance(data_cfg, dict) else data_cfg.hash_fields()
    payload = {"spec": _without_later_defaults(spec.record()), "preset": preset, "seed": seed,
               "pretrain": _without_later_defaults(config_for_hash), "data": data_for_hash,
               "eval": _without_later_defaults(_jsonable(eval_cfg), EVAL_HASH_LATER_FIELDS)}
    version = versioned_mask(cfg.augment, cfg.fame_variant)  # of the mask the run uses
    if version is not None:
        payload["mask_version"] = version
    key = spec_hash(payload)
    path = record_path(runs_dir, preset, spec.name, seed, key)
    cfg = dataclasses.replace(cfg, out_dir=str(path.parent / "pretrain"))
    return ExperimentPlan(path, cfg, data_cfg, eval_cfg, key,
                          legacy_record_path(runs_dir, preset, spec.name, seed),
                          pretrains=spec.method != "random")


def cached_record(plan: ExperimentPlan) -> dict | None:
    """The finished record of ``plan`` on disk (its own directory, else a matching record in
    the directory layout before hashes, ``seed<k>/``), or ``None``."""
    for path in (plan.path, plan.legacy_path):
        record = read_record(path)
        if record is not None and record.get("spec_hash") == plan.key:
            return record
    return None


def _without_later_defaults(fields: dict, later: dict | None = None) -> dict:
    """``fields`` (JSON form) without the ``later`` fields (default ``HASH_LATER_FIELDS``) that
    are at their default."""
    later = HASH_LATER_FIELDS if later is None else later
    return {k: v for k, v in fields.items() if not (k in later and v == later[k])}


def record_checksum(record: dict) -> str:
    """SHA-256 of the record's content without its ``checksum`` field: an edited number or a
    deleted block no longer matches."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def read_record(path: str | Path) -> dict | None:
    """The record at ``path``, or ``None`` when it is missing, unreadable (truncated, not
    UTF-8, not JSON, not an object) or fails its checksum (edited, or written before records
    carried one): such a record is never used, its row is run again."""
    try:
        record = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or record.get("checksum") != record_checksum(record):
        return None
    return record


def run_experiment(spec: ExperimentSpec, preset: str, seed: int,
                   runs_dir: str | Path = "runs", force: bool = False) -> dict:
    """Pretrain (unless ``spec.method == "random"``), evaluate, write and return the record.

    A record on disk with the same ``spec_hash`` and a valid checksum is returned without
    re-running (``force``: recomputed from scratch, checkpoint included); an unreadable or edited
    one is redone (from the run's checkpoint when it is intact and of this configuration). A run
    killed before its record was written resumes from its checkpoint. The run directory is held
    exclusively while it runs: a second process gets a ``RunLockedError`` naming the holder.
    The directory also gets ``config.json`` (the run's configs) and ``run.log`` (what it logged).

    Called on every rank of a torchrun job (an initialised process group of several ranks):
    see ``_run_on_ranks``.
    """
    plan = plan_experiment(spec, preset, seed, runs_dir)
    if distributed.multi_rank():
        return _run_on_ranks(spec, preset, seed, plan, force)
    if not force:
        cached = cached_record(plan)
        if cached is not None:
            return cached  # an atomic, complete record: no lock needed to read it
    with run_lock(plan.path.parent):
        return _run_locked(spec, preset, seed, plan, force)


def _run_on_ranks(spec: ExperimentSpec, preset: str, seed: int, plan: ExperimentPlan,
                  force: bool) -> dict:
    """``run_experiment`` on one rank of several. The main rank alone holds the run directory,
    decides from the cache and writes ``config.json``, ``run.log`` and the record; its decision
    reaches every rank before anything runs (a rank training while another skips would wait
    forever). The other ranks join the pretraining (DDP) and return the record the main rank
    wrote. The evaluation is not distributed: the main rank runs it while the others wait."""
    if not distributed.is_main_rank():
        decision, value = distributed.broadcast_from_main(None)
        if decision == "error":
            raise RuntimeError(f"run {spec.name} seed {seed} did not start on rank 0: {value}")
        if decision == "cached":
            return value
        if spec.method != "random" and not value:  # value: the main rank reuses a pretraining
            pretrain(plan.pretrain)  # the main rank's _run_logged trains the same config
        return distributed.broadcast_from_main(None)
    decided = False
    try:
        with run_lock(plan.path.parent):
            cached = None if force else cached_record(plan)
            source = None if force or cached is not None else find_reusable_pretraining(plan)
            distributed.broadcast_from_main(("run", source is not None) if cached is None else
                                            ("cached", cached))
            decided = True
            record = cached if cached is not None else \
                _run_locked(spec, preset, seed, plan, force, source)
    except BaseException as err:
        if not decided:  # the others are waiting for the decision: tell them, then fail
            distributed.broadcast_from_main(("error", f"{type(err).__name__}: {err}"))
        raise
    return record if cached is not None else distributed.broadcast_from_main(record)


#: ``_run_locked``'s default: look for a reusable pretraining itself.
_SEARCH = "search"


def _run_locked(spec: ExperimentSpec, preset: str, seed: int, plan: ExperimentPlan,
                force: bool = False, source=_SEARCH) -> dict:
    """``source``: the pretraining to reuse (``find_reusable_pretraining``'s answer, decided by
    the caller: the main rank of several tells the others before this runs) or ``None``;
    by default found here, none with ``force``."""
    run_dir = plan.path.parent
    cached = None if force else cached_record(plan)
    if cached is not None:
        return cached  # finished by another process since we looked
    stale = read_record(plan.path)
    if force or stale is not None:
        # Asked to recompute, or a record of other settings (a hash-prefix collision): its
        # checkpoint must not be resumed.
        plan.path.unlink(missing_ok=True)
        shutil.rmtree(run_dir / "pretrain", ignore_errors=True)
        shutil.rmtree(run_dir / FINETUNE_DIR, ignore_errors=True)
    elif plan.path.exists():
        warnings.warn(f"{plan.path} is unreadable or fails its checksum; recomputing the row",
                      RuntimeWarning, stacklevel=3)
    with run_log(run_dir / RUN_LOG):
        LOG.info("run %s seed %d, preset %s, spec_hash %s%s", spec.name, seed, preset, plan.key,
                 " (--force: recomputed)" if force else "")
        if source is _SEARCH:
            source = None if force else find_reusable_pretraining(plan)
        record = _run_logged(spec, preset, seed, plan, source)
    shutil.rmtree(run_dir / FINETUNE_DIR, ignore_errors=True)  # the record holds its result
    return record


def _run_logged(spec: ExperimentSpec, preset: str, seed: int, plan: ExperimentPlan,
                source: tuple | None = None) -> dict:
    """Pretrain (or link ``source``, a finished identical pretraining), evaluate, write the
    record."""
    path, cfg, data_cfg, eval_cfg, key = plan.path, plan.pretrain, plan.data, plan.eval, plan.key
    write_atomic(path.parent / RUN_CONFIG, json.dumps(
        {"name": spec.name, "preset": preset, "seed": seed, "spec_hash": key,
         "spec": spec.record(), "pretrain": _jsonable(cfg), "data": _jsonable(data_cfg),
         "eval": _jsonable(eval_cfg)}, indent=1) + "\n")

    device = str(getattr(cfg, "device", "cpu") or "cpu")
    start = time.perf_counter()
    pretrain_block, result = None, {}
    reused = None if source is None else _reuse_pretraining(plan, source)
    if spec.method == "random":
        backbone = _random_backbone(cfg.backbone, seed)
    elif reused is not None:
        pretrain_block, result = reused
        backbone = load_backbone(cfg.out_dir)
        LOG.info("reused the pretraining of %s (same pretraining config and data)",
                 pretrain_block["reused_from"])
    else:
        _discard_foreign_checkpoint(cfg)
        result = pretrain(cfg)
        pretrain_block = {k: result.get(k) for k in
                          ("steps", "loss_curve", "step_ms", "augment_ms", "augment_share",
                           "wall_time_s")}
        pretrain_block["run_dir"] = str(result["run_dir"])
        backbone = load_backbone(result["run_dir"])
        LOG.info("pretrained %s steps in %.1f s (%s torch threads, %s undecodable videos "
                 "skipped)", result.get("steps"), result.get("wall_time_s") or 0.0,
                 result.get("threads"), result.get("skipped_videos"))
    evaluation, eval_threads, videos = _evaluate_counted(backbone, data_cfg, eval_cfg, seed,
                                                         path.parent / FINETUNE_DIR)
    LOG.info("evaluated (%d torch threads): videos scored %s, skipped %s", eval_threads,
             videos["eval_scored"], videos["eval_skipped"])
    videos["pretrain_skipped"] = None if pretrain_block is None else \
        result.get("skipped_videos")
    threads = {"pretrain": None if pretrain_block is None else result.get("threads"),
               "eval": eval_threads}
    # What the run costs from scratch (ETAs and the frontier's minutes read it): a reused
    # pretraining counts with the time it took when it ran.
    reused_seconds = (pretrain_block.get("wall_time_s") or 0.0) if reused is not None else 0.0
    record = {
        "schema_version": SCHEMA_VERSION,
        "name": spec.name, "method": spec.method, "augment": spec.augment_record(
            cfg.fame_on if spec.method == "moco" else None,
            versioned_mask(cfg.augment, cfg.fame_variant)),
        # what the run used: a pretraining set overridden in the spec's overrides (e.g. K400
        # with a UCF101 row) is the one named here
        "dataset": cfg.dataset, "eval_dataset": spec.eval_dataset or spec.dataset,
        "preset": preset, "seed": seed,
        "config": {"pretrain": _jsonable(cfg), "data": _jsonable(data_cfg),
                   "eval": _jsonable(eval_cfg), "spec": spec.record()},
        "env": environment(device, threads),
        "wall_time_s": round(time.perf_counter() - start + reused_seconds, 3),
        "pretrain": pretrain_block,
        "eval": _jsonable(evaluation),
        "videos": videos,
        "temporal_kernels": temporal_kernel_weights(backbone),
        "spec_hash": key,
    }
    record["checksum"] = record_checksum(record)
    write_atomic(path, json.dumps(record, indent=1))
    LOG.info("wrote %s (%.1f s)", path, record["wall_time_s"])
    return record


def _evaluate_counted(backbone, data_cfg, eval_cfg, seed: int,
                      finetune_dir: Path | None = None) -> tuple[dict, int, dict]:
    """The evaluation, the torch thread count it ran with (measured inside it) and the videos
    it scored and skipped per split (``{"eval_scored", "eval_skipped"}``); ``finetune_dir``:
    where a real-data finetune checkpoints itself (``_evaluate_real``)."""
    with cpu_threads(eval_cfg.threads):  # the evaluation sets the same count again inside
        threads = torch.get_num_threads()
        if isinstance(data_cfg, dict):  # a real dataset
            evaluation, counts = _evaluate_real(backbone, data_cfg, eval_cfg, seed, finetune_dir)
            videos = {"eval_scored": counts.scored, "eval_skipped": counts.skipped}
        else:
            evaluation = _evaluate(backbone, data_cfg, eval_cfg, seed)
            scored = scored_videos(data_cfg, eval_cfg.max_videos)
            videos = {"eval_scored": scored, "eval_skipped": dict.fromkeys(scored, 0)}
    return evaluation, threads, videos


def pretraining_identity(pretrain: dict, data: dict | None,
                         mask_version: int | None = None) -> dict:
    """What decides a pretraining's weights, in JSON form: the ``PretrainConfig`` fields (a
    dict) without ``HASH_FREE`` ones and later fields at their default, the synthetic data
    config without its later fields at their default (``None`` for a real dataset, which the
    pretraining config names), and the mask's algorithm version when it has one
    (``versioned_mask``)."""
    config = _without_later_defaults(
        {k: v for k, v in _jsonable(pretrain).items() if k not in HASH_FREE})
    if data is not None:
        data = {k: v for k, v in _jsonable(data).items()
                if not (k in DATA_LATER_FIELDS and v == _jsonable(DATA_LATER_FIELDS[k]))}
    identity = {"pretrain": config, "data": data}
    return identity if mask_version is None else {**identity, "mask_version": mask_version}


def _plan_pretraining_identity(plan: ExperimentPlan) -> dict:
    data = None if isinstance(plan.data, dict) else dataclasses.asdict(plan.data)
    return pretraining_identity(dataclasses.asdict(plan.pretrain), data,
                                versioned_mask(plan.pretrain.augment, plan.pretrain.fame_variant))


def _record_pretraining_identity(record: dict) -> dict | None:
    """The pretraining identity of a finished run's record; ``None`` for a random-init row or a
    record without its configs."""
    config = record.get("config") or {}
    if not record.get("pretrain") or not isinstance(config.get("pretrain"), dict):
        return None
    data = config.get("data")
    # the version the record was made with (none before versions existed)
    augment = record.get("augment")
    version = augment.get("mask_version") if isinstance(augment, dict) else None
    return pretraining_identity(config["pretrain"],
                                None if not isinstance(data, dict) or "root" in data else data,
                                version)


def find_reusable_pretraining(plan: ExperimentPlan) -> tuple[Path, dict, dict] | None:
    """A finished pretraining identical to ``plan``'s, made by another run of this preset and
    seed: its record's path, the record and the checkpoint (newest first), or ``None``. The
    checkpoint must be intact, at the last step and of the same config: its own saved config is
    compared, not only its record's. A random-init row has nothing to reuse."""
    if not plan.pretrains:
        return None
    wanted = _plan_pretraining_identity(plan)
    preset_dir, seed = plan.path.parents[2], plan.pretrain.seed
    for path in _newest_first((*preset_dir.glob(f"*/seed{seed}-*/record.json"),
                               *preset_dir.glob(f"*/seed{seed}/record.json"))):
        if path.parent == plan.path.parent:
            continue
        record = read_record(path)
        if record is None or _record_pretraining_identity(record) != wanted:
            continue
        try:
            saved = load_checkpoint(path.parent / "pretrain")
        except CheckpointError:
            continue
        if (saved is not None and saved.get("step") == plan.pretrain.steps
                and pretraining_identity(saved["config"], None)["pretrain"]
                == wanted["pretrain"]):
            return path, record, saved
    return None


def _reuse_pretraining(plan: ExperimentPlan, source: tuple) -> tuple[dict, dict]:
    """Link ``source`` (``find_reusable_pretraining``'s answer) into ``plan``'s run directory;
    returns its record's ``pretrain`` block (with ``reused_from``, the source run directory) and
    the pretraining facts the record keeps (``threads``, ``skipped_videos``)."""
    path, record, saved = source
    _link_files(path.parent / "pretrain", Path(plan.pretrain.out_dir))
    block = dict(record["pretrain"], run_dir=str(plan.pretrain.out_dir),
                 reused_from=str(path.parent))
    threads = (record.get("env") or {}).get("threads")
    # schema 1 kept the process's thread count, not the run's: the config's then
    facts = {"threads": threads.get("pretrain") if isinstance(threads, dict)
             else saved["config"].get("threads"),
             "skipped_videos": (record.get("videos") or {}).get("pretrain_skipped")}
    return block, facts


def _newest_first(paths) -> list[Path]:
    """``paths`` that still exist, the most recently written first."""
    dated = []
    for path in paths:
        try:
            dated.append((path.stat().st_mtime, path))
        except OSError:  # removed since the glob (a run being recomputed)
            continue
    return [path for _, path in sorted(dated, key=lambda item: item[0], reverse=True)]


def _link_files(source: Path, target: Path) -> None:
    """Hard-link (else copy) the finished pretraining's files into ``target``, replacing what a
    killed run left there; the lock file stays with its own directory."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and not path.name.startswith("."):
            try:
                os.link(path, target / path.name)
            except OSError:
                shutil.copy2(path, target / path.name)


def _discard_foreign_checkpoint(cfg) -> None:
    """A checkpoint left by a killed run of another configuration is removed (the loop would
    refuse to resume it), and so is an unreadable or corrupt one (the row is trained again);
    an intact one of this configuration is kept and resumed."""
    try:
        saved = load_checkpoint(cfg.out_dir)
    except CheckpointError as err:
        warnings.warn(f"{err}: discarded, the row is trained again", RuntimeWarning,
                      stacklevel=3)
        shutil.rmtree(cfg.out_dir, ignore_errors=True)
        return
    if saved is None:
        return
    try:
        check_resumable(saved["config"], cfg)
    except ValueError:
        shutil.rmtree(cfg.out_dir, ignore_errors=True)


def _evaluate(backbone, data_cfg, eval_cfg, seed: int) -> dict:
    return evaluate_synthetic(backbone, data_cfg, eval_cfg, seed)


def _evaluate_real(backbone, data: dict, eval_cfg, seed: int,
                   finetune_dir: Path | None = None):
    """Top-1 on a real dataset's split-1 test list (linear probe, finetune, retrieval), and the
    videos scored and skipped (``VideoCounts``). With ``finetune_dir``, the finetune saves itself
    there every ``FINETUNE_CKPT_EVERY`` steps and resumes from a checkpoint of the same finetune
    (backbone weights, data, configuration, seed); any other checkpoint there is discarded."""
    checkpoint = None
    if finetune_dir is not None and eval_cfg.finetune_steps > 0:
        settings = {"data": data, "eval": _jsonable(eval_cfg), "seed": seed,
                    "backbone_sha256": weights_digest(backbone)}
        checkpoint = FinetuneCheckpoint(finetune_dir, fingerprint(settings), FINETUNE_CKPT_EVERY)
        _discard_foreign_finetune(checkpoint)
    counts = VideoCounts()
    result = evaluate_named_dataset(backbone, data["dataset"], data["root"], eval_cfg, seed,
                                    size=data["size"], counts=counts,
                                    finetune_checkpoint=checkpoint)
    return result, counts


def _discard_foreign_finetune(checkpoint: FinetuneCheckpoint) -> None:
    """A finetune checkpoint of another backbone, configuration or data (a run redone after a
    kill with other weights), or a corrupt one, is removed: the finetune starts again."""
    try:
        checkpoint.load()
    except CheckpointError as err:
        warnings.warn(f"{err}: discarded, the finetune starts again", RuntimeWarning,
                      stacklevel=3)
        checkpoint.remove()
