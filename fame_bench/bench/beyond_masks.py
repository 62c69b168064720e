"""Mask measurements beyond the papers (``reports/beyond.md``): FAME's mask under a camera pan,
with a motion-compensated seed, and with a per-clip β across object sizes; and what the
motion-compensated seed costs.

Every figure is measured here on the synthetic benchmark's ground truth (``docs/fame.md``,
"Beyond the paper"); the conditions change only the named ``SyntheticConfig`` fields of the
preset, so they inherit whatever the preset is calibrated to.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace

import numpy as np
import torch

from fame_bench.augment import foreground_mask, native, seed_region
from fame_bench.augment.fame import accumulate_frames
from fame_bench.augment.motion import PairAligner, grey
from fame_bench.bench.mask_quality import iou_and_recall, oracle_iou, variant_masks
from fame_bench.bench.timing import interleaved_medians
from fame_bench.data.synthetic import SyntheticConfig, make_split
from fame_bench.runtime import cpu_threads

#: Pan speeds of the camera-motion study, pixels per frame, each with a small random shake.
PAN_SPEEDS = (0.0, 0.5, 1.0, 2.0, 4.0)
CAMERA_JITTER = 0.25  # std of the per-frame camera shake, pixels
#: Masks compared under a pan: (label, variant, beta). Gauss, Seed and Grid at β = 0.5 (the
#: paper's Table 4), FAME at the paper's three β, and the motion-compensated seed and FAME.
PAN_MASKS = (
    ("Gauss", "gauss", 0.5), ("Grid", "grid", 0.5), ("Seed", "seed", 0.5),
    ("Seed-MC", "seed_mc", 0.5),
    ("FAME β=0.3", "fame", 0.3), ("FAME β=0.5", "fame", 0.5), ("FAME β=0.7", "fame", 0.7),
    ("FAME-MC β=0.3", "fame_mc", 0.3), ("FAME-MC β=0.5", "fame_mc", 0.5),
    ("FAME-MC β=0.7", "fame_mc", 0.7),
)
#: β rules compared across object sizes, on FAME's mask.
SIZE_MASKS = (("FAME β=0.3", "fame", 0.3), ("FAME β=0.5", "fame", 0.5),
              ("FAME β=0.7", "fame", 0.7), ("FAME β=auto", "fame", "auto"))
ORACLE_BETAS = (0.3, 0.5, 0.7)
SIZE_THIRDS = ("small", "medium", "large")
#: What the cost comparison times (label, variant, beta), as the op runs on the CPU (natively
#: where the kernels can be built, ``augment.native``).
COST_CASES = (("FAME", "fame", 0.5), ("FAME-MC", "fame_mc", 0.5), ("Seed", "seed", 0.5),
              ("Seed-MC", "seed_mc", 0.5), ("FAME β=auto", "fame", "auto"))
#: Timed with the torch ops only (``native.torch_ops``), beside the above.
TORCH_OPS = " (torch ops)"
TORCH_OPS_COST_CASES = (("FAME" + TORCH_OPS, "fame", 0.5), ("FAME-MC" + TORCH_OPS, "fame_mc", 0.5))
#: The opt-in approximation ``mc_downsample`` k of FAME-MC (1: exact) measured for cost and
#: mask IoU at these pan speeds: rows (label, variant, beta, k).
MC_DOWNSAMPLES = (1, 2, 4)
DOWNSAMPLE_SPEEDS = (0.0, 1.0, 4.0)


def downsample_label(k: int) -> str:
    return f"FAME-MC β=0.5 k={k}"


DOWNSAMPLE_MASKS = tuple((downsample_label(k), "fame_mc", 0.5, k) for k in MC_DOWNSAMPLES)
DOWNSAMPLE_COST_CASES = (("FAME", "fame", 0.5, 1), *DOWNSAMPLE_MASKS)


def oracle_label(beta: float) -> str:
    return f"oracle β={beta}"


def pan_fields(speed: float) -> tuple[tuple[str, object], ...]:
    """The ``SyntheticConfig`` fields of a pan of exactly ``speed`` pixels per frame (random
    direction) with the study's shake; also an experiment's ``data_overrides``."""
    return (("camera_motion", float(speed)), ("camera_speed_exact", True),
            ("camera_jitter", CAMERA_JITTER))


def pan_configs(base: SyntheticConfig, speeds=PAN_SPEEDS) -> dict[float, SyntheticConfig]:
    return {float(s): replace(base, **dict(pan_fields(s))) for s in speeds}


def size_configs(base: SyntheticConfig) -> dict[str, SyntheticConfig]:
    """The preset with its object-size range cut in thirds (small, medium, large); the same
    draws, so clip ``i`` differs between thirds only by its size."""
    low, high = base.object_scale
    edges = [low + (high - low) * k / 3 for k in range(4)]
    return {name: replace(base, object_scale=(edges[k], edges[k + 1]))
            for k, name in enumerate(SIZE_THIRDS)}


def measure_masks(configs: dict, rows, seeds, split: str = "test_biased", clips: int = 0,
                  oracle_betas=ORACLE_BETAS) -> dict:
    """Per condition (a key of ``configs``), mask row and seed: the per-clip IoU against the
    ground-truth union mask, and the fraction of the frame each mask keeps. A row is
    ``(label, variant, beta)``, or ``(label, variant, beta, mc_downsample)``.

    Returns ``{"iou": {cond: {label: {seed: (N,) array}}}, "kept": {...same...},
    "truth_share": {cond: {seed: float}}}``; ``oracle β=b`` rows keep the top-β of the ground
    truth itself. ``clips``: the first clips of the split only (0: all).
    """
    out: dict = {"iou": {}, "kept": {}, "truth_share": {}}
    for condition, cfg in configs.items():
        for seed in seeds:
            data = make_split(cfg, split, seed=seed)
            videos = data.videos[:clips] if clips else data.videos
            truth = data.union_masks[: videos.shape[0]]
            pixels = truth.shape[-1] * truth.shape[-2]
            out["truth_share"].setdefault(condition, {})[seed] = float(truth.float().mean())
            for beta in oracle_betas:
                iou = oracle_iou(truth, beta)[0]
                _put(out, condition, oracle_label(beta), seed, iou,
                     np.full(iou.shape, math.floor(beta * pixels) / pixels))
            for label, variant, beta, *downsample in rows:
                masks = variant_masks(videos, beta, variant, mc_downsample=_k(downsample))
                _put(out, condition, label, seed, iou_and_recall(masks, truth)[0],
                     masks.float().mean((-2, -1)).numpy())
    return out


def seed_mass_outside(configs: dict, seeds, split: str = "test_biased", clips: int = 0,
                      chunk: int = 256) -> dict:
    """Per condition, ``"S"`` / ``"S-MC"`` and seed: the share of the seed region's mass that
    lies outside the ground-truth union mask, per clip (how much of "what moves" is background:
    the paper's argument for why a moving camera breaks the seed)."""
    out: dict = {}
    for condition, cfg in configs.items():
        for seed in seeds:
            data = make_split(cfg, split, seed=seed)
            videos = data.videos[:clips] if clips else data.videos
            outside = ~data.union_masks[: videos.shape[0]]
            for label, compensate in (("S", False), ("S-MC", True)):
                seeds_map = torch.cat([seed_region(videos[s : s + chunk], compensate)
                                       for s in range(0, videos.shape[0], chunk)]).double()
                share = (seeds_map * outside).sum((-2, -1)) / seeds_map.sum((-2, -1)).clamp(
                    min=1e-12)
                out.setdefault(condition, {}).setdefault(label, {})[seed] = share.numpy()
    return out


def _put(out: dict, condition, label: str, seed: int, iou: np.ndarray, kept: np.ndarray):
    out["iou"].setdefault(condition, {}).setdefault(label, {})[seed] = iou
    out["kept"].setdefault(condition, {}).setdefault(label, {})[seed] = kept


def _k(downsample: list) -> int:
    """The optional fourth field of a mask row: ``mc_downsample`` (default 1, exact)."""
    return downsample[0] if downsample else 1


def measure_cost(size: int, batch: int = 8, frames: int = 16, repeats: int = 15,
                 seed: int = 0, cases=COST_CASES, torch_ops_cases=()) -> dict[str, float]:
    """Median ms of ``foreground_mask`` per row of ``cases`` (``COST_CASES``; rows as
    ``measure_masks``'s) and of ``torch_ops_cases`` with the torch ops only
    (``native.torch_ops``), on random float32 clips ``(batch, 3, frames, size, size)``, one CPU
    thread, timed in turn in one run (so the ratios hold on a loaded machine)."""
    generator = torch.Generator().manual_seed(seed)
    clips = torch.rand(batch, 3, frames, size, size, generator=generator)

    def call(variant, beta, downsample, torch_only=False):
        def run():
            with native.torch_ops() if torch_only else contextlib.nullcontext():
                return foreground_mask(clips, beta, variant=variant,
                                       mc_downsample=_k(downsample))
        return run

    with cpu_threads(1):
        calls = {label: call(variant, beta, downsample)
                 for label, variant, beta, *downsample in cases}
        calls.update({label: call(variant, beta, downsample, torch_only=True)
                      for label, variant, beta, *downsample in torch_ops_cases})
        return interleaved_medians(calls, repeats)


#: The rows of ``measure_cost_floor``.
FLOOR_FAME, FLOOR_MC, FLOOR_STATISTICS, FLOOR_ESTIMATE = (
    "FAME", "FAME-MC", "FAME's frame statistics", "whole-pixel shift estimate")
#: Frame pairs per chunk tried for the whole-pixel estimate; its cheapest is the floor's.
#: Chunks matter: all 15 pairs of B = 8 clips at once took twice as long at 112² as chunks of 3
#: (measured), page faults and cache misses on the larger temporaries.
FLOOR_CHUNKS = (1, 3, 7, 15)


def whole_pixel_shifts(clips: torch.Tensor, chunk: int = 0) -> torch.Tensor:
    """The compensated seed's whole-pixel shifts ``(B, T - 1, 2)`` of float32 clips
    ``(B, 3, T, H, W)`` with the torch ops: the op's own estimate (``PairAligner.whole_shifts``:
    transforms and peak search, on block sums with the coarse Lucas-Kanade step), without the
    full-size Lucas-Kanade step, the alignment or the change maps; ``chunk`` frame pairs at a
    time (0: all at once), each frame transformed once."""
    pairs = clips.shape[2] - 1
    chunk = chunk or pairs
    aligner = PairAligner()
    return torch.cat([aligner.whole_shifts(clips[:, :, start:min(start + chunk, pairs) + 1])
                      for start in range(0, pairs, chunk)], dim=1)


def measure_cost_floor(size: int, batch: int = 8, frames: int = 16, repeats: int = 15,
                       seed: int = 0) -> dict[str, float]:
    """Median ms, interleaved in one run on the clips of ``measure_cost``: FAME's and FAME-MC's
    ``foreground_mask`` (β = 0.5), FAME's frame statistics (``accumulate_frames``: the part of
    FAME that FAME-MC replaces) and the whole-pixel estimate as the op computes it (a part of
    what replaces it): natively where the kernels apply (``native.whole_shifts`` of the grey
    frames, made outside the timing), else ``whole_pixel_shifts`` at the cheapest of
    ``FLOOR_CHUNKS``. FAME-MC does everything FAME does outside its frame statistics, and the
    whole-pixel estimate, so ``(FAME - statistics + estimate) / FAME`` bounds FAME-MC / FAME
    from below, on one thread."""
    generator = torch.Generator().manual_seed(seed)
    clips = torch.rand(batch, 3, frames, size, size, generator=generator)

    def estimate(chunk):
        return lambda: whole_pixel_shifts(clips, chunk)

    if native.applies(clips):
        greys = grey(clips).contiguous()
        estimates = {"native": lambda: native.whole_shifts(greys)}
    else:
        estimates = {chunk: estimate(chunk) for chunk in FLOOR_CHUNKS}
    with cpu_threads(1):
        times = interleaved_medians({
            FLOOR_FAME: lambda: foreground_mask(clips, 0.5, variant="fame"),
            FLOOR_MC: lambda: foreground_mask(clips, 0.5, variant="fame_mc"),
            FLOOR_STATISTICS: lambda: accumulate_frames(clips),
            **estimates}, repeats)
    return {FLOOR_FAME: times[FLOOR_FAME], FLOOR_MC: times[FLOOR_MC],
            FLOOR_STATISTICS: times[FLOOR_STATISTICS],
            FLOOR_ESTIMATE: min(times[key] for key in estimates)}
