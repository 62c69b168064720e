"""Rendering synthetic clips: every clip a pure function of ``(config, seed, split, index)``,
vectorised over clips, frames and pixels (NumPy, float32); :func:`render_clips` renders any
subset of a split, uncached."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fame_bench.data.synthetic.config import (
    DATASET_VARIANTS,
    FINEGRAINED_MOTIONS,
    MOTIONS,
    SPLIT_IDS,
    SyntheticConfig,
    check_split,
)

_DIRECTIONS = {"right": (1.0, 0.0), "left": (-1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
SHAPES = ("disc", "square", "triangle", "cross", "ring", "diamond")
FG_TEXTURES = ("flat", "stripes", "noise")
BG_KINDS = ("stripes", "checker", "blobs", "gradient", "noise")

NUM_DRAWS = 96  # uniform numbers per clip; fixed so adding a draw later is a visible change
_FG_NOISE_CELLS = 4  # the object's noise texture is a 4x4 grid of two colours
_FAMILY_SEED = 20220615  # families are fixed for the benchmark, not per seed
_NOISE_STREAM = 7  # SeedSequence entry of the sensor-noise stream
_CAMERA_STREAM = 8  # SeedSequence entry of the camera-jitter stream


@dataclass
class SyntheticSplit:
    """One rendered split. ``videos`` uint8 ``(N, C, T, H, W)``, ``labels`` int64 ``(N,)``,
    ``families`` int64 ``(N,)`` (−1: no textured background), ``masks`` bool ``(N, T, H, W)``."""

    videos: torch.Tensor
    labels: torch.Tensor
    families: torch.Tensor
    masks: torch.Tensor
    split: str = ""

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def union_masks(self) -> torch.Tensor:
        """Ground-truth foreground over the whole clip, bool ``(N, H, W)``."""
        return self.masks.any(dim=1)



# ----------------------------------------------------------------------------- random draws


class _Draws:
    """Hands out columns of the per-clip uniform matrix ``U (N, NUM_DRAWS)`` in order."""

    def __init__(self, uniforms: np.ndarray) -> None:
        self._u = uniforms
        self._next = 0

    def take(self, count: int | None = None) -> np.ndarray:
        width = 1 if count is None else count
        if self._next + width > self._u.shape[1]:
            raise RuntimeError("synthetic clip needs more random draws than NUM_DRAWS")
        cols = self._u[:, self._next : self._next + width]
        self._next += width
        return cols[:, 0] if count is None else cols

    def uniform(self, lo: float, hi: float) -> np.ndarray:
        return (lo + (hi - lo) * self.take()).astype(np.float32)

    def integers(self, n: int) -> np.ndarray:
        return np.minimum((self.take() * n).astype(np.int64), n - 1)


def _clip_uniforms(cfg: SyntheticConfig, split: str, indices: np.ndarray, seed: int) -> np.ndarray:
    variant_id = DATASET_VARIANTS.index(cfg.variant)
    rows = [
        np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([seed, SPLIT_IDS[split], int(i), variant_id]))
        ).random(NUM_DRAWS)
        for i in indices
    ]
    return np.stack(rows).astype(np.float64) if rows else np.zeros((0, NUM_DRAWS))


# ----------------------------------------------------------------------------- colours


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV (all in [0, 1]) → RGB ``(..., 3)`` in [0, 1]."""
    h6 = (h % 1.0) * 6.0
    i = np.floor(h6).astype(np.int64) % 6
    f = h6 - np.floor(h6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    sectors = ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))
    table = np.stack([np.stack(c, -1) for c in sectors], axis=0)  # (6, ..., 3)
    return np.take_along_axis(table, i[None, ..., None], axis=0)[0].astype(np.float32)


def _family_table(num_families: int) -> dict[str, np.ndarray]:
    """Fixed per-family palette and texture: the same for every seed, split and preset."""
    rng = np.random.default_rng(_FAMILY_SEED)
    hues = (np.arange(num_families) / num_families + rng.uniform(0, 0.03, num_families)) % 1.0
    order = rng.permutation(num_families)  # neighbouring families do not get neighbouring hues
    hues = hues[order]
    colour_a = _hsv_to_rgb(hues, np.full(num_families, 0.7), np.full(num_families, 0.4))
    colour_b = _hsv_to_rgb(
        (hues + rng.uniform(0.04, 0.1, num_families)) % 1.0,
        np.full(num_families, 0.6),
        np.full(num_families, 0.75),
    )
    return {
        "kind": np.arange(num_families) % len(BG_KINDS),
        "angle": rng.uniform(0, np.pi, num_families).astype(np.float32),
        "freq": rng.uniform(2.0, 4.0, num_families).astype(np.float32),
        "colour_a": colour_a,
        "colour_b": colour_b,
    }


# ----------------------------------------------------------------------------- labels, families


def _labels_and_families(
    cfg: SyntheticConfig, split: str, indices: np.ndarray, d: _Draws
) -> tuple[np.ndarray, np.ndarray]:
    k = cfg.num_classes
    labels = (indices % k).astype(np.int64)  # balanced classes
    other = (labels + 1 + d.integers(k - 1)) % k  # uniform over the k-1 other families
    random_family = d.integers(k)
    keep = d.take() < cfg.rho
    if split == "test_foreground_only":
        families = np.full_like(labels, -1)
    elif cfg.variant == "finegrained":
        # Background-free in the sense of the spec: one shared distribution for every class.
        families = other if split == "test_swapped" else random_family
    elif split in ("pretrain", "train", "test_biased"):
        families = np.where(keep, labels, random_family)
    elif split == "test_swapped":
        families = other
    elif split == "train_unbiased":
        families = random_family
    else:  # test_background_only: the family stands for the class
        families = labels.copy()
    return labels, families.astype(np.int64)


# ----------------------------------------------------------------------------- motion


def _bias_offsets(labels: np.ndarray, tau: np.ndarray, cfg: SyntheticConfig, d: _Draws):
    """Centre offsets ``(n, T)`` (pixels, from an origin placed later) and radius factor ``(n, T)``
    per motion class; every parameter is drawn whatever the class, so draws stay aligned."""
    n, size = labels.shape[0], cfg.size
    speed = d.uniform(*cfg.speed)[:, None] * size  # travel over the clip
    ease = d.uniform(0.0, 0.35)[:, None]  # non-uniform speed: a mix of linear and smoothstep
    progress = (1 - ease) * tau + ease * tau * tau * (3 - 2 * tau)
    circle_r = d.uniform(0.15, 0.25)[:, None] * size
    turns = d.uniform(0.6, 1.0)[:, None]
    phase = d.uniform(0.0, 2 * np.pi)[:, None]
    osc_amp = d.uniform(0.15, 0.25)[:, None] * size
    osc_cycles = d.uniform(1.0, 2.0)[:, None]
    grow_lo = d.uniform(0.45, 0.65)[:, None]
    grow_hi = d.uniform(1.15, 1.35)[:, None]
    drift = d.uniform(-0.05, 0.05)[:, None] * size * tau  # slight perpendicular drift

    zeros = np.zeros((n, tau.shape[1]), np.float32)
    ones = np.ones_like(zeros)
    line = speed * progress
    angle = 2 * np.pi * turns * tau
    osc = osc_amp * np.sin(2 * np.pi * osc_cycles * tau + phase)
    scale_up = grow_lo + (grow_hi - grow_lo) * progress
    table = {  # motion -> (dx, dy, radius factor); image y grows downwards
        "right": (line, drift, ones),
        "left": (-line, drift, ones),
        "up": (drift, -line, ones),
        "down": (drift, line, ones),
        "circle_cw": (circle_r * np.cos(phase + angle), circle_r * np.sin(phase + angle), ones),
        "circle_ccw": (circle_r * np.cos(phase - angle), circle_r * np.sin(phase - angle), ones),
        "grow": (drift, zeros + drift * 0.5, scale_up),
        "shrink": (drift, zeros - drift * 0.5, scale_up[:, ::-1]),
        "oscillate_h": (osc, drift, ones),
        "oscillate_v": (drift, osc, ones),
    }
    dx, dy, rf = (np.zeros_like(zeros) for _ in range(3))
    for label, motion in enumerate(MOTIONS):
        rows = labels == label
        if rows.any():
            mx, my, mr = (np.broadcast_to(a, zeros.shape) for a in table[motion])
            dx[rows], dy[rows], rf[rows] = mx[rows], my[rows], mr[rows]
    return dx, dy, rf


def _finegrained_offsets(labels: np.ndarray, tau: np.ndarray, cfg: SyntheticConfig, d: _Draws):
    """Two straight segments; the class is the ordered pair of directions."""
    size = cfg.size
    speed = d.uniform(*cfg.speed)[:, None] * size * 0.7  # travel of each segment
    split_at = d.uniform(0.4, 0.6)[:, None]
    first = np.clip(tau / split_at, 0, 1)
    second = np.clip((tau - split_at) / (1 - split_at), 0, 1)
    first_dir = np.array([_DIRECTIONS[a] for a, _ in FINEGRAINED_MOTIONS], np.float32)[labels]
    second_dir = np.array([_DIRECTIONS[b] for _, b in FINEGRAINED_MOTIONS], np.float32)[labels]
    dx = speed * (first * first_dir[:, :1] + second * second_dir[:, :1])
    dy = speed * (first * first_dir[:, 1:] + second * second_dir[:, 1:])
    return dx.astype(np.float32), dy.astype(np.float32), np.ones_like(dx)


# ----------------------------------------------------------------------------- rendering


def _shape_masks(shape: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-test in object coordinates (unit radius) → bool, same shape as ``u``."""
    out = np.zeros(u.shape, bool)
    tests = {
        "disc": lambda a, b: a * a + b * b <= 1.0,
        "square": lambda a, b: np.maximum(np.abs(a), np.abs(b)) <= 0.85,
        "triangle": lambda a, b: (b <= 0.75) & (np.abs(a) <= (b + 1.0) * 0.6),
        "cross": lambda a, b: ((np.abs(a) <= 0.38) & (np.abs(b) <= 1.0))
        | ((np.abs(b) <= 0.38) & (np.abs(a) <= 1.0)),
        "ring": lambda a, b: (a * a + b * b <= 1.0) & (a * a + b * b >= 0.3),
        "diamond": lambda a, b: np.abs(a) + np.abs(b) <= 1.15,
    }
    for sid, name in enumerate(SHAPES):
        rows = shape == sid
        if rows.any():
            out[rows] = tests[name](u[rows], v[rows])
    return out


def _render_background(cfg, families, pan_x, pan_y, d: _Draws, table) -> np.ndarray:
    """Background ``(n, 3, T, H, W)``; ``pan_*`` ``(n, T)`` is the camera's offset in pixels."""
    n, size, t_len = families.shape[0], cfg.size, cfg.frames
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    x = coords[None, None, None, :] + (pan_x / size)[:, :, None, None]  # (n, T, 1, W)
    y = coords[None, None, :, None] + (pan_y / size)[:, :, None, None]  # (n, T, H, 1)

    fam = np.maximum(families, 0)
    kind = table["kind"][fam]
    angle = (table["angle"][fam] + d.uniform(-0.2, 0.2))[:, None, None, None]
    freq = (table["freq"][fam] * d.uniform(0.8, 1.25))[:, None, None, None]
    phase = d.uniform(0, 1)[:, None, None, None]
    shift_x, shift_y = d.uniform(0, 1)[:, None, None, None], d.uniform(0, 1)[:, None, None, None]
    blob_xy = d.take(8).reshape(n, 4, 2).astype(np.float32)
    noise_dirs = (d.take(3) * 2 * np.pi).astype(np.float32)
    noise_freqs = (2.0 + 3.0 * d.take(3)).astype(np.float32)
    jitter = (d.take(3).astype(np.float32) - 0.5) * 0.06

    along = x * np.cos(angle) + y * np.sin(angle)  # (n, T, H, W)
    mix = np.zeros((n, t_len, size, size), np.float32)
    for kid, name in enumerate(BG_KINDS):
        rows = kind == kid
        if not rows.any():
            continue
        if name == "stripes":
            m = 0.5 + 0.5 * np.sin(2 * np.pi * (freq[rows] * along[rows] + phase[rows]))
        elif name == "checker":
            fx = np.sin(2 * np.pi * freq[rows] * (x[rows] + shift_x[rows]))
            fy = np.sin(2 * np.pi * freq[rows] * (y[rows] + shift_y[rows]))
            m = (fx * fy > 0).astype(np.float32)
        elif name == "blobs":
            sigma2 = (0.12 / freq[rows] * 3) ** 2
            m = np.zeros(mix[rows].shape, np.float32)
            for b in range(4):
                bx = blob_xy[rows, b, 0][:, None, None, None]
                by = blob_xy[rows, b, 1][:, None, None, None]
                m += np.exp(-((x[rows] - bx) ** 2 + (y[rows] - by) ** 2) / (2 * sigma2))
            m = np.clip(m, 0, 1)
        elif name == "gradient":
            m = 0.5 + 0.5 * np.sin(2 * np.pi * (0.6 * along[rows] + phase[rows]))
        else:  # noise: a sum of three plane waves with per-clip random directions
            m = np.zeros(mix[rows].shape, np.float32)
            for w in range(3):
                dw = noise_dirs[rows, w][:, None, None, None]
                fw = (noise_freqs[rows, w][:, None, None, None] * freq[rows]) / 2
                m += np.sin(2 * np.pi * fw * (x[rows] * np.cos(dw) + y[rows] * np.sin(dw)))
            m = 0.5 + m / 6
        mix[rows] = m
    colour_a = np.clip(table["colour_a"][fam] + jitter, 0, 1)  # (n, 3)
    colour_b = np.clip(table["colour_b"][fam] + jitter, 0, 1)
    bg = (
        colour_a[:, :, None, None, None] * (1 - mix[:, None])
        + colour_b[:, :, None, None, None] * mix[:, None]
    )
    flat = families < 0
    bg[flat] = 0.5  # flat grey: test_foreground_only
    return bg.astype(np.float32)


def _render_block(cfg: SyntheticConfig, split: str, indices: np.ndarray, seed: int):
    size, t_len = cfg.size, cfg.frames
    d = _Draws(_clip_uniforms(cfg, split, indices, seed))
    labels, families = _labels_and_families(cfg, split, indices, d)
    n = labels.shape[0]
    tau = np.broadcast_to(np.linspace(0, 1, t_len, dtype=np.float32), (n, t_len))

    # Foreground appearance: independent of the class.
    shape = d.integers(len(SHAPES))
    texture = d.integers(len(FG_TEXTURES))
    radius = d.uniform(*cfg.object_scale)[:, None] * size / 2
    rotation = d.uniform(0, 2 * np.pi)
    colour_1 = _hsv_to_rgb(d.uniform(0, 1), d.uniform(0.55, 1.0), d.uniform(0.65, 1.0))
    colour_2 = _hsv_to_rgb(d.uniform(0, 1), d.uniform(0.3, 1.0), d.uniform(0.3, 0.9))
    stripe_freq = d.uniform(1.0, 2.5)
    noise_cells = d.take(_FG_NOISE_CELLS * _FG_NOISE_CELLS) > 0.5

    if cfg.variant == "bias":
        dx, dy, radius_factor = _bias_offsets(labels, tau, cfg, d)
    else:
        dx, dy, radius_factor = _finegrained_offsets(labels, tau, cfg, d)
    r_t = radius * radius_factor  # (n, T)
    start_x, start_y = d.take(), d.take()
    pan_x, pan_y = _camera_offsets(cfg, split, indices, seed, d)
    # The camera pans: the scene, object included, moves back in the image.
    path_x, path_y = (dx - pan_x, dy - pan_y) if cfg.camera_speed_exact else (dx, dy)
    # Place the origin uniformly where the whole path stays in frame (mostly: 15 % of the
    # radius may leave it, so the border is not a cue).
    slack = 0.15 * r_t.max(1)
    lo_x = (r_t - path_x).max(1) - slack
    hi_x = size - (r_t + path_x).max(1) + slack
    lo_y = (r_t - path_y).max(1) - slack
    hi_y = size - (r_t + path_y).max(1) + slack
    ox = lo_x + (hi_x - lo_x) * start_x
    oy = lo_y + (hi_y - lo_y) * start_y
    ox = np.where(hi_x > lo_x, ox, (lo_x + hi_x) / 2)  # path wider than the frame: centre it
    oy = np.where(hi_y > lo_y, oy, (lo_y + hi_y) / 2)

    cx = (ox[:, None] + dx - pan_x).astype(np.float32)
    cy = (oy[:, None] + dy - pan_y).astype(np.float32)

    pix = np.arange(size, dtype=np.float32) + 0.5
    rel_x = (pix[None, None, None, :] - cx[:, :, None, None]) / r_t[:, :, None, None]
    rel_y = (pix[None, None, :, None] - cy[:, :, None, None]) / r_t[:, :, None, None]
    cos_r, sin_r = np.cos(rotation)[:, None, None, None], np.sin(rotation)[:, None, None, None]
    u = rel_x * cos_r + rel_y * sin_r  # rotate into the object's frame
    v = -rel_x * sin_r + rel_y * cos_r
    masks = _shape_masks(shape, u, v)  # (n, T, H, W)

    # Object texture in object coordinates, so it moves with the object.
    stripes = np.sin(2 * np.pi * stripe_freq[:, None, None, None] * u) > 0
    cell_u = np.clip(((u + 1) * _FG_NOISE_CELLS / 2).astype(np.int64), 0, _FG_NOISE_CELLS - 1)
    cell_v = np.clip(((v + 1) * _FG_NOISE_CELLS / 2).astype(np.int64), 0, _FG_NOISE_CELLS - 1)
    cells = noise_cells.reshape(n, _FG_NOISE_CELLS * _FG_NOISE_CELLS)
    noise = np.take_along_axis(
        cells, (cell_v * _FG_NOISE_CELLS + cell_u).reshape(n, -1), axis=1
    ).reshape(u.shape)
    second = np.where(
        (texture == 1)[:, None, None, None], stripes, (texture == 2)[:, None, None, None] & noise
    )
    fg = np.where(
        second[:, None], colour_2[:, :, None, None, None], colour_1[:, :, None, None, None]
    )

    bg = _render_background(cfg, families, pan_x, pan_y, d, _family_table(cfg.num_classes))
    if cfg.distractor:
        bg = _add_distractor(cfg, bg, families, d)
    if split == "test_background_only":
        video, masks = bg, np.zeros_like(masks)
    else:
        video = np.where(masks[:, None], fg, bg)
    video = video * 255
    if cfg.noise_std > 0:
        video = video + cfg.noise_std * _sensor_noise(cfg, split, indices, seed, video.shape)
    video_u8 = np.clip(np.rint(video), 0, 255).astype(np.uint8)
    return video_u8, labels, families, masks


def _camera_offsets(cfg: SyntheticConfig, split: str, indices: np.ndarray, seed: int,
                    d: _Draws) -> tuple[np.ndarray, np.ndarray]:
    """The camera's offset from its first position, ``(n, T)`` pixels along x and y: a straight
    pan (two draws per clip whatever the mode, so the draws stay aligned) plus the jitter."""
    pan_v = d.uniform(-1, 1), d.uniform(-1, 1)
    if cfg.camera_speed_exact:
        heading = np.pi * (pan_v[0] + 1)  # uniform in [0, 2π)
        velocity = cfg.camera_motion * np.cos(heading), cfg.camera_motion * np.sin(heading)
    else:
        velocity = cfg.camera_motion * pan_v[0], cfg.camera_motion * pan_v[1]
    steps = np.arange(cfg.frames, dtype=np.float32)[None]
    pan_x = velocity[0][:, None] * steps
    pan_y = velocity[1][:, None] * steps
    if cfg.camera_jitter > 0:
        shake = cfg.camera_jitter * _clip_normals(cfg, split, indices, seed, _CAMERA_STREAM,
                                                  (len(indices), 2, cfg.frames))
        pan_x, pan_y = pan_x + shake[:, 0], pan_y + shake[:, 1]
    return pan_x.astype(np.float32), pan_y.astype(np.float32)


def _sensor_noise(cfg: SyntheticConfig, split: str, indices: np.ndarray, seed: int,
                  shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal noise ``shape = (n, C, T, H, W)``, one stream per clip, independent of the
    clip's other draws (so noise can be switched on without moving anything else)."""
    return _clip_normals(cfg, split, indices, seed, _NOISE_STREAM, shape)


def _clip_normals(cfg: SyntheticConfig, split: str, indices: np.ndarray, seed: int, stream: int,
                  shape: tuple[int, ...]) -> np.ndarray:
    """Standard normals ``shape = (n, ...)`` from the clip's own ``stream`` of draws."""
    variant_id = DATASET_VARIANTS.index(cfg.variant)
    rows = [
        np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            [seed, SPLIT_IDS[split], int(i), variant_id, stream]))
        ).standard_normal(shape[1:], dtype=np.float32)
        for i in indices
    ]
    return np.stack(rows) if rows else np.zeros(shape, np.float32)


def _add_distractor(cfg, bg, families, d: _Draws) -> np.ndarray:
    """A faint small disc moving at random (wrapping at the border): unrelated to the class."""
    size, t_len = cfg.size, cfg.frames
    start = d.take(2).astype(np.float32) * size
    velocity = (d.take(2).astype(np.float32) - 0.5) * 0.1 * size  # pixels per frame
    colour = _hsv_to_rgb(d.uniform(0, 1), d.uniform(0.2, 0.6), d.uniform(0.4, 0.9))
    steps = np.arange(t_len, dtype=np.float32)[None]
    px = (start[:, :1] + velocity[:, :1] * steps) % size  # (n, T)
    py = (start[:, 1:] + velocity[:, 1:] * steps) % size
    pix = np.arange(size, dtype=np.float32) + 0.5
    radius = 0.08 * size
    inside = (pix[None, None, None, :] - px[:, :, None, None]) ** 2 + (
        pix[None, None, :, None] - py[:, :, None, None]
    ) ** 2 <= radius**2
    inside &= (families >= 0)[:, None, None, None]
    a = cfg.distractor_alpha
    blend = (1 - a) * bg + a * colour[:, :, None, None, None]
    return np.where(inside[:, None], blend, bg)


def render_clips(
    cfg: SyntheticConfig, split: str, indices, seed: int = 0
) -> SyntheticSplit:
    """Render the clips at ``indices`` of ``split`` (any order, any subset); not cached."""
    check_split(split)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and idx.min() < 0:
        raise ValueError(f"indices must be >= 0, got min {idx.min()}")
    # Bound memory: ~4M pixels of float32 per block, whatever the resolution.
    block = max(1, (1 << 22) // (cfg.frames * cfg.size * cfg.size))
    parts = [_render_block(cfg, split, idx[s : s + block], seed) for s in range(0, idx.size, block)]
    if not parts:
        shape = (0, 3, cfg.frames, cfg.size, cfg.size)
        parts = [(np.zeros(shape, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64),
                  np.zeros((0, cfg.frames, cfg.size, cfg.size), bool))]
    videos, labels, families, masks = (np.concatenate(p) for p in zip(*parts, strict=True))
    return SyntheticSplit(
        videos=torch.from_numpy(videos),
        labels=torch.from_numpy(labels),
        families=torch.from_numpy(families),
        masks=torch.from_numpy(masks),
        split=split,
    )
