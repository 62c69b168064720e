"""The benchmark's configuration and vocabulary: splits, variants, motion classes, presets
(:class:`SyntheticConfig`). What each field does to a clip: :mod:`.render`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SPLITS = (
    "pretrain",
    "train",
    "train_unbiased",
    "test_biased",
    "test_swapped",
    "test_background_only",
    "test_foreground_only",
)
DATASET_VARIANTS = ("bias", "finegrained")

# Class = motion. Order fixes the label.
MOTIONS = (
    "right", "left", "up", "down",
    "circle_cw", "circle_ccw", "grow", "shrink",
    "oscillate_h", "oscillate_v",
)
# Fine-grained classes: ordered pairs of two different directions; a class and its mirror (same
# two segments, other order) end at the same place, so only the order separates them.
FINEGRAINED_MOTIONS = (
    ("right", "up"), ("up", "right"),
    ("right", "down"), ("down", "right"),
    ("left", "up"), ("up", "left"),
    ("left", "down"), ("down", "left"),
    ("right", "left"), ("left", "right"),
    ("up", "down"), ("down", "up"),
)

SPLIT_IDS = {name: i for i, name in enumerate(SPLITS)}
#: Fields added after caches and run records existed, at the default that renders every clip
#: as before: left out of the hashes while at that default, so existing caches stay valid.
LATER_FIELDS = {"camera_speed_exact": False, "camera_jitter": 0.0}
#: Sensor noise of every preset (uint8 levels): no pixel is exactly static, as with a camera.
SENSOR_NOISE = 3.0


@dataclass(frozen=True)
class SyntheticConfig:
    """Sizes and knobs of the benchmark. Use :meth:`preset` for ``"ci" | "cpu" | "paper"``.

    ``object_scale``: the object's diameter as a fraction of the frame side (spec: 20-35 %); its
    motion sweeps a much larger footprint, so FAME's β in 0.3-0.7 keeps a meaningful part of it.
    ``camera_motion``: the largest global pan, in pixels per frame (0 = static camera): each
    clip pans in a straight line at a velocity drawn uniformly from the square of that half-side.
    ``camera_speed_exact``: pan at exactly ``camera_motion`` pixels per frame instead, in a
    uniformly random direction; the object's start is then placed so its path *in the image*
    (its own motion plus the pan) stays in frame where it fits (for the camera-motion study).
    ``camera_jitter``: std in pixels of an independent random offset of the camera in every
    frame (a shake on top of the pan; 0: none).
    ``frames``: generated frames per clip (32 for VTHCL tempo work at α = 4).
    """

    name: str = "ci"
    variant: str = "bias"
    num_classes: int = 10
    frames: int = 16
    size: int = 32
    rho: float = 0.9
    n_pretrain: int = 2000
    n_train: int = 1000
    n_train_unbiased: int = 1000
    n_test: int = 500
    object_scale: tuple[float, float] = (0.22, 0.35)
    speed: tuple[float, float] = (0.35, 0.6)  # travel over the clip, fraction of the side
    distractor: bool = False
    distractor_alpha: float = 0.3
    camera_motion: float = 0.0
    camera_speed_exact: bool = False
    camera_jitter: float = 0.0
    # Sensor noise: std of per-pixel, per-frame Gaussian noise in uint8 levels (0: noise-free).
    # Real cameras never give exactly static pixels; without noise FAME's seed region is exactly
    # 0 outside the object and its tie rule fills the rest of the mask with the top rows.
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        if self.variant not in DATASET_VARIANTS:
            raise ValueError(f"variant must be one of {DATASET_VARIANTS}, got {self.variant!r}")
        max_classes = len(MOTIONS) if self.variant == "bias" else len(FINEGRAINED_MOTIONS)
        if not 2 <= self.num_classes <= max_classes:
            raise ValueError(
                f"num_classes must be in [2, {max_classes}] for variant {self.variant!r}, "
                f"got {self.num_classes}"
            )
        if self.frames < 2:
            raise ValueError(f"frames must be >= 2 (motion needs two frames), got {self.frames}")
        if self.size < 8:
            raise ValueError(f"size must be >= 8 pixels, got {self.size}")
        if not 0.0 <= self.rho <= 1.0:
            raise ValueError(f"rho must be in [0, 1], got {self.rho}")
        if not 0.0 <= self.camera_motion <= self.size:
            raise ValueError(f"camera_motion must be in [0, size = {self.size}] pixels per frame, "
                             f"got {self.camera_motion}")
        if not 0.0 <= self.camera_jitter <= self.size / 4:
            raise ValueError(f"camera_jitter must be in [0, size / 4 = {self.size / 4:g}] pixels, "
                             f"got {self.camera_jitter}")
        if not 0.0 <= self.noise_std <= 64.0:
            raise ValueError(f"noise_std must be in [0, 64] uint8 levels, got {self.noise_std}")
        lo, hi = self.object_scale
        if not 0.0 < lo <= hi < 1.0:
            raise ValueError(f"object_scale must satisfy 0 < lo <= hi < 1, got {self.object_scale}")

    @classmethod
    def preset(cls, name: str, **overrides) -> SyntheticConfig:
        """``ci``: 32², 16 frames, ~6k clips; ``cpu``: 32², 16 frames, ~2.5x ci;
        ``paper``: 112², 16 frames, 10k pretraining clips (render lazily, see
        :class:`SyntheticClipDataset`)."""
        presets = {
            "ci": dict(noise_std=SENSOR_NOISE),
            "cpu": dict(n_pretrain=5000, n_train=2500, n_train_unbiased=2500, n_test=1000,
                        noise_std=SENSOR_NOISE),
            "gpu": dict(size=64, n_pretrain=10000, n_train=5000, n_train_unbiased=5000,
                        n_test=2000, noise_std=SENSOR_NOISE),
            "paper": dict(
                size=112, n_pretrain=10000, n_train=5000, n_train_unbiased=5000, n_test=2000,
                distractor=True, noise_std=SENSOR_NOISE,
            ),
        }
        if name not in presets:
            raise ValueError(f"preset must be one of {sorted(presets)}, got {name!r}")
        return cls(name=name, **{**presets[name], **overrides})

    def hash_fields(self) -> dict:
        """The fields as a dict, without the ``LATER_FIELDS`` that are at their default: what
        cache keys and run-record hashes are made of."""
        return {k: v for k, v in dataclasses.asdict(self).items()
                if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}

    def split_size(self, split: str) -> int:
        check_split(split)
        return {
            "pretrain": self.n_pretrain,
            "train": self.n_train,
            "train_unbiased": self.n_train_unbiased,
        }.get(split, self.n_test)

    def motion_names(self) -> list[str]:
        if self.variant == "bias":
            return list(MOTIONS[: self.num_classes])
        return ["_then_".join(pair) for pair in FINEGRAINED_MOTIONS[: self.num_classes]]



def check_split(split: str) -> None:
    if split not in SPLIT_IDS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
