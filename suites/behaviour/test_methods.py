"""Losses against hand-computed cases, the MoCo queue, momentum update, SplitBatchNorm."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fame_bench.methods.base import info_nce, momentum_update
from fame_bench.methods.moco import MoCo
from fame_bench.methods.vthcl import VTHCL, hierarchical_loss, instance_correspondence_map
from fame_bench.models.backbones import build_backbone
from fame_bench.models.heads import SplitBatchNorm3d, convert_split_bn


def tiny() -> nn.Module:
    """A fresh tiny backbone (the methods take a backbone, VTHCL a factory of them)."""
    return build_backbone("tiny_r2plus1d", widths=(4, 4, 4, 4, 8))


def test_info_nce_hand_case():
    # q = (1, 0); k+ = (0.6, 0.8); queue = [(0, 1), (-1, 0)]; T = 0.5.
    # logits = [0.6, 0, -1] / 0.5 = [1.2, 0, -2]; loss = -1.2 + log(e^1.2 + 1 + e^-2)
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[0.6, 0.8]])
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    expected = -1.2 + math.log(math.exp(1.2) + 1.0 + math.exp(-2.0))
    assert info_nce(q, k, queue, 0.5).item() == pytest.approx(expected, rel=1e-6)
    # per-query negatives (B, K, D) give the same number when they equal the queue
    assert info_nce(q, k, queue[None], 0.5).item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_rejects_bad_shapes():
    with pytest.raises(ValueError, match="differ"):
        info_nce(torch.ones(2, 3), torch.ones(2, 4), torch.ones(5, 3), 0.1)
    with pytest.raises(ValueError, match="negatives"):
        info_nce(torch.ones(2, 3), torch.ones(2, 3), torch.ones(3), 0.1)


def test_hierarchical_loss_hand_case():
    # One level, one query per tempo: slow q=(1,0), pos=(1,0), neg=(0,1) at T=1:
    # L = -1 + log(e + 1). Fast q=(0,1), pos=(0,1), neg=(-1,0): L = -1 + log(e + 1) too.
    one = math.log(math.e + 1.0) - 1.0
    queries = {"slow": {"res5": torch.tensor([[1.0, 0.0]])},
               "fast": {"res5": torch.tensor([[0.0, 1.0]])}}
    positives = {"slow": {"res5": torch.tensor([[1.0, 0.0]])},
                 "fast": {"res5": torch.tensor([[0.0, 1.0]])}}
    negatives = {"slow": {"res5": torch.tensor([[0.0, 1.0]])},
                 "fast": {"res5": torch.tensor([[-1.0, 0.0]])}}
    total, per_level = hierarchical_loss(queries, positives, negatives, 1.0)
    assert per_level["res5"].item() == pytest.approx(2 * one, rel=1e-6)
    # two levels with weights λ: L = Σ λ_n L_n
    for d in (queries, positives, negatives):
        for t in d:
            d[t]["res3"] = d[t]["res5"].clone()
    total, _ = hierarchical_loss(queries, positives, negatives, 1.0, {"res3": 0.5})
    assert total.item() == pytest.approx(1.5 * 2 * one, rel=1e-6)


def test_momentum_update():
    a, b = nn.Linear(2, 1), nn.Linear(2, 1)
    with torch.no_grad():
        a.weight.fill_(1.0)
        b.weight.fill_(3.0)
    momentum_update(a, b, 0.9)
    assert torch.allclose(a.weight, torch.full_like(a.weight, 0.9 * 1.0 + 0.1 * 3.0))


def test_queue_enqueue_dequeue_and_divisibility():
    moco = MoCo(tiny(), queue_size=8, dim=4)
    keys = F.normalize(torch.arange(16.0).view(4, 4) + 1, dim=1)
    moco.queue.push(keys)
    assert int(moco.queue.ptr) == 4 and torch.equal(moco.queue.entries[:4], keys)
    moco.queue.push(keys.flip(0))
    assert int(moco.queue.ptr) == 0 and torch.equal(moco.queue.entries[4:], keys.flip(0))
    moco.queue.push(keys * 0 + 1)  # wraps around: the oldest entries go first
    queue = moco.queue.entries
    assert torch.equal(queue[:4], torch.ones(4, 4)) and torch.equal(queue[4:], keys.flip(0))
    with pytest.raises(ValueError, match="divisible"):
        moco.queue.push(keys[:3])
    with pytest.raises(ValueError, match="global batch 3"):
        moco.check_global_batch(3)
    moco.check_global_batch(2)  # 2 x 2 views = 4 keys per step divide K = 8


def test_split_batchnorm_uses_group_statistics():
    bn = SplitBatchNorm3d(1, num_splits=2)
    # groups interleave as in the MoCo demo's reshape: samples {0, 2} and {1, 3}
    low, high = torch.tensor([0.0, 1.0]), torch.tensor([10.0, 11.0])
    x = torch.stack([low, high, low + 2, high + 2]).view(4, 1, 1, 1, 2)
    out = bn(x)
    # each group normalised by its own statistics: the groups become identical
    assert torch.allclose(out[0::2], out[1::2], atol=1e-4)
    plain = nn.BatchNorm3d(1)
    assert not torch.allclose(plain(x)[0::2], plain(x)[1::2], atol=1e-2)
    with pytest.raises(ValueError, match="bn_splits"):
        bn(torch.ones(3, 1, 1, 1, 2))
    net = convert_split_bn(nn.Sequential(nn.BatchNorm3d(3)), 2)
    assert isinstance(net[0], SplitBatchNorm3d)


def test_moco_step_shapes_loss_and_queue():
    g = torch.Generator().manual_seed(0)
    moco = MoCo(tiny(), queue_size=16, dim=8, generator=g)
    views = torch.rand(4, 2, 3, 4, 16, 16, generator=g)
    loss, _ = moco({"views": views}, g)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert int(moco.queue.ptr) == 8  # 4 clips x 2 views enqueued
    loss.backward()
    assert moco.encoder_q.head.net[0].weight.grad is not None
    assert moco.encoder_k.head.net[0].weight.grad is None
    with pytest.raises(ValueError, match="views"):
        moco({"views": views[:, 0]}, g)


def test_vthcl_bank_update_and_icm():
    g = torch.Generator().manual_seed(0)
    model = VTHCL(tiny, num_instances=6, num_negatives=4, dim=8, generator=g)
    slow, fast = torch.rand(3, 3, 4, 16, 16, generator=g), torch.rand(3, 3, 8, 16, 16, generator=g)
    index = torch.tensor([0, 2, 4])
    before = model.memory("slow", "res5").clone()
    loss, stats = model({"slow": slow, "fast": fast, "index": index}, g)
    assert torch.isfinite(loss) and set(stats) == {"loss_res3", "loss_res4", "loss_res5"}
    after = model.memory("slow", "res5")
    assert torch.equal(after[[1, 3, 5]], before[[1, 3, 5]])
    assert not torch.allclose(after[[0, 2, 4]], before[[0, 2, 4]])
    assert torch.allclose(after.norm(dim=1), torch.ones(6), atol=1e-5)
    icm = instance_correspondence_map(model, slow, fast)
    assert icm.shape == (3, 16, 16) and icm.abs().max() <= 1.0 + 1e-5
    with pytest.raises(ValueError, match="index"):
        model({"slow": slow, "fast": fast}, g)


class _Marker(nn.Module):
    """A clip augmentation that records its inputs and returns them plus a constant."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, clips, generator=None):
        self.seen.append(clips)
        return clips + 10.0


def _spied_moco(monkeypatch, augment_on, enqueue="each_direction"):
    from fame_bench.data.view_augment import ViewAugment
    from fame_bench.methods import moco as moco_module

    g = torch.Generator().manual_seed(0)
    model = MoCo(tiny(), queue_size=16, dim=8, generator=g, augment=_Marker(),
                 augment_on=augment_on, enqueue=enqueue,
                 view_augment=ViewAugment(jitter_p=0, grayscale_p=0, blur_p=0))
    keys_in, negatives = [], []
    real_keys, real_nce = model._keys, moco_module.info_nce

    def keys(clips, generator):
        keys_in.append(clips)
        return real_keys(clips, generator)

    def nce(q, k, queue, temperature):
        negatives.append((queue.clone(), k.detach().clone()))
        return real_nce(q, k, queue, temperature)

    monkeypatch.setattr(model, "_keys", keys)
    monkeypatch.setattr(moco_module, "info_nce", nce)
    views = torch.rand(4, 2, 3, 4, 16, 16, generator=g)
    model({"views": views}, g)
    return model, views, keys_in, negatives


@pytest.mark.parametrize("augment_on, augmented, key_clips", [
    # the code: the first clip is merged once, and is the key of the second direction
    ("first", [0], [(1, False), (0, True)]),
    # merged clips only ever as queries: the keys are raw
    ("queries", [0, 1], [(1, False), (0, False)]),
    # both clips merged once each, used in both directions
    ("both", [0, 1], [(1, True), (0, True)]),
])
def test_moco_augment_on_decides_where_merged_clips_go(monkeypatch, augment_on, augmented,
                                                        key_clips):
    model, views, keys_in, _ = _spied_moco(monkeypatch, augment_on)
    assert [torch.equal(seen, views[:, i]) for seen, i in
            zip(model.augment.seen, augmented, strict=True)] == [True] * len(augmented)
    for got, (clip, merged) in zip(keys_in, key_clips, strict=True):
        assert torch.equal(got, views[:, clip] + (10.0 if merged else 0.0))


@pytest.mark.parametrize("enqueue", ["each_direction", "after_both"])
def test_moco_enqueue_order(monkeypatch, enqueue):
    model, _, _, seen = _spied_moco(monkeypatch, "first", enqueue)
    (queue_1, keys_1), (queue_2, _) = seen
    if enqueue == "each_direction":
        # the code: the first direction's keys are in the queue the second direction reads
        assert torch.equal(queue_2[:4], keys_1) and torch.equal(queue_2[4:], queue_1[4:])
    else:
        assert torch.equal(queue_2, queue_1)
    assert int(model.queue.ptr) == 8  # both directions' keys enqueued either way


def test_moco_refuses_unknown_modes():
    with pytest.raises(ValueError, match="augment_on"):
        MoCo(tiny(), augment_on="keys")
    with pytest.raises(ValueError, match="enqueue"):
        MoCo(tiny(), enqueue="never")


def test_memory_bank_negatives_leave_out_the_positive_hand_case():
    # Bank (the other tempo's entries) [(1, 0), (0, 1), (-1, 0)]; the query of instance 0 is
    # q = (1, 0), its positive is its own entry bank[0] = (1, 0); T = 1. Its negatives are the
    # two other entries: L = -1 + log(e^1 + e^0 + e^-1). Counting bank[0] again as a negative
    # would give -1 + log(2e + 1 + e^-1), never below log 2.
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    q, own = torch.tensor([[1.0, 0.0]]), torch.tensor([0])
    expected = -1.0 + math.log(math.e + 1.0 + math.exp(-1.0))
    got = info_nce(q, bank[own], bank, 1.0, exclude=own)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert info_nce(q, bank[own], bank, 1.0).item() == pytest.approx(
        -1.0 + math.log(2 * math.e + 1.0 + math.exp(-1.0)), rel=1e-6)
    # the floor: a query on its positive, far from every other entry, has a loss near 0
    queries = {t: {"res5": q} for t in ("slow", "fast")}
    positives = {t: {"res5": bank[own]} for t in ("slow", "fast")}
    negatives = {t: {"res5": bank[[0, 2]]} for t in ("slow", "fast")}
    total, _ = hierarchical_loss(queries, positives, negatives, 0.1, exclude=own)
    assert total.item() < 1e-6
    with pytest.raises(ValueError, match="exclude"):
        info_nce(q, bank[own], bank[None], 1.0, exclude=own)


def test_vthcl_bank_negatives_never_hold_the_own_entry():
    g = torch.Generator().manual_seed(0)
    model = VTHCL(tiny, num_instances=6, num_negatives=4, dim=8, generator=g)
    bank = model.memory("fast", "res5")
    index = torch.tensor([0, 3, 5])
    drawn = model.bank_negatives(bank, index, g)
    for _ in range(50):
        drawn = torch.cat([drawn, model.bank_negatives(bank, index, g)], dim=1)
    rows = (drawn[:, :, None, :] == bank[None, None]).all(dim=-1).float().argmax(dim=-1)
    for b, own in enumerate(index.tolist()):
        assert own not in rows[b].tolist()
        assert set(rows[b].tolist()) == set(range(6)) - {own}  # uniform over the others
    # a bank no larger than K + 1: the whole bank, the own row left out by the loss
    small = VTHCL(tiny, num_instances=5, num_negatives=4, dim=8, generator=g)
    assert small.bank_negatives(small.memory("fast", "res5"), index[:1], g).dim() == 2
