"""Pretraining configuration: one dataclass, named presets ``ci``, ``cpu``, ``paper``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from fame_bench.data.synthetic import SyntheticConfig
from fame_bench.methods import registry
from fame_bench.methods.moco import AUGMENT_ON as FAME_ON
from fame_bench.methods.moco import ENQUEUE as MOCO_ENQUEUE
from fame_bench.names import AUGMENTS, METHODS
from fame_bench.validation import POSITIVE, UNIT, Interval, at_least, check_fields

OPTIMIZERS = ("sgd", "adamw")
#: Config fields that may differ between a run and its resumption (none changes the weights).
RESUME_FREE = {"out_dir", "progress", "device", "threads", "num_workers", "extra", "log_every",
               "fame_compile", "tensorboard"}
#: Per preset, what a supervised run changes in the recipe (``PretrainConfig.preset``).
SUPERVISED_RECIPE = {"ci": {"steps": 1600}, "cpu": {"steps": 800}, "gpu": {"steps": 3000}}

#: Allowed values of the numeric fields (each element, for tuples). Every field is also checked
#: against its declared type, and every number must be finite (``fame_bench.validation``).
RANGES: dict[str, Interval] = {
    "fame_beta": Interval(0.0, 1.0, open_low=True), "fame_p": UNIT, "be_max_weight": UNIT,
    "data_seed": at_least(0), "num_videos": at_least(0), "fold": Interval(1, 3),
    "num_workers": at_least(0), "clip_len": at_least(1), "frame_stride": at_least(1),
    "crop_size": at_least(0), "dim": at_least(1), "queue_size": at_least(1),
    "moco_momentum": UNIT, "temperature": POSITIVE, "bn_splits": at_least(0),
    "vthcl_alpha": at_least(1), "vthcl_slow_stride": at_least(1),
    "vthcl_num_negatives": at_least(1), "vthcl_temperature": POSITIVE,
    "vthcl_bank_momentum": UNIT, "jitter": at_least(0), "jitter_p": UNIT, "grayscale_p": UNIT,
    "crop_scale": UNIT, "blur_p": UNIT, "blur_sigma": POSITIVE,
    "steps": at_least(1), "batch_size": at_least(1), "lr": POSITIVE, "sgd_momentum": UNIT,
    "weight_decay": at_least(0), "warmup_steps": at_least(0), "seed": at_least(0),
    "ckpt_every": at_least(1), "log_every": at_least(1), "threads": at_least(0),
}


def _pairs(values) -> tuple:
    """``(name, value)`` pairs as a tuple of tuples (JSON gives lists), names as strings."""
    try:
        pairs = tuple((str(name), tuple(v) if isinstance(v, list) else v) for name, v in values)
    except (TypeError, ValueError):
        raise ValueError(f"data_overrides must be (name, value) pairs, got {values!r}") from None
    return pairs


@dataclass
class PretrainConfig:
    """Every knob of one pretraining run. Build with :meth:`preset`, override any field.

    ``batch_size`` is the global batch (split across ranks under DDP). ``lr`` is the learning rate
    at this batch (``paper``: 0.01 × batch/64, docs/moco.md). Clips: ``clip_len`` frames at
    ``frame_stride`` from the generated videos. VTHCL: the slow clip has ``clip_len`` frames at
    stride ``vthcl_slow_stride`` (τ); the fast clip ``vthcl_alpha × clip_len`` frames at stride
    τ / α when ``vthcl_same_span`` (same time span, SlowFast convention), else ``clip_len``.
    """

    preset_name: str = "ci"
    method: str = "moco"
    augment: str = "none"
    fame_beta: float | str = 0.5  # "auto": per clip (fame_bench.augment, beta="auto")
    fame_variant: str = "fame"
    # where FAME/BE enter MoCo (docs/moco.md): "first" clip of each pair, as the authors' code
    # (query once, key once); "queries" (each clip only where it is the query); "both" clips
    fame_on: str = "first"
    fame_p: float = 1.0
    fame_compile: bool = False  # torch.compile FAME's mask stage (same masks; pays off on GPUs)
    # torch.compile every backbone (nn.Module.compile: checkpoints keep their keys); pays off on
    # GPUs; floats may round differently, so it is part of the run's identity
    compile_backbone: bool = False
    # also write metrics.jsonl's columns as TensorBoard scalars (<run>/tensorboard; optional
    # extra: pip install 'fame-bench[tensorboard]')
    tensorboard: bool = False
    be_max_weight: float = 0.3
    # data
    dataset: str = "synthetic"
    data_root: str = ""
    data_preset: str = ""  # synthetic preset; empty: same as preset_name
    data_seed: int = 0
    # synthetic data: SyntheticConfig fields over the preset's, as (name, value) pairs (e.g.
    # (("camera_motion", 2.0), ("camera_speed_exact", True))); pretraining and evaluation
    # both use them (see synthetic_config)
    data_overrides: tuple = ()
    num_videos: int = 0  # first N clips of the pretraining split; 0: all
    fold: int = 1
    num_workers: int = 2
    clip_len: int = 8
    frame_stride: int = 1
    crop_size: int = 0  # resize clips to this side on the device; 0: as stored
    # model
    backbone: str = "tiny_r2plus1d"
    dim: int = 128
    # MoCo v2
    queue_size: int = 1024
    moco_momentum: float = 0.99
    temperature: float = 0.1
    symmetric: bool = True
    bn_splits: int = 2
    # "each_direction": the first direction's keys enter the queue before the second direction
    # reads it (the code); "after_both": both directions see the same queue
    moco_enqueue: str = "each_direction"
    # VTHCL
    vthcl_alpha: int = 2
    vthcl_slow_stride: int = 2  # τ of the slow clip; the fast clip's stride is τ / α
    vthcl_same_span: bool = True
    vthcl_levels: tuple = ("res3", "res4", "res5")
    vthcl_negatives: str = "bank"
    vthcl_num_negatives: int = 16384
    vthcl_temperature: float = 0.07
    vthcl_bank_momentum: float = 0.5
    # supervised
    supervised_split: str = "train"
    # colour augmentation after FAME/BE (no flips on synthetic data)
    jitter: tuple = (0.4, 0.4, 0.4, 0.1)
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    # spatial augmentation of synthetic training clips: a random square crop per clip covering
    # this fraction of the frame's area, resized back; (1, 1) switches it off
    crop_scale: tuple = (1.0, 1.0)
    # Gaussian blur after jitter and grayscale, per clip with this probability (the FAME code's
    # 0.5); kernel int(0.1 H) // 2 * 2 + 1, σ ~ U(blur_sigma) per clip (docs/deviations.md).
    # Cost measured: ≈ 5 ms of a 237 ms MoCo + FAME step at the cpu preset's shapes (1 thread)
    blur_p: float = 0.5
    blur_sigma: tuple = (0.1, 2.0)
    # optimisation
    optimizer: str = "sgd"  # "sgd" (momentum) | "adamw"
    steps: int = 100
    batch_size: int = 32
    lr: float = 0.05
    sgd_momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    # run
    seed: int = 0
    out_dir: str = "runs/pretrain"
    ckpt_every: int = 50
    log_every: int = 5
    device: str = "auto"  # "auto": cuda when available, else cpu
    amp: bool = True  # autocast on CUDA only
    amp_dtype: str = "bf16"  # "bf16" (no loss scaling; float16 where unsupported) | "fp16"
    # torch threads on CPU for this run (restored after); 0: leave as is. The CPU presets use 1:
    # on a shared 2-core machine two OpenMP threads slowed a step ~30x under contention.
    threads: int = 0
    progress: bool = True
    extra: dict = field(default_factory=dict)  # free-form notes carried into the run record

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {AUGMENTS}, got {self.augment!r}")
        if self.fame_on not in FAME_ON:
            raise ValueError(f"fame_on must be one of {FAME_ON}, got {self.fame_on!r}")
        if self.moco_enqueue not in MOCO_ENQUEUE:
            raise ValueError(f"moco_enqueue must be one of {MOCO_ENQUEUE}, got "
                             f"{self.moco_enqueue!r}")
        method = registry.method_class(self.method)
        if self.augment != "none" and not method.takes_clip_augment:
            takers = " / ".join(repr(n) for n, m in registry.METHODS.items()
                                if m.takes_clip_augment)
            raise ValueError(f"augment={self.augment!r} is defined for method {takers} only")
        if isinstance(self.fame_beta, str) and self.fame_beta != "auto":
            raise ValueError(f"fame_beta must be a number in (0, 1] or 'auto', got "
                             f"{self.fame_beta!r}")
        self.data_overrides = _pairs(self.data_overrides)
        if self.dataset.startswith("synthetic"):
            self.synthetic_config()  # an unknown field or a bad value: refused here, up front
        self.vthcl_levels = tuple(self.vthcl_levels)
        self.jitter = tuple(self.jitter)
        self.crop_scale = tuple(self.crop_scale)
        check_fields(self, RANGES)
        if self.vthcl_alpha < 1 or self.vthcl_slow_stride % self.vthcl_alpha:
            raise ValueError(
                f"vthcl_alpha={self.vthcl_alpha} must be >= 1 and divide vthcl_slow_stride="
                f"{self.vthcl_slow_stride} (the fast clip's stride is τ / α)"
            )
        method.check_config(self)
        if self.amp_dtype not in ("bf16", "fp16"):
            raise ValueError(f"amp_dtype must be 'bf16' or 'fp16', got {self.amp_dtype!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if not 0.0 < self.crop_scale[0] <= self.crop_scale[1] <= 1.0:
            raise ValueError(f"crop_scale must satisfy 0 < lo <= hi <= 1, got {self.crop_scale}")
        self.blur_sigma = tuple(self.blur_sigma)
        if not 0.0 <= self.blur_p <= 1.0 or len(self.blur_sigma) != 2 or not (
                0.0 < self.blur_sigma[0] <= self.blur_sigma[1]):
            raise ValueError(f"blur_p must be in [0, 1] and blur_sigma (lo, hi) with "
                             f"0 < lo <= hi; got {self.blur_p!r}, {self.blur_sigma!r}")

    @classmethod
    def preset(cls, name: str, **overrides) -> PretrainConfig:
        """Named presets; unknown override names raise ``ValueError``.

        ``ci`` and ``cpu`` (calibrated once for validity, then frozen; docs/calibration.md has
        the full record): tiny_r2plus1d (≈0.37 M params) on the synthetic pretraining split
        (ci 2000 clips, cpu 5000; 32², 16 frames, sensor noise σ = 3 levels), two 8-frame clips
        at stride 1, m = 0.99, 1 torch thread, colour jitter without the hue shift, no blur, no
        crop; **AdamW, lr 3e-3, 20 warm-up steps then cosine, 400 steps**; batch 16 / queue 512
        (ci), batch 32 / queue 1024 (cpu). Supervised rows (the oracle included) train 1600 (ci)
        / 800 (cpu) steps: one encoder, no key branch, so a step costs a third of MoCo's.
        The earlier recipe (SGD lr 0.06, 150 steps) left even a supervised encoder at chance.
        Measured at cpu, seed 0, one run each (loss at the end of the run, motion probe = linear
        probe trained on train_unbiased, tested on test_swapped; random init 0.106):
        supervised on train_unbiased, AdamW 1e-3, 400 steps: loss 2.05, probe 0.29; the same
        without colour jitter: 1.71 / 0.36; **lr 3e-3, 400 steps: 1.16 / 0.665; 800 steps:
        0.41 / 0.889**. MoCo, AdamW 1e-3, 400 steps, random resized crop (area 0.4-1): 5.28 /
        0.139; lr 3e-3 with that crop: 5.28 / 0.148; crop area 0.7-1: 4.76 / 0.174; **no crop:
        4.18 / 0.171** (ln 1025 = 6.93; crops are available as ``crop_scale`` but did not help);
        no crop with the FAME code's Gaussian blur (p 0.5): 5.01 / 0.117 (blur at 32² removes
        what the tiny encoder reads motion from, so the synthetic presets turn it off). MoCo +
        BE: 4.28 / (table runs). MoCo + FAME β 0.5 (fame_on "first"): the loss falls to ≈ 5.5
        by step 150-250 and climbs back to 6.3-6.5 as the lr decays, with or without blur,
        with larger objects (scale 0.35-0.5: 6.32), and over 800 steps (6.26 at step 600):
        at this scale FAME's loss does not fall 30 %, and the learnability check says so.
        ci: MoCo 400 steps: loss 4.29 (ln 513 = 6.24), probe 0.166 (random 0.102).
        ``gpu``: r2plus1d_18 on synthetic 64² clips (10 000), 8-frame clips, batch 64, queue
        4096, the cpu recipe's optimiser, 1500 steps, bf16 autocast; sized for about 30 min a
        table on one H100 by estimate (a step of r2plus1d_18 MoCo at 8×64², batch 64: ≈ 50 ms),
        **not yet measured on a GPU**.
        ``paper``: r2plus1d_18, 16×112×112, batch 64, queue 2048 (65536 for K400), m = 0.999,
        lr 0.01 × batch/64, cosine; steps = 200 epochs of UCF101's split-1 train set
        (9537 videos / 64 ≈ 149 steps per epoch). Never run on this machine.
        Step times and the ci loss curve: ``reports/training_throughput.md``.
        """
        calibrated = dict(threads=1, optimizer="adamw", lr=3e-3, warmup_steps=20, steps=400,
                          weight_decay=1e-4, jitter=(0.4, 0.4, 0.4, 0.0), blur_p=0.0)
        presets = {
            "ci": dict(calibrated, batch_size=16, queue_size=512, ckpt_every=100, log_every=10),
            "cpu": dict(calibrated, batch_size=32, queue_size=1024, ckpt_every=100,
                        log_every=10),
            "gpu": dict(calibrated, threads=0, backbone="r2plus1d_18", batch_size=64,
                        queue_size=4096, steps=1500, ckpt_every=500, log_every=25,
                        vthcl_num_negatives=4096),
            "paper": dict(
                dataset="ucf101", backbone="r2plus1d_18", clip_len=16, frame_stride=1,
                crop_size=112, vthcl_slow_stride=8, batch_size=64, queue_size=2048,
                moco_momentum=0.999,
                lr=0.01, steps=200 * 149, ckpt_every=1000, log_every=50,
                vthcl_num_negatives=16384, num_workers=8,
            ),
        }
        if name not in presets:
            raise ValueError(f"preset must be one of {sorted(presets)}, got {name!r}")
        values = {**presets[name]}
        if overrides.get("method") == "supervised":
            values.update(SUPERVISED_RECIPE.get(name, {}))
        values.update(overrides)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown PretrainConfig fields {unknown}")
        return cls(preset_name=name, **values)

    @property
    def synthetic_preset(self) -> str:
        return self.data_preset or self.preset_name

    def synthetic_config(self):
        """The ``SyntheticConfig`` of this run's data: the synthetic preset, the dataset's
        variant, then ``data_overrides``."""
        variant = "finegrained" if self.dataset == "synthetic_finegrained" else "bias"
        fields = dict(self.data_overrides)
        fixed = sorted({"name", "variant"} & set(fields))
        if fixed:
            raise ValueError(f"data_overrides cannot set {fixed} (the preset and the dataset "
                             f"decide them)")
        try:
            return SyntheticConfig.preset(self.synthetic_preset, variant=variant, **fields)
        except TypeError as err:  # an unknown field name
            raise ValueError(f"data_overrides names a field SyntheticConfig does not have: "
                             f"{err}") from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> PretrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def check_resumable(saved: dict, cfg: PretrainConfig) -> None:
    """Raise a clear ``ValueError`` when the checkpoint config ``saved`` (a dict) belongs to
    another run than ``cfg``: only the fields in ``RESUME_FREE`` may differ."""
    now = cfg.to_dict()
    diff = sorted(k for k in now if k not in RESUME_FREE and k in saved
                  and json.dumps(saved[k]) != json.dumps(now[k]))
    if diff:
        raise ValueError(
            f"{cfg.out_dir} holds a checkpoint of a different run (fields {diff} differ); "
            f"use another out_dir or delete it"
        )
