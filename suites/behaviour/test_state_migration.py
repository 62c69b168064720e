"""Checkpoints written before MoCo's queue and VTHCL's memory became ``Queue`` / ``MemoryBank``
modules (buffers ``queue``, ``queue_ptr``, ``bank_<tempo>_<level>``, ``queue_<tempo>_<level>``)
still load, each value landing in its new place."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fame_bench.methods.moco import MoCo
from fame_bench.methods.registry import build_method
from fame_bench.methods.vthcl import TEMPOS, VTHCL
from fame_bench.models.backbones import build_backbone
from fame_bench.train.checkpoint import save_checkpoint
from fame_bench.train.config import PretrainConfig
from fame_bench.train.trained import load_method


def tiny() -> nn.Module:
    return build_backbone("tiny_r2plus1d", widths=(4, 4, 4, 4, 8))


def _old_moco_state(model: MoCo, ptr: int, seed: int) -> dict:
    """``model``'s state in the old layout, with a queue and pointer unlike a fresh model's."""
    state = {k: v.clone() for k, v in model.state_dict().items()
             if not k.startswith("queue.")}
    g = torch.Generator().manual_seed(seed)
    state["queue"] = torch.randn(model.queue.entries.shape, generator=g)
    state["queue_ptr"] = torch.tensor(ptr)
    return state


def test_moco_loads_a_checkpoint_with_the_old_queue_buffers():
    old = _old_moco_state(MoCo(tiny(), queue_size=8, dim=4), ptr=4, seed=1)
    assert "queue" in old and "queue.entries" not in old
    fresh = MoCo(tiny(), queue_size=8, dim=4)
    fresh.load_state_dict(old)  # strict: no key missing, none unexpected
    assert torch.equal(fresh.queue.entries, old["queue"]) and int(fresh.queue.ptr) == 4
    new = fresh.state_dict()
    assert all(torch.equal(new[k], v) for k, v in old.items() if not k.startswith("queue"))
    assert "queue" not in new and "queue_ptr" not in new


@pytest.mark.parametrize("negatives", ["bank", "queue"])
def test_vthcl_loads_a_checkpoint_with_the_old_memory_buffers(negatives):
    kw = dict(levels=("res4", "res5"), dim=8, num_instances=6, num_negatives=4,
              negatives=negatives)
    source = VTHCL(tiny, **kw)
    old = {k: v.clone() for k, v in source.state_dict().items()
           if not k.startswith("memory_store.")}
    g = torch.Generator().manual_seed(2)
    for t in TEMPOS:
        for lv in ("res4", "res5"):
            old[f"{negatives}_{t}_{lv}"] = torch.randn(source.memory(t, lv).shape, generator=g)
    if negatives == "queue":
        old["queue_ptr"] = torch.tensor(2)
    fresh = VTHCL(tiny, **kw)
    fresh.load_state_dict(old)
    for t in TEMPOS:
        for lv in ("res4", "res5"):
            assert torch.equal(fresh.memory(t, lv), old[f"{negatives}_{t}_{lv}"])
            if negatives == "queue":
                assert int(fresh.memory_store[t][lv].ptr) == 2


def test_a_whole_old_layout_checkpoint_loads_through_load_method(tmp_path):
    cfg = PretrainConfig.preset("ci", method="moco", out_dir=str(tmp_path), queue_size=16,
                                dim=8)
    model = build_method(cfg)
    old = _old_moco_state(model, ptr=8, seed=3)
    save_checkpoint(tmp_path, {"method": old, "optimizer": {}, "scaler": {}, "step": 1,
                               "config": cfg.to_dict(), "rng": {"torch": torch.get_rng_state()}})
    loaded = load_method(tmp_path)
    assert torch.equal(loaded.queue.entries, old["queue"]) and int(loaded.queue.ptr) == 8
    new = loaded.state_dict()
    assert all(torch.equal(new[k], v) for k, v in old.items() if not k.startswith("queue"))
