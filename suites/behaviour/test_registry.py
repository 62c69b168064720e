"""The method registry: every method builds from a config and trains on the batch it declares."""

from __future__ import annotations

import pytest
import torch

from fame_bench.methods.base import BATCH_KINDS
from fame_bench.methods.registry import METHODS, build_method, method_class
from fame_bench.train import config
from fame_bench.train.batches import InMemoryVideos, clip_span, make_batch


def test_config_offers_exactly_the_registered_methods():
    assert config.METHODS == tuple(METHODS)
    with pytest.raises(ValueError, match="method must be one of"):
        method_class("simclr")


@pytest.mark.parametrize("name", list(METHODS))
def test_each_method_builds_from_a_config_and_takes_its_declared_batch(name):
    assert METHODS[name].batch_kind in BATCH_KINDS
    cfg = config.PretrainConfig.preset("ci", method=name, batch_size=4, queue_size=16, dim=8,
                                       vthcl_num_negatives=4, clip_len=4, progress=False)
    g = torch.Generator().manual_seed(0)
    videos = torch.randint(0, 256, (6, 3, clip_span(cfg), 16, 16), dtype=torch.uint8,
                           generator=g)
    data = InMemoryVideos(videos, torch.arange(6) % 3)
    method = build_method(cfg, num_instances=len(data), num_classes=3, generator=g)
    assert isinstance(method, METHODS[name])
    method.check_global_batch(cfg.batch_size)
    batch = make_batch(data, cfg, step=0, rank=0, world_size=1, device=torch.device("cpu"))
    assert set(method.batch_keys) <= set(batch)
    loss, _ = method(batch, torch.Generator().manual_seed(1))
    assert torch.isfinite(loss)


def test_augment_is_refused_for_a_method_that_takes_none():
    with pytest.raises(ValueError, match="augment='fame' is defined for method 'moco' only"):
        config.PretrainConfig.preset("ci", method="vthcl", augment="fame")


def test_compile_backbone_compiles_every_encoder_in_place(monkeypatch):
    import torch

    from fame_bench.methods.registry import build_method
    from fame_bench.train.config import PretrainConfig
    from fame_bench.train.experiment import ExperimentSpec, plan_experiment

    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compiled.append(self))
    for method, encoders in (("moco", 1), ("vthcl", 2)):
        compiled.clear()
        cfg = PretrainConfig.preset("ci", method=method, compile_backbone=True)
        model = build_method(cfg, num_instances=8)
        assert len(compiled) >= encoders
        plain = build_method(PretrainConfig.preset("ci", method=method), num_instances=8)
        assert model.state_dict().keys() == plain.state_dict().keys()
    compiled.clear()
    build_method(PretrainConfig.preset("ci", method="moco"), num_instances=8)
    assert compiled == []
    spec = ExperimentSpec("moco", "moco")
    with_compile = ExperimentSpec("moco", "moco", pretrain_overrides=(("compile_backbone", True),))
    assert plan_experiment(spec, "ci", 0, "x").key != plan_experiment(with_compile, "ci", 0,
                                                                      "x").key


def test_the_registry_and_the_shared_names_list_the_same_methods():
    from fame_bench import names
    from fame_bench.methods import registry

    assert tuple(registry.METHODS) == names.METHODS
