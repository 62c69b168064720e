"""Video backbones: torchvision's R(2+1)D-18 / R3D-18 (random init) and a narrow R(2+1)D.

Every backbone takes **raw float clips in [0, 1]**, layout ``(B, 3, T, H, W)``, and normalises
internally with the Kinetics mean/std (buffers), so augmentation (FAME, BE, colour jitter) and
evaluation feed the same thing. ``forward(x) -> (B, D)`` is the globally pooled res5 feature;
``feature_maps(x)`` returns the res3, res4 and res5 maps (VTHCL's hierarchy, ICM).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.video import r2plus1d_18, r3d_18
from torchvision.models.video.resnet import BasicBlock, Conv2Plus1D

# Kinetics-400 statistics, as torchvision's video models and the FAME code use.
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)

# Widths of the narrow R(2+1)D: stem, res2..res5. One BasicBlock per stage and a stem max-pool
# (as in 2D ResNets) keep it near 0.3 M parameters and cheap on 2 CPU cores: measured at
# (B=32, 3, 8, 32, 32), forward+backward ~45 ms versus ~125 ms without the pool.
TINY_WIDTHS = (8, 12, 24, 48, 80)

NAMES = ("tiny_r2plus1d", "r2plus1d_18", "r3d_18")


def _tiny_stem(width_mid: int, width_out: int) -> nn.Sequential:
    """R(2+1)D stem (spatial then 3x1x1 temporal), narrowed, 1x3x3 kernel, then a 1x3x3 max-pool.

    Output stride 4 in space, 1 in time: 32x32 clips reach res2 at 8x8.
    """
    return nn.Sequential(
        nn.Conv3d(3, width_mid, kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1),
                  bias=False),
        nn.BatchNorm3d(width_mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(width_mid, width_out, kernel_size=(3, 1, 1), padding=(1, 0, 0), bias=False),
        nn.BatchNorm3d(width_out),
        nn.ReLU(inplace=True),
        nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
    )


def _stage(inplanes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    """torchvision's ``VideoResNet._make_layer`` for BasicBlock + Conv2Plus1D, any width."""
    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(
            nn.Conv3d(inplanes, planes, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm3d(planes),
        )
    layers = [BasicBlock(inplanes, planes, Conv2Plus1D, stride, downsample)]
    layers += [BasicBlock(planes, planes, Conv2Plus1D) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class VideoBackbone(nn.Module):
    """A video ResNet cut into stem, res2..res5, with internal normalisation.

    Input ``(B, 3, T, H, W)`` float in [0, 1]. ``out_dim`` is the res5 width; ``level_dims``
    maps "res3"/"res4"/"res5" to their channel counts.
    """

    def __init__(self, stem: nn.Module, stages: list[nn.Module], dims: list[int]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1))
        self.register_buffer("std", torch.tensor(KINETICS_STD).view(1, 3, 1, 1, 1))
        self.stem = stem
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.level_dims = {"res3": dims[1], "res4": dims[2], "res5": dims[3]}
        self.out_dim = dims[3]

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"expected clips of shape (B, 3, T, H, W), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected float clips in [0, 1], got dtype {x.dtype}")

    def feature_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"res3", "res4", "res5"}`` maps, each ``(B, C_l, T_l, H_l, W_l)``."""
        self._check(x)
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        x = self.layer1(self.stem(x))
        res3 = self.layer2(x)
        res4 = self.layer3(res3)
        res5 = self.layer4(res4)
        return {"res3": res3, "res4": res4, "res5": res5}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled res5 features, ``(B, out_dim)``."""
        return self.feature_maps(x)["res5"].mean(dim=(2, 3, 4))


def _from_torchvision(net: nn.Module) -> VideoBackbone:
    stages = [net.layer1, net.layer2, net.layer3, net.layer4]
    return VideoBackbone(net.stem, stages, [64, 128, 256, 512])


def build_backbone(name: str, **kw) -> VideoBackbone:
    """Build a randomly initialised backbone by name (never downloads weights).

    ``tiny_r2plus1d`` accepts ``widths`` (stem, res2..res5) and ``blocks`` (per stage).
    """
    if name == "tiny_r2plus1d":
        widths = tuple(kw.pop("widths", TINY_WIDTHS))
        blocks = int(kw.pop("blocks", 1))
        if kw:
            raise ValueError(f"unknown options for tiny_r2plus1d: {sorted(kw)}")
        if len(widths) != 5:
            raise ValueError(f"widths must give stem + res2..res5 (5 numbers), got {widths}")
        stem = _tiny_stem(widths[0], widths[1])
        dims = list(widths[1:])
        stages = [_stage(widths[1], dims[0], blocks, 1)]
        stages += [_stage(dims[i - 1], dims[i], blocks, 2) for i in range(1, 4)]
        return VideoBackbone(stem, stages, dims)
    if name == "r2plus1d_18":
        return _from_torchvision(r2plus1d_18(weights=None, **kw))
    if name == "r3d_18":
        return _from_torchvision(r3d_18(weights=None, **kw))
    raise ValueError(f"unknown backbone {name!r}; expected one of {NAMES}")


def seeded_backbone(name: str, seed: int, **kw) -> VideoBackbone:
    """:func:`build_backbone` with its random init drawn from ``seed``; torch's global RNG state
    (which the layers' initialisers draw from) is forked, so the caller's is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_backbone(name, **kw)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
