"""Backbones: shapes, internal normalisation, parameter budget, bad input."""

from __future__ import annotations

import pytest
import torch

from fame_bench.models.backbones import build_backbone, count_parameters
from fame_bench.models.heads import MLPHead


def test_tiny_backbone_shapes_and_budget():
    net = build_backbone("tiny_r2plus1d").eval()
    assert 0.2e6 < count_parameters(net) < 0.5e6
    x = torch.rand(2, 3, 8, 32, 32)
    maps = net.feature_maps(x)
    assert set(maps) == {"res3", "res4", "res5"}
    for level, fmap in maps.items():
        assert fmap.shape[:2] == (2, net.level_dims[level])
    assert net(x).shape == (2, net.out_dim)
    assert torch.allclose(net(x), maps["res5"].mean(dim=(2, 3, 4)))


def test_backbone_normalises_internally():
    net = build_backbone("tiny_r2plus1d").eval()
    mean_clip = net.mean.expand(1, 3, 4, 16, 16).clone()
    stem_in = (mean_clip - net.mean) / net.std
    assert torch.allclose(stem_in, torch.zeros_like(stem_in))


@pytest.mark.parametrize("name", ["r2plus1d_18", "r3d_18"])
def test_torchvision_backbones(name):
    net = build_backbone(name).eval()
    assert net.out_dim == 512 and net.level_dims == {"res3": 128, "res4": 256, "res5": 512}
    with torch.no_grad():
        assert net(torch.rand(1, 3, 4, 32, 32)).shape == (1, 512)


def test_bad_input():
    net = build_backbone("tiny_r2plus1d")
    with pytest.raises(ValueError, match="B, 3, T, H, W"):
        net(torch.rand(2, 8, 32, 32))
    with pytest.raises(ValueError, match="float"):
        net(torch.zeros(1, 3, 4, 16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("resnet50")


def test_mlp_head_unit_vectors():
    out = MLPHead(16, 8)(torch.randn(5, 16))
    assert out.shape == (5, 8) and torch.allclose(out.norm(dim=1), torch.ones(5), atol=1e-5)
