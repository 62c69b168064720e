"""VTHCL: visual tempo consistency with hierarchical contrastive learning (arXiv 2006.15489).

Slow clip ``(B, C, T, H, W)`` and fast clip ``(B, C, αT, H, W)`` (or ``T`` frames, shorter span)
of the same instances go through two encoders of the same architecture, not weight-shared. Each
level n ∈ {res3, res4, res5} is pooled globally and projected by its own head ``φ_n`` to 128-d
unit vectors. Negatives come from a memory bank per level and per tempo (one entry per training
video, updated ``bank[i] ← normalise(0.5·bank[i] + 0.5·v_i)``) with ``K`` entries drawn uniformly
per positive among the entries of the other videos, or from a MoCo-style queue per level
(option); ``docs/vthcl.md``. Loss per level: slow query vs the
fast bank and fast query vs the slow bank (CMC-style), InfoNCE at T = 0.07; ``L = Σ_n λ_n L_n``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fame_bench.data.view_augment import ViewAugment
from fame_bench.methods.base import BackboneFactory, Method, all_gather_concat, info_nce
from fame_bench.methods.memory import MemoryBank, Queue
from fame_bench.models.heads import MLPHead

TEMPOS = ("slow", "fast")


def hierarchical_loss(queries: dict[str, dict[str, torch.Tensor]],
                      positives: dict[str, dict[str, torch.Tensor]],
                      negatives: dict[str, dict[str, torch.Tensor]],
                      temperature: float, weights: dict[str, float] | None = None,
                      exclude: torch.Tensor | None = None) -> tuple:
    """``L = Σ_n λ_n (L_n^{slow→fast} + L_n^{fast→slow})``.

    ``queries[tempo][level]`` is ``(B, D)``; ``positives[tempo][level]`` and
    ``negatives[tempo][level]`` are the *other* tempo's bank entries for the query of ``tempo``:
    ``(B, D)`` and ``(B, K, D)`` or ``(K, D)``. ``exclude`` ``(B,)``: with ``(K, D)`` negatives
    (the whole bank), each query's own row, left out of the negatives. Returns
    ``(total, {level: L_n})``.
    """
    per_level = {}
    for level in queries["slow"]:
        per_level[level] = sum(
            info_nce(queries[t][level], positives[t][level], negatives[t][level], temperature,
                     exclude if negatives[t][level].dim() == 2 else None)
            for t in TEMPOS
        )
    weights = weights or {}
    total = sum(weights.get(level, 1.0) * loss for level, loss in per_level.items())
    return total, per_level


class TempoEncoder(nn.Module):
    """A backbone and one MLP head ``φ_n`` per level: clips → ``{level: (B, dim)}`` unit vectors."""

    def __init__(self, backbone: nn.Module, levels: tuple[str, ...], dim: int):
        super().__init__()
        self.backbone = backbone
        self.levels = tuple(levels)
        self.heads = nn.ModuleDict(
            {lv: MLPHead(backbone.level_dims[lv], dim) for lv in self.levels}
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        maps = self.backbone.feature_maps(x)
        return {lv: self.heads[lv](maps[lv].mean(dim=(2, 3, 4))) for lv in self.levels}


class VTHCL(Method):
    """``forward({"slow", "fast", "index"}, generator) -> (loss, stats)``.

    ``negatives="bank"``: memory bank of ``num_instances`` entries per level and tempo, ``K``
    uniform draws per positive among the *other* entries (all other entries when
    ``K >= num_instances - 1``): the positive's own entry is never a negative, which would put
    it in the denominator twice and floor the loss at log 2 (``docs/vthcl.md``).
    ``negatives="queue"``: the positive is the other tempo's current embedding (no gradient)
    and negatives come from a queue of size ``K`` per level and tempo.
    """

    batch_keys = ("slow", "fast")
    batch_kind = "tempo"

    def __init__(self, backbone_factory: BackboneFactory, levels=("res3", "res4", "res5"),
                 dim: int = 128, num_instances: int = 0, num_negatives: int = 16384,
                 temperature: float = 0.07, bank_momentum: float = 0.5, negatives: str = "bank",
                 level_weights: dict[str, float] | None = None,
                 view_augment: ViewAugment | None = None, generator: torch.Generator | None = None):
        super().__init__()
        if negatives not in ("bank", "queue"):
            raise ValueError(f"negatives must be 'bank' or 'queue', got {negatives!r}")
        if negatives == "bank" and num_instances < 2:
            raise ValueError(f"the memory bank needs num_instances >= 2, got {num_instances}")
        self.levels = tuple(levels)
        bad = [lv for lv in self.levels if lv not in ("res3", "res4", "res5")]
        if bad or not self.levels:
            raise ValueError(f"levels must be a non-empty subset of res3/res4/res5, got {levels}")
        self.slow = TempoEncoder(backbone_factory(), self.levels, dim)
        self.fast = TempoEncoder(backbone_factory(), self.levels, dim)
        self.negatives, self.num_negatives = negatives, num_negatives
        self.temperature, self.bank_momentum = temperature, bank_momentum
        self.level_weights = dict(level_weights or {})
        self.view_augment = view_augment or ViewAugment()

        def store() -> nn.Module:  # drawn in the order tempo, level (the initial state's order)
            if negatives == "bank":
                return MemoryBank(num_instances, dim, bank_momentum, generator)
            return Queue(num_negatives, dim, generator)

        #: ``memory_store[tempo][level]``: a MemoryBank (one row per training video) or a Queue
        self.memory_store = nn.ModuleDict(
            {t: nn.ModuleDict({lv: store() for lv in self.levels}) for t in TEMPOS})

    @classmethod
    def from_config(cls, cfg, backbone_factory: BackboneFactory, *, num_instances: int = 0,
                    num_classes: int = 10, generator: torch.Generator | None = None) -> VTHCL:
        return cls(backbone_factory, tuple(cfg.vthcl_levels), cfg.dim, num_instances,
                   cfg.vthcl_num_negatives, cfg.vthcl_temperature, cfg.vthcl_bank_momentum,
                   cfg.vthcl_negatives, view_augment=ViewAugment.from_config(cfg),
                   generator=generator)

    def legacy_state_keys(self) -> dict[str, tuple[str, ...]]:
        # before: one buffer f"{negatives}_{tempo}_{level}" each and one shared "queue_ptr"
        renames = {f"{self.negatives}_{t}_{lv}": (f"memory_store.{t}.{lv}.entries",)
                   for t in TEMPOS for lv in self.levels}
        if self.negatives == "queue":
            renames["queue_ptr"] = tuple(f"memory_store.{t}.{lv}.ptr"
                                         for t in TEMPOS for lv in self.levels)
        return renames

    def eval_backbone(self) -> nn.Module:
        return self.slow.backbone

    def memory(self, tempo: str, level: str) -> torch.Tensor:
        """The stored vectors ``(rows, D)`` of ``tempo`` at ``level``."""
        return self.memory_store[tempo][level].entries

    def bank_negatives(self, bank: torch.Tensor, index: torch.Tensor, generator) -> torch.Tensor:
        """Negatives for the queries of instances ``index`` ``(B,)``: the whole bank ``(N, D)``
        when it has no more than ``K + 1`` entries (``hierarchical_loss`` then leaves each
        query's own row out), else ``(B, K, D)`` uniform draws among the other ``N - 1`` rows."""
        n = bank.shape[0]
        if self.num_negatives >= n - 1:
            return bank
        idx = torch.randint(0, n - 1, (index.shape[0], self.num_negatives), generator=generator)
        own = index.cpu().view(-1, 1)
        idx = idx + (idx >= own).long()  # skip the own row: uniform over the others
        return bank[idx.to(bank.device)]

    def forward(self, batch: dict, generator: torch.Generator | None = None):
        self.check_batch(batch)
        slow, fast = batch["slow"], batch["fast"]
        if slow.dim() != 5 or fast.dim() != 5 or slow.shape[0] != fast.shape[0]:
            raise ValueError(
                f"slow and fast must be (B, C, T, H, W) with the same B, got "
                f"{tuple(slow.shape)} and {tuple(fast.shape)}"
            )
        emb = {"slow": self.slow(self.view_augment(slow, generator)),
               "fast": self.fast(self.view_augment(fast, generator))}
        other = {"slow": "fast", "fast": "slow"}
        positives, negatives = {}, {}
        if self.negatives == "bank":
            if "index" not in batch:
                raise ValueError("VTHCL with a memory bank needs batch['index'] (instance ids)")
            index = batch["index"].to(slow.device)
            for t in TEMPOS:
                positives[t] = {lv: self.memory(other[t], lv)[index].clone() for lv in self.levels}
                negatives[t] = {lv: self.bank_negatives(self.memory(other[t], lv), index,
                                                        generator).clone() for lv in self.levels}
        else:
            for t in TEMPOS:
                positives[t] = {lv: emb[other[t]][lv].detach() for lv in self.levels}
                negatives[t] = {lv: self.memory(other[t], lv).clone() for lv in self.levels}
        exclude = index if self.negatives == "bank" else None
        loss, per_level = hierarchical_loss(emb, positives, negatives, self.temperature,
                                            self.level_weights, exclude)
        self._update_memory(emb, batch.get("index"))
        return loss, {f"loss_{lv}": float(v.detach()) for lv, v in per_level.items()}

    @torch.no_grad()
    def _update_memory(self, emb: dict, index: torch.Tensor | None) -> None:
        if self.negatives == "bank":
            index = all_gather_concat(index.to(self.memory("slow", self.levels[0]).device))
            for t in TEMPOS:
                for lv in self.levels:
                    self.memory_store[t][lv].update(index, all_gather_concat(emb[t][lv].detach()))
            return
        keys = {t: {lv: all_gather_concat(emb[t][lv].detach()) for lv in self.levels}
                for t in TEMPOS}
        # every queue takes the same number of keys: check once, before any is written
        self.memory_store["slow"][self.levels[0]].check_push(keys["slow"][self.levels[0]].shape[0])
        for t in TEMPOS:
            for lv in self.levels:
                self.memory_store[t][lv].push(keys[t][lv])


@torch.no_grad()
def instance_correspondence_map(model: VTHCL, slow: torch.Tensor, fast: torch.Tensor,
                                query: str = "slow") -> torch.Tensor:
    """ICM: cosine similarity of every res5 position of one tempo, projected by ``φ_5``, with the
    other tempo's pooled embedding; averaged over time and upsampled to the frame.

    ``slow``/``fast`` raw clips ``(B, C, T, H, W)`` in [0, 1]. Returns ``(B, H, W)`` in [-1, 1].
    """
    if "res5" not in model.levels:
        raise ValueError("the ICM needs the res5 head φ_5; this model was trained without it")
    enc_q, enc_o = (model.slow, model.fast) if query == "slow" else (model.fast, model.slow)
    x_q, x_o = (slow, fast) if query == "slow" else (fast, slow)
    fmap = enc_q.backbone.feature_maps(x_q)["res5"]  # (B, C, T5, H5, W5)
    b, c, t5, h5, w5 = fmap.shape
    positions = fmap.permute(0, 2, 3, 4, 1).reshape(-1, c)
    projected = enc_q.heads["res5"](positions).reshape(b, t5, h5, w5, -1)
    target = enc_o(x_o)["res5"]  # (B, D), unit vectors
    sim = torch.einsum("bthwd,bd->bthw", projected, target).mean(dim=1)
    return F.interpolate(sim[:, None], size=slow.shape[-2:], mode="bilinear",
                         align_corners=False)[:, 0]


def save_icm_figure(model: VTHCL, slow: torch.Tensor, fast: torch.Tensor, path,
                    max_clips: int = 4) -> None:
    """Overlay the ICM on the middle slow frame for ``max_clips`` clips; save a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model.eval()
    n = min(max_clips, slow.shape[0])
    icm = instance_correspondence_map(model, slow[:n], fast[:n]).cpu()
    frames = slow[:n, :, slow.shape[2] // 2].permute(0, 2, 3, 1).cpu().clamp(0, 1)
    fig, axes = plt.subplots(2, n, figsize=(2.2 * n, 4.4), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(frames[i].numpy())
        axes[0, i].set_title(f"clip {i}", fontsize=8)
        axes[1, i].imshow(frames[i].numpy())
        axes[1, i].imshow(icm[i].numpy(), cmap="jet", alpha=0.5, vmin=-1, vmax=1)
        axes[1, i].set_title("ICM (res5, slow→fast)", fontsize=8)
        for ax in axes[:, i]:
            ax.axis("off")
    with torch.no_grad():
        grid = tuple(model.slow.backbone.feature_maps(slow[:1])["res5"].shape[-2:])
    # Say how coarse the map is: at small inputs res5 can be a single position (a flat ICM).
    fig.suptitle(f"res5 grid {grid[0]}×{grid[1]} for {slow.shape[-2]}×{slow.shape[-1]} frames",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
