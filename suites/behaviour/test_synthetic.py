"""The synthetic motion-bias benchmark: shapes, purity, splits, masks, speed, and the bias."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import torch

from fame_bench.data.synthetic import (
    SPLITS,
    SyntheticClipDataset,
    SyntheticConfig,
    make_split,
    render_clips,
)

CI = SyntheticConfig.preset("ci")
SMALL = SyntheticConfig.preset("ci", n_pretrain=40, n_train=40, n_train_unbiased=40, n_test=30)


@pytest.mark.parametrize("split", SPLITS)
def test_split_layout_and_dtypes(split):
    data = render_clips(SMALL, split, range(12), seed=0)
    assert data.videos.shape == (12, 3, 16, 32, 32) and data.videos.dtype == torch.uint8
    assert data.labels.dtype == torch.int64 and data.families.dtype == torch.int64
    assert data.masks.shape == (12, 16, 32, 32) and data.masks.dtype == torch.bool
    assert data.labels.tolist() == [i % 10 for i in range(12)]
    if split == "test_background_only":
        assert not data.masks.any()
        assert torch.equal(data.families, data.labels)
    elif split == "test_foreground_only":
        assert (data.families == -1).all()
        assert data.masks.any(dim=(2, 3)).all()
    else:
        assert data.masks.any(dim=(2, 3)).all(), "the object is visible in every frame"


def test_clip_is_pure_function_of_seed_split_index():
    a = render_clips(SMALL, "train", [3, 7, 11], seed=5)
    b = render_clips(SMALL, "train", range(12), seed=5)
    assert torch.equal(a.videos, b.videos[[3, 7, 11]])
    assert torch.equal(a.masks, b.masks[[3, 7, 11]])
    other_seed = render_clips(SMALL, "train", [3], seed=6)
    other_split = render_clips(SMALL, "pretrain", [3], seed=5)
    assert not torch.equal(a.videos[:1], other_seed.videos)
    assert not torch.equal(a.videos[:1], other_split.videos)


def test_mask_is_where_the_object_differs_from_background_only_render():
    """The foreground pixels are exactly the ones that differ from the same clip's background
    (the background-only split shares nothing with other splits, so compare via the GT mask:
    outside it, a frame equals the static background, i.e. the first frame where also unmasked)."""
    data = render_clips(replace(SMALL, noise_std=0.0), "train", range(10), seed=1)
    video = data.videos.int()
    both_bg = ~data.masks & ~data.masks[:, :1]  # background in frame t and in frame 0
    static = (video - video[:, :, :1]).abs().amax(1)  # (N, T, H, W)
    assert static[both_bg].max() == 0, "without camera motion or distractor, background is static"
    moved = static[data.masks & ~data.masks[:, :1]]
    assert (moved > 0).float().mean() > 0.9


def test_object_footprint_is_large_enough_for_fame_beta():
    data = render_clips(CI, "train", range(200), seed=0)
    frame_share = data.masks.float().mean().item()
    union_share = data.union_masks.float().mean().item()
    assert 0.02 < frame_share < 0.15
    assert 0.12 < union_share < 0.45, "motion footprint should matter at beta 0.3-0.7"


def test_bias_and_swap_family_rules():
    cfg = SyntheticConfig.preset("ci", n_train=400, n_test=400)
    train = render_clips(cfg, "train", range(400), seed=0)
    rate = (train.families == train.labels).float().mean().item()
    expected = cfg.rho + (1 - cfg.rho) / cfg.num_classes
    assert abs(rate - expected) < 0.05
    swapped = render_clips(cfg, "test_swapped", range(300), seed=0)
    assert not (swapped.families == swapped.labels).any()
    unbiased = render_clips(cfg, "train_unbiased", range(400), seed=0)
    assert (unbiased.families == unbiased.labels).float().mean().item() < 0.2


def test_finegrained_classes_share_backgrounds_and_differ_by_order():
    cfg = SyntheticConfig.preset("ci", variant="finegrained")
    data = render_clips(cfg, "train", range(400), seed=0)
    assert (data.families == data.labels).float().mean().item() < 0.2
    # right_then_up (0) and up_then_right (1) end at the same displacement.
    cx = _mask_centres(data.masks)[..., 0]
    cy = _mask_centres(data.masks)[..., 1]
    for pair in ((0, 1), (2, 3)):
        a, b = (data.labels == pair[0]), (data.labels == pair[1])
        mid = cfg.frames // 2
        # Halfway the first class has moved mostly in x, the second mostly in y.
        assert ((cx[a, mid] - cx[a, 0]).abs() > (cy[a, mid] - cy[a, 0]).abs()).float().mean() > 0.8
        assert ((cy[b, mid] - cy[b, 0]).abs() > (cx[b, mid] - cx[b, 0]).abs()).float().mean() > 0.8


def _mask_centres(masks: torch.Tensor) -> torch.Tensor:
    """Centre of mass of each frame's mask, ``(N, T, 2)`` as (x, y)."""
    m = masks.float()
    size = masks.shape[-1]
    grid = torch.arange(size, dtype=torch.float32)
    total = m.sum((-2, -1)).clamp(min=1)
    return torch.stack([(m.sum(-2) * grid).sum(-1) / total, (m.sum(-1) * grid).sum(-1) / total], -1)


def test_motion_classes_move_as_named():
    data = render_clips(CI, "train", range(200), seed=2)
    centres = _mask_centres(data.masks)
    dx = centres[:, -1, 0] - centres[:, 0, 0]
    dy = centres[:, -1, 1] - centres[:, 0, 1]
    area = data.masks.float().sum((-2, -1))
    growth = area[:, -1] / area[:, 0]
    checks = {0: dx > 3, 1: dx < -3, 2: dy < -3, 3: dy > 3, 6: growth > 1.5, 7: growth < 0.67}
    for label, ok in checks.items():
        rows = data.labels == label
        assert ok[rows].all(), f"class {label} does not move as named"


def test_distractor_and_camera_motion_change_background_only():
    plain = render_clips(SMALL, "train", range(6), seed=0)
    cfg = SyntheticConfig.preset("ci", distractor=True, camera_motion=0.5)
    moving = render_clips(cfg, "train", range(6), seed=0)
    assert torch.equal(plain.labels, moving.labels)
    frame_change = (moving.videos[:, :, 1:].int() - moving.videos[:, :, :-1].int()).abs().amax(1)
    outside = ~moving.masks[:, 1:] & ~moving.masks[:, :-1]
    assert (frame_change[outside] > 0).float().mean() > 0.3, "the background moves with the camera"


def test_invalid_config_and_split_raise():
    with pytest.raises(ValueError, match="variant"):
        SyntheticConfig(variant="nope")
    with pytest.raises(ValueError, match="split"):
        render_clips(SMALL, "validation", [0])
    with pytest.raises(ValueError, match="preset"):
        SyntheticConfig.preset("huge")
    with pytest.raises(ValueError, match="frames"):
        SyntheticConfig(frames=1)


def test_frames_field_is_overridable_for_tempo_work():
    cfg = SyntheticConfig.preset("ci", frames=32)
    assert render_clips(cfg, "pretrain", [0, 1], seed=0).videos.shape == (2, 3, 32, 32, 32)


def test_paper_preset_is_lazy_per_index():
    dataset = SyntheticClipDataset(SyntheticConfig.preset("paper"), "train", seed=0)
    item = dataset[3]
    assert item["video"].shape == (3, 16, 112, 112) and item["mask"].shape == (16, 112, 112)
    assert len(dataset) == 5000 and item["label"] == 3


def test_cache_round_trip_and_is_atomic(tmp_path):
    first = make_split(SMALL, "test_biased", seed=0, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz", "no temporary file left behind"
    again = make_split(SMALL, "test_biased", seed=0, cache_dir=tmp_path)
    assert torch.equal(first.videos, again.videos) and torch.equal(first.masks, again.masks)
    files[0].write_bytes(b"truncated")  # a corrupt entry is re-rendered, not trusted
    healed = make_split(SMALL, "test_biased", seed=0, cache_dir=tmp_path)
    assert torch.equal(first.videos, healed.videos)


@pytest.mark.slow
def test_ci_generation_under_budget(tmp_path):
    """Issue #3: every split of the ci preset in < 30 s on 2 cores (target <= 10 s)."""
    start = time.perf_counter()
    total = sum(len(make_split(CI, s, seed=0, use_cache=False)) for s in SPLITS)
    elapsed = time.perf_counter() - start
    assert total == 2000 + 1000 + 1000 + 4 * 500
    assert elapsed < 30, f"ci generation took {elapsed:.1f} s"


def _background_features(split) -> torch.Tensor:
    """Background-only pixels: the foreground (GT union) left out, down-sampled to 2x2 cells
    (finer grids over-fit the random texture phase with 1000 training clips)."""
    video = split.videos.float().mean(2) / 255  # (N, C, H, W), the static background
    keep = (~split.union_masks).float().unsqueeze(1)
    cell = video.shape[-1] // 2
    pooled = torch.nn.functional.avg_pool2d(video * keep, cell)
    weight = torch.nn.functional.avg_pool2d(keep, cell).clamp(min=1e-3)
    return (pooled / weight).flatten(1)


def _fit_logistic(features, labels, classes, steps=300):
    mean, std = features.mean(0), features.std(0) + 1e-6
    x = (features - mean) / std
    w = torch.zeros(x.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, labels) + 1e-3 * (w * w).sum()
        loss.backward()
        opt.step()
    return lambda f: (((f - mean) / std) @ w + b).argmax(1)


@pytest.mark.slow
def test_background_alone_predicts_the_class_as_rho_says():
    """The bias is what it claims: a linear classifier on background-only pixels scores near rho
    on test_biased and far below chance on test_swapped (the family is never the class)."""
    cfg = CI
    train = render_clips(cfg, "train", range(cfg.n_train), seed=0)
    predict = _fit_logistic(_background_features(train), train.labels, cfg.num_classes)
    scores = {}
    for split in ("test_biased", "test_swapped", "test_background_only"):
        test = render_clips(cfg, split, range(cfg.n_test), seed=0)
        scores[split] = (predict(_background_features(test)) == test.labels).float().mean().item()
    chance = 1 / cfg.num_classes
    expected_biased = cfg.rho + (1 - cfg.rho) * chance
    assert abs(scores["test_biased"] - expected_biased) < 0.06, scores
    assert scores["test_swapped"] < chance / 2, scores
    assert scores["test_background_only"] > 0.9, scores
