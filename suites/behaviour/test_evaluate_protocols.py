"""The evaluation protocols end to end: finetune, the synthetic bias evaluation (on a toy
benchmark whose answers are known), real-dataset evaluation on stub and fake-layout data, and
one run on the real synthetic ``ci`` benchmark with the tiny R(2+1)D."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from fame_bench.evaluate.bias import EVAL_SPLITS, evaluate_synthetic
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.datasets import evaluate_dataset
from fame_bench.evaluate.finetune import finetune

LINEAR_KEYS = {"test_biased", "test_swapped", "test_background_only", "motion_probe_swapped",
               "bias_gap", "background_reliance"}
RETRIEVAL_KEYS = {"R@1", "R@5", "R@10", "R@20", "R@50"}

# toy benchmark: 4 classes = directions of a white square, 4 background families = tints
DIRECTIONS = torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1]])
TINTS = torch.tensor([[0.5, 0.1, 0.1], [0.1, 0.5, 0.1], [0.1, 0.1, 0.5], [0.4, 0.4, 0.1]])


def toy_split(n: int, kind: str, seed: int, frames: int = 8, size: int = 20):
    """uint8 videos (n, 3, T, S, S) and labels; ``kind`` biased | unbiased | swapped | bg_only."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    if kind == "biased":  # family = class with probability 0.9
        random_family = torch.randint(0, 4, (n,), generator=g)
        families = torch.where(torch.rand(n, generator=g) < 0.9, labels, random_family)
    elif kind == "unbiased":
        families = torch.randint(0, 4, (n,), generator=g)
    elif kind == "swapped":
        families = (labels + torch.randint(1, 4, (n,), generator=g)) % 4
    else:
        families = labels.clone()
    noise = 0.1 * torch.rand(n, 3, 1, size, size, generator=g)
    videos = (TINTS[families][:, :, None, None, None] + noise).expand(n, 3, frames, size, size)
    videos = videos.clone()
    if kind != "bg_only":
        start = torch.randint(frames - 1, size - frames - 2, (n, 2), generator=g)
        for i in range(n):
            for t in range(frames):
                x, y = (start[i] + DIRECTIONS[labels[i]] * t).tolist()
                videos[i, :, t, y:y + 3, x:x + 3] = 1.0
    return (videos * 255).round().to(torch.uint8), labels


def toy_splits(seed: int = 0, n_train: int = 160, n_test: int = 80) -> dict:
    kinds = {"train": ("biased", n_train), "train_unbiased": ("unbiased", n_train),
             "test_biased": ("biased", n_test), "test_swapped": ("swapped", n_test),
             "test_background_only": ("bg_only", n_test)}
    return {name: toy_split(n, kind, seed + i) for i, (name, (kind, n)) in enumerate(kinds.items())}


class HandcraftedEncoder(nn.Module):
    """Background colour (mean of the dark pixels) and/or the square's displacement (centroid of
    the bright pixels, last frame − first), D = 5. ``scale`` is a trainable no-op weight."""

    out_dim = 5

    def __init__(self, colour: bool = True, motion: bool = True):
        super().__init__()
        self.colour, self.motion = colour, motion
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, h, w = x.shape
        bright = (x.min(dim=1).values > 0.9).float()  # (B, T, H, W)
        dark = 1.0 - bright[:, None]
        tint = (x * dark).sum(dim=(2, 3, 4)) / dark.sum(dim=(2, 3, 4)).clamp_min(1.0)
        mass = bright.sum(dim=(2, 3)).clamp_min(1.0)
        cx = (bright * torch.arange(w, device=x.device)).sum(dim=(2, 3)) / mass
        cy = (bright * torch.arange(h, device=x.device)[:, None]).sum(dim=(2, 3)) / mass
        shift = torch.stack([cx[:, -1] - cx[:, 0], cy[:, -1] - cy[:, 0]], dim=1)
        return self.scale * torch.cat([tint * self.colour, 0.1 * shift * self.motion], dim=1)


class TinyNet(nn.Module):
    """Conv3d → BN → ReLU → global pool: a trainable stand-in for a backbone."""

    def __init__(self, dim: int = 16, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.conv = nn.Conv3d(3, dim, kernel_size=3, padding=1, bias=False)
            self.bn = nn.BatchNorm3d(dim)
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x - 0.5))).mean(dim=(2, 3, 4))


def cfg(**kw) -> EvalConfig:
    base = dict(clip_len=4, stride=2, num_clips=1, batch_size=64, linear_epochs=60,
                finetune_steps=0, retrieval_ks=(1, 5, 10, 20, 50))
    return EvalConfig.preset("ci", **{**base, **kw})


class Toy:
    num_classes = 4


# ----------------------------------------------------------------------- synthetic evaluation


def test_evaluate_synthetic_reads_motion_and_background_as_built():
    splits = toy_splits()
    motion_only = evaluate_synthetic(HandcraftedEncoder(colour=False), Toy(), cfg(), 0, splits)
    assert set(motion_only) == {"linear", "retrieval"}  # finetune off
    assert set(motion_only["linear"]) == LINEAR_KEYS
    assert set(motion_only["retrieval"]) == RETRIEVAL_KEYS
    lin = motion_only["linear"]
    # motion decides the class whatever the background: no bias, background-only at chance
    assert lin["test_biased"] >= 0.95 and lin["test_swapped"] >= 0.95
    assert lin["motion_probe_swapped"] >= 0.95
    assert abs(lin["bias_gap"]) <= 0.05
    assert lin["background_reliance"] <= 0.1
    assert motion_only["retrieval"]["R@1"] >= 0.95

    colour_only = evaluate_synthetic(HandcraftedEncoder(motion=False), Toy(), cfg(), 0, splits)
    lin = colour_only["linear"]
    # the biased probe reads the background: right on biased, wrong on swapped, sure on bg-only
    assert lin["test_biased"] >= 0.8 and lin["test_swapped"] <= 0.1
    assert lin["test_background_only"] >= 0.95
    assert lin["bias_gap"] == pytest.approx(lin["test_biased"] - lin["test_swapped"])
    assert lin["background_reliance"] == pytest.approx(lin["test_background_only"] - 0.25)
    # a swapped query's background matches random-class gallery videos: about chance
    assert colour_only["retrieval"]["R@1"] <= 0.5


def test_retrieval_splits_come_from_the_eval_config():
    splits = toy_splits()
    colour = HandcraftedEncoder(motion=False)
    # biased queries against the biased train set: the background shortcut finds the class
    shortcut = evaluate_synthetic(colour, Toy(), cfg(retrieval_query_split="test_biased",
                                                     retrieval_gallery_split="train"), 0, splits)
    default = evaluate_synthetic(colour, Toy(), cfg(), 0, splits)
    assert shortcut["retrieval"]["R@1"] >= 0.8 > 0.5 >= default["retrieval"]["R@1"]
    assert shortcut["linear"] == default["linear"]  # only retrieval reads these fields
    with pytest.raises(ValueError, match="retrieval split"):
        evaluate_synthetic(colour, Toy(), cfg(retrieval_gallery_split="test_missing"), 0, splits)


def test_evaluate_synthetic_is_deterministic_and_finetune_switches_on():
    splits = toy_splits(n_train=64, n_test=32)
    c = cfg(finetune_steps=4, finetune_batch_size=8, linear_epochs=10)
    a = evaluate_synthetic(TinyNet(), Toy(), c, 3, splits)
    b = evaluate_synthetic(TinyNet(), Toy(), c, 3, splits)
    assert a == b
    assert set(a) == {"linear", "finetune", "retrieval"}
    assert set(a["finetune"]) == LINEAR_KEYS
    no_motion_tune = evaluate_synthetic(TinyNet(), Toy(), cfg(finetune_steps=4,
                                                              finetune_batch_size=8,
                                                              finetune_motion_probe=False,
                                                              linear_epochs=10), 3, splits)
    assert set(no_motion_tune["finetune"]) == LINEAR_KEYS - {"motion_probe_swapped"}
    for value in [*a["linear"].values(), *a["retrieval"].values()]:
        assert -1.0 <= value <= 1.0


def test_evaluate_synthetic_needs_every_split():
    splits = toy_splits(n_train=8, n_test=8)
    del splits["train_unbiased"]
    with pytest.raises(ValueError, match="train_unbiased"):
        evaluate_synthetic(TinyNet(), Toy(), cfg(), 0, splits)


# ---------------------------------------------------------------------------------- finetune


def test_finetune_learns_and_leaves_the_backbone_untouched():
    train = toy_split(96, "unbiased", 1)
    test = toy_split(48, "unbiased", 2)
    # class = background family here, a static cue a one-layer net learns in a few dozen steps
    train = (train[0], torch.tensor(_families(train[0])))
    test = (test[0], torch.tensor(_families(test[0])))
    net = TinyNet()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    c = cfg(finetune_steps=60, finetune_batch_size=16, finetune_lr=0.1, finetune_dropout=0.2,
            finetune_color_jitter=0.0)
    acc = finetune(net, *train, {"test": test}, c, seed=0, num_classes=4)
    assert acc["test"] >= 0.9
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert acc == finetune(net, *train, {"test": test}, c, seed=0, num_classes=4)


def _families(videos: torch.Tensor) -> list[int]:
    mean = videos[:, :, 0].float().mean(dim=(2, 3)) / 255  # (N, 3)
    return torch.cdist(mean, TINTS + 0.05).argmin(dim=1).tolist()


def test_finetune_rejects_bad_input():
    videos, labels = toy_split(8, "unbiased", 0)
    with pytest.raises(ValueError, match="finetune_steps"):
        finetune(TinyNet(), videos, labels, {}, cfg(finetune_steps=0))
    with pytest.raises(ValueError, match="to match"):
        finetune(TinyNet(), videos, labels[:4], {}, cfg(finetune_steps=2))


# ------------------------------------------------------------------------------ real datasets


def _stub_dataset(n: int, seed: int, clips: int = 2) -> list:
    """Eval-mode items {"clips": uint8 (K, C, T, H, W), "label"}, with one undecodable video."""
    videos, labels = toy_split(n, "unbiased", seed)
    families = _families(videos)
    items = [{"clips": videos[i:i + 1].expand(clips, -1, -1, -1, -1)[:, :, :4], "label": f,
              "index": i} for i, f in enumerate(families)]
    items.insert(1, None)
    return items


def test_evaluate_dataset_on_a_stub_dataset():
    train, test = _stub_dataset(48, 0), _stub_dataset(24, 1)
    c = cfg(finetune_steps=5, finetune_batch_size=8)
    out = evaluate_dataset(HandcraftedEncoder(motion=False), train, test, c, num_classes=4,
                           seed=0)
    assert set(out) == {"linear", "finetune", "retrieval"}
    assert out["linear"]["top1"] == 1.0  # the colour encoder sees the label's background
    assert out["retrieval"]["R@1"] == 1.0
    assert 0.0 <= out["finetune"]["top1"] <= 1.0
    again = evaluate_dataset(HandcraftedEncoder(motion=False), train, test, c, 4, 0)
    assert again == out


def test_evaluate_dataset_counts_scored_and_skipped_videos():
    from fame_bench.evaluate.datasets import VideoCounts

    train, test = _stub_dataset(12, 0), _stub_dataset(6, 1)  # one None item each
    counts = VideoCounts()
    evaluate_dataset(HandcraftedEncoder(motion=False), train, test, cfg(finetune_steps=0), 4, 0,
                     counts=counts)
    assert counts.scored == {"train": 12, "test": 6}
    assert counts.skipped == {"train": 1, "test": 1}


def test_evaluate_named_dataset_reads_a_fake_ucf101(tmp_path):
    fake = pytest.importorskip("fame_bench.data.fake_layouts")
    from fame_bench.evaluate.datasets import evaluate_named_dataset

    root = fake.make_ucf101(tmp_path / "ucf")
    c = cfg(clip_len=4, stride=1, num_clips=2, finetune_steps=2, finetune_batch_size=2)
    out = evaluate_named_dataset(TinyNet(), "ucf101", str(root), c, seed=0, size=32)
    assert set(out) == {"linear", "finetune", "retrieval"}
    assert 0.0 <= out["linear"]["top1"] <= 1.0


def test_max_videos_caps_each_real_split_with_evenly_spaced_videos(tmp_path):
    """EvalConfig.max_videos on a real dataset: each split list keeps that many videos, evenly
    spaced over the list (so both classes stay), and the counts say so."""
    fake = pytest.importorskip("fame_bench.data.fake_layouts")
    from fame_bench.data.video import build_dataset
    from fame_bench.evaluate.datasets import (
        VideoCounts,
        capped,
        evaluate_named_dataset,
        evenly_spaced,
    )

    assert evenly_spaced(4, 2) == [1, 3] and evenly_spaced(3, 0) == [0, 1, 2]
    assert evenly_spaced(5, 5) == list(range(5)) and evenly_spaced(101, 3) == [16, 50, 84]
    root = fake.make_ucf101(tmp_path / "ucf", groups=(1, 2, 8, 9))  # 4 videos per split
    kept = capped(build_dataset("ucf101", root, "test", mode="eval", size=32), 2).records
    assert [r.path.name for r in kept] == ["v_ApplyEyeMakeup_g02_c01.avi",
                                           "v_HandstandPushups_g02_c01.avi"]
    c = cfg(clip_len=4, stride=1, num_clips=1, finetune_steps=0)
    counts, capped_counts = VideoCounts(), VideoCounts()
    evaluate_named_dataset(TinyNet(), "ucf101", str(root), c, seed=0, size=32, counts=counts)
    evaluate_named_dataset(TinyNet(), "ucf101", str(root), cfg(clip_len=4, stride=1,
                           num_clips=1, finetune_steps=0, max_videos=2), seed=0, size=32,
                           counts=capped_counts)
    assert counts.scored == {"train": 4, "test": 4}
    assert capped_counts.scored == {"train": 2, "test": 2}
    assert capped_counts.skipped == {"train": 0, "test": 0}


# ----------------------------------------------------- the real benchmark and backbone (slow)


@pytest.mark.slow
def test_ci_preset_on_the_synthetic_benchmark_random_tiny_r2plus1d():
    synthetic = pytest.importorskip("fame_bench.data.synthetic")
    backbones = pytest.importorskip("fame_bench.models.backbones")
    data_cfg = synthetic.SyntheticConfig.preset("ci")
    for split in EVAL_SPLITS:  # render (or read the cache) outside the timed part
        synthetic.make_split(data_cfg, split, 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone = backbones.build_backbone("tiny_r2plus1d").eval()
    eval_cfg = EvalConfig.preset("ci")
    start_cpu, start = time.process_time(), time.perf_counter()
    out = evaluate_synthetic(backbone, data_cfg, eval_cfg, seed=0)
    cpu_s, wall_s = time.process_time() - start_cpu, time.perf_counter() - start
    print(f"ci evaluate_synthetic: wall {wall_s:.1f} s, process CPU {cpu_s:.1f} s, "
          f"{eval_cfg.threads} thread(s); {out}")
    assert set(out["linear"]) == set(out["finetune"]) == LINEAR_KEYS
    assert set(out["retrieval"]) == RETRIEVAL_KEYS
    # docs/synthetic_benchmark.md's lesson: a biased-trained probe reads the background even from a
    # random-init encoder, so biased ≫ swapped; the motion probe is near chance (0.1)
    lin = out["linear"]
    assert lin["test_biased"] - lin["test_swapped"] >= 0.3
    assert lin["background_reliance"] >= 0.3
    assert lin["motion_probe_swapped"] <= 0.3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_evaluation_agrees_with_cpu():
    splits = toy_splits(n_train=80, n_test=40)
    on_cpu = evaluate_synthetic(HandcraftedEncoder(), Toy(), cfg(device="cpu"), 0, splits)
    on_gpu = evaluate_synthetic(HandcraftedEncoder(), Toy(), cfg(device="cuda"), 0, splits)
    for section in ("linear", "retrieval"):
        for key, value in on_cpu[section].items():
            assert on_gpu[section][key] == pytest.approx(value, abs=0.05)
    tuned = evaluate_synthetic(TinyNet(), Toy(), cfg(device="cuda", finetune_steps=5,
                                                     finetune_batch_size=8), 0, splits)
    assert set(tuned["finetune"]) == LINEAR_KEYS
