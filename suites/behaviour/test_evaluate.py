"""Evaluation protocols: config, multi-clip features, linear probe, retrieval, bias metrics.

Hand-checkable cases only; the synthetic-benchmark and finetune runs are in
``test_evaluate_protocols.py``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from fame_bench.data.sampling import uniform_clip_indices
from fame_bench.evaluate.bias import bias_metrics
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.features import extract_features, gather_clips, multi_clips
from fame_bench.evaluate.linear import linear_probe, top1, train_linear, video_scores
from fame_bench.evaluate.retrieval import retrieval, retrieval_chance
from fame_bench.runtime import resolve_device


class MeanColourNet(nn.Module):
    """(B, 3, T, H, W) → per-channel means and the mean frame difference, D = 4 (no weights)."""

    out_dim = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
        motion = (x[:, :, 1:] - x[:, :, :-1]).abs().mean(dim=(1, 2, 3, 4))
        return torch.cat([x.mean(dim=(2, 3, 4)), motion[:, None]], dim=1)


# ------------------------------------------------------------------------------------- config


def test_presets_exist_and_overrides_apply():
    for name in ("ci", "cpu", "paper"):
        cfg = EvalConfig.preset(name)
        assert cfg.clip_len >= 1 and cfg.num_clips >= 1
    assert EvalConfig.preset("paper").linear_lr == 30.0  # FAME's linear probe (docs/fame.md)
    assert EvalConfig.preset("paper").num_clips == 10
    assert EvalConfig.preset("ci", finetune_steps=0).finetune_steps == 0
    with pytest.raises(ValueError, match="unknown EvalConfig preset"):
        EvalConfig.preset("huge")
    with pytest.raises(ValueError, match="unknown EvalConfig fields"):
        EvalConfig.preset("ci", lr=1.0)
    with pytest.raises(ValueError, match="clip_len"):
        EvalConfig.preset("ci", clip_len=0)
    with pytest.raises(ValueError, match="dropout"):
        EvalConfig.preset("ci", finetune_dropout=1.0)


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda")


# ------------------------------------------------------------------------------- clip gathering


def test_gather_and_multi_clips_cut_the_right_frames():
    n, t = 3, 10
    # frame value = 10 * video + t, so every element says where it came from
    videos = (10 * torch.arange(n)[:, None] + torch.arange(t)[None, :]).to(torch.uint8)
    videos = videos[:, None, :, None, None].expand(n, 3, t, 2, 2).contiguous()
    per_video = torch.tensor([[0, 2], [1, 3], [5, 7]])
    out = gather_clips(videos, per_video)
    assert out.shape == (3, 3, 2, 2, 2)
    assert out[:, 0, :, 0, 0].tolist() == [[0, 2], [11, 13], [25, 27]]
    shared = torch.tensor([[0, 1], [8, 9]])
    clips = multi_clips(videos, shared)
    assert clips.shape == (6, 3, 2, 2, 2)  # video-major: (v0 c0, v0 c1, v1 c0, ...)
    assert clips[:, 0, :, 0, 0].tolist() == [[0, 1], [8, 9], [10, 11], [18, 19], [20, 21],
                                             [28, 29]]


# --------------------------------------------------------------------------------- features


def test_extract_features_matches_the_backbone_on_each_clip():
    g = torch.Generator().manual_seed(0)
    videos = torch.randint(0, 256, (5, 3, 12, 6, 6), generator=g, dtype=torch.uint8)
    net = MeanColourNet()
    net.train()
    feats = extract_features(net, videos, clip_len=4, stride=2, num_clips=2, batch_size=2,
                             device="cpu")
    assert feats.shape == (5, 2, 4) and feats.dtype == torch.float32
    assert net.training  # the caller's mode is restored
    idx = uniform_clip_indices(12, 4, 2, 2)
    for v in range(5):
        for k in range(2):
            clip = videos[v:v + 1, :, idx[k]].float() / 255
            torch.testing.assert_close(feats[v, k], net(clip)[0])
    # float [0, 1] input gives the same features as uint8
    again = extract_features(net, videos.float() / 255, 4, 2, 2, 64, "cpu")
    torch.testing.assert_close(feats, again)


def test_extract_features_uses_eval_mode_batchnorm():
    net = nn.Sequential(nn.Conv3d(3, 4, 1), nn.BatchNorm3d(4), nn.Flatten(2))
    bn = net[1]
    with torch.no_grad():
        bn.running_mean.fill_(100.0)  # eval-mode BN subtracts this, train-mode would not

    class Pool(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x).mean(-1)

    videos = torch.zeros(2, 3, 4, 4, 4, dtype=torch.uint8)
    feats = extract_features(Pool(), videos, 2, 1, 1, 8, "cpu")
    assert (feats < -1.0).all()
    assert bn.running_mean.eq(100.0).all()  # statistics untouched


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.zeros(2, 3, 4, 4), "N, C, T, H, W"),
        (torch.full((1, 3, 4, 4, 4), 2.0), r"\[0, 1\]"),
        (torch.full((1, 3, 4, 4, 4), float("nan")), "NaN"),
        (torch.zeros(1, 3, 4, 4, 4, dtype=torch.int32), "uint8 or float"),
    ],
)
def test_extract_features_rejects_bad_videos(bad, message):
    with pytest.raises(ValueError, match=message):
        extract_features(MeanColourNet(), bad, 2, 1, 1, 4, "cpu")


# ------------------------------------------------------------------------------- linear probe


def _clusters(n_per_class: int, num_classes: int, dim: int, spread: float, seed: int):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_classes, dim, generator=torch.Generator().manual_seed(99)) * 5
    labels = torch.arange(num_classes).repeat(n_per_class)
    feats = centres[labels] + spread * torch.randn(len(labels), dim, generator=g)
    return feats, labels


def test_linear_probe_separates_linearly_separable_features():
    cfg = EvalConfig.preset("ci")
    train = _clusters(30, 5, 12, 0.5, seed=1)
    test = _clusters(20, 5, 12, 0.5, seed=2)
    acc = linear_probe(*train, {"test": test, "train": train}, cfg, seed=0)
    assert acc == {"test": 1.0, "train": 1.0}


def test_linear_probe_is_at_chance_on_random_labels():
    cfg = EvalConfig.preset("ci")
    g = torch.Generator().manual_seed(5)
    train = (torch.randn(400, 16, generator=g), torch.randint(0, 4, (400,), generator=g))
    test = (torch.randn(800, 16, generator=g), torch.randint(0, 4, (800,), generator=g))
    acc = linear_probe(*train, {"test": test}, cfg, seed=0)["test"]
    # chance 0.25; std of the estimate ~0.015 at 800 samples
    assert abs(acc - 0.25) < 0.07


def test_linear_probe_is_deterministic_per_seed():
    cfg = EvalConfig.preset("ci", linear_epochs=5, linear_batch_size=16)
    g = torch.Generator().manual_seed(7)
    feats = torch.randn(60, 2, 8, generator=g)
    labels = torch.randint(0, 3, (60,), generator=g)
    a = train_linear(feats, labels, cfg, 3, torch.Generator().manual_seed(1))
    b = train_linear(feats, labels, cfg, 3, torch.Generator().manual_seed(1))
    c = train_linear(feats, labels, cfg, 3, torch.Generator().manual_seed(2))
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert not torch.equal(a.weight, c.weight)
    tests = {"t": (feats, labels)}
    assert linear_probe(feats, labels, tests, cfg, 4) == linear_probe(feats, labels, tests, cfg, 4)


def test_scores_are_softmax_averaged_over_clips():
    # clip 0: confident class 0; clip 1: mildly class 1 → the average picks class 0, while a
    # majority of clips would tie and the arg-max of summed logits would pick class 0 as well
    logits = torch.tensor([[[4.0, 0.0], [0.0, 1.0]],
                           [[0.0, 3.0], [0.5, 0.0]]])
    scores = video_scores(logits)
    p0 = torch.tensor([math.exp(4) / (math.exp(4) + 1), 1 / (1 + math.e)]).mean()
    torch.testing.assert_close(scores[0, 0], p0)
    torch.testing.assert_close(scores.sum(1), torch.ones(2))
    assert scores.argmax(1).tolist() == [0, 1]
    assert top1(scores, torch.tensor([0, 0])) == 0.5


def test_linear_probe_averages_the_probe_scores_of_each_video():
    cfg = EvalConfig.preset("ci", linear_epochs=20)
    train = _clusters(20, 3, 6, 2.0, seed=3)
    g = torch.Generator().manual_seed(4)
    test_feats = torch.randn(40, 3, 6, generator=g) * 4  # three clips per video
    test_labels = torch.randint(0, 3, (40,), generator=g)
    acc = linear_probe(*train, {"t": (test_feats, test_labels)}, cfg, seed=0, num_classes=3)
    probe = train_linear(*train, cfg, 3, torch.Generator().manual_seed(0))
    by_hand = probe.logits(test_feats).softmax(-1).mean(1).argmax(-1)
    assert acc["t"] == pytest.approx((by_hand == test_labels).float().mean().item())
    # a video given as K identical clips scores like the single clip
    one = linear_probe(*train, {"t": (test_feats[:, 0], test_labels)}, cfg, 0, 3)
    same = linear_probe(*train, {"t": (test_feats[:, :1].expand(-1, 4, -1), test_labels)},
                        cfg, 0, 3)
    assert one == same


def test_linear_probe_rejects_bad_input():
    cfg = EvalConfig.preset("ci")
    feats, labels = torch.randn(10, 4), torch.arange(10) % 2
    with pytest.raises(ValueError, match="NaN"):
        linear_probe(torch.full((10, 4), float("nan")), labels, {}, cfg)
    with pytest.raises(ValueError, match="to match"):
        linear_probe(feats, labels[:5], {}, cfg)
    with pytest.raises(ValueError, match="integer"):
        linear_probe(feats, labels.float(), {}, cfg)
    with pytest.raises(ValueError, match="D=3"):
        linear_probe(feats, labels, {"t": (torch.randn(4, 3), labels[:4])}, cfg)


# ---------------------------------------------------------------------------------- retrieval


def test_retrieval_hand_example():
    gallery = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    gallery_labels = torch.tensor([0, 1, 1, 2])
    # q0 (label 1): neighbours g0 (0), g2 (1) → first hit at rank 2
    # q1 (label 2): g1, g2, g3 (2), g0 → first hit at rank 3
    # q2 (label 2): g3 first → hit at rank 1
    queries = torch.tensor([[1.0, 0.1], [-0.1, 1.0], [-1.0, -0.2]])
    query_labels = torch.tensor([1, 2, 2])
    r = retrieval(gallery, gallery_labels, queries, query_labels, ks=(1, 2, 3, 10))
    assert r == pytest.approx({"R@1": 1 / 3, "R@2": 2 / 3, "R@3": 1.0, "R@10": 1.0})
    # cosine: scaling a feature changes nothing; clips are averaged before the cosine
    scaled = retrieval(gallery * 7, gallery_labels, queries * 0.1, query_labels, ks=(1, 2, 3))
    assert scaled == pytest.approx({"R@1": 1 / 3, "R@2": 2 / 3, "R@3": 1.0})
    two_clips = torch.stack([queries + torch.tensor([0.5, -0.5]),
                             queries - torch.tensor([0.5, -0.5])], dim=1)
    assert retrieval(gallery, gallery_labels, two_clips, query_labels, ks=(1, 2)) == \
        pytest.approx({"R@1": 1 / 3, "R@2": 2 / 3})
    # chunking the queries changes nothing
    assert retrieval(gallery, gallery_labels, queries, query_labels, ks=(1, 2), chunk=1) == \
        pytest.approx({"R@1": 1 / 3, "R@2": 2 / 3})


def test_retrieval_is_monotone_and_rejects_bad_input():
    g = torch.Generator().manual_seed(0)
    train, test = torch.randn(100, 8, generator=g), torch.randn(30, 8, generator=g)
    r = retrieval(train, torch.arange(100) % 5, test, torch.arange(30) % 5)
    values = [r[f"R@{k}"] for k in (1, 5, 10, 20, 50)]
    assert values == sorted(values) and 0 <= values[0] and values[-1] <= 1
    with pytest.raises(ValueError, match="differ in D"):
        retrieval(train, torch.arange(100) % 5, test[:, :4], torch.arange(30) % 5)
    with pytest.raises(ValueError, match="ks"):
        retrieval(train, torch.arange(100) % 5, test, torch.arange(30) % 5, ks=(0,))


def test_retrieval_of_random_features_sits_at_its_chance_level():
    g = torch.Generator().manual_seed(1)
    train, test = torch.randn(2000, 16, generator=g), torch.randn(1000, 16, generator=g)
    r = retrieval(train, torch.arange(2000) % 10, test, torch.arange(1000) % 10, ks=(1, 5, 10))
    chance = retrieval_chance(10, ks=(1, 5, 10))
    assert chance == pytest.approx({"R@1": 0.1, "R@5": 1 - 0.9**5, "R@10": 1 - 0.9**10})
    for key, value in r.items():
        assert abs(value - chance[key]) < 0.06


# ------------------------------------------------------------------------------ bias metrics


def test_bias_metrics_arithmetic():
    acc = {"test_biased": 0.8, "test_swapped": 0.3, "test_background_only": 0.6}
    m = bias_metrics(acc, 0.45, num_classes=10)
    assert m == pytest.approx({"test_biased": 0.8, "test_swapped": 0.3,
                               "test_background_only": 0.6, "motion_probe_swapped": 0.45,
                               "bias_gap": 0.5, "background_reliance": 0.5})
    assert "motion_probe_swapped" not in bias_metrics(acc, None, 4)
    assert bias_metrics(acc, None, 4)["background_reliance"] == pytest.approx(0.35)
    with pytest.raises(ValueError, match="test_swapped"):
        bias_metrics({"test_biased": 1.0, "test_background_only": 1.0}, None, 10)


def test_eval_amp_dtype_is_validated_and_leaves_cpu_features_and_hashes_alone():
    from fame_bench.evaluate.config import EvalConfig
    from fame_bench.evaluate.features import extract_features
    from fame_bench.models.backbones import seeded_backbone
    from fame_bench.train.experiment import ExperimentSpec, plan_experiment

    with pytest.raises(ValueError, match="amp_dtype"):
        EvalConfig.preset("ci", amp_dtype="fp8")
    backbone = seeded_backbone("tiny_r2plus1d", 0)
    videos = torch.randint(0, 255, (3, 3, 8, 16, 16), dtype=torch.uint8)
    plain = extract_features(backbone, videos, 4, 1, 2, 2, "cpu", amp_dtype="none")
    asked = extract_features(backbone, videos, 4, 1, 2, 2, "cpu", amp_dtype="bf16")
    assert torch.equal(plain, asked)  # no autocast on the CPU
    spec = ExperimentSpec("moco", "moco")
    default = plan_experiment(spec, "ci", 0, "unused").key
    fp16 = plan_experiment(ExperimentSpec("moco", "moco", eval_overrides=(("amp_dtype", "fp16"),)),
                           "ci", 0, "unused").key
    assert default != fp16  # a non-default amp_dtype is a different run
