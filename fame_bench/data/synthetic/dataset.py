"""Lazy per-clip access to a synthetic split, as a ``torch`` dataset: nothing held in memory."""

from __future__ import annotations

import torch

from fame_bench.data.synthetic.config import SyntheticConfig, check_split
from fame_bench.data.synthetic.render import render_clips


class SyntheticClipDataset(torch.utils.data.Dataset):
    """Lazy, per-index access (for the ``paper`` preset, too big to hold in memory): item ``i``
    is ``{"video": uint8 (C, T, H, W), "mask": bool (T, H, W), "label", "family", "index"}``."""

    def __init__(self, cfg: SyntheticConfig, split: str, seed: int = 0) -> None:
        check_split(split)
        self.cfg, self.split, self.seed = cfg, split, seed

    def __len__(self) -> int:
        return self.cfg.split_size(self.split)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        one = render_clips(self.cfg, self.split, [index], self.seed)
        return {
            "video": one.videos[0], "mask": one.masks[0], "label": int(one.labels[0]),
            "family": int(one.families[0]), "index": index,
        }
