"""PNG figures for the reports: loss curves, bar charts, the paper's Figure 2, mask gallery.

Plots read run records (and, for the mask gallery and ICM, arrays computed by the caller).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fame_bench.reports.stats import metric_stat  # noqa: E402


def save_figure(fig, path: Path) -> Path:
    """``fig`` as a PNG at ``path`` (110 dpi, no software stamp: the same figure gives the same
    bytes), then closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def loss_curves(groups: dict[str, list[dict]], labels: dict[str, str], path: Path,
                chance_loss: float | None = None) -> Path:
    """Pretraining loss of every run (one colour per row, one line per seed); ``chance_loss``
    (InfoNCE of a guess, ln(K + 1)) is drawn so a run that does not train is seen."""
    fig, ax = plt.subplots(figsize=(7, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drawn = 0
    for i, (name, records) in enumerate(groups.items()):
        for j, record in enumerate(records):
            curve = (record.get("pretrain") or {}).get("loss_curve") or []
            if not curve:
                continue
            steps, losses = zip(*curve, strict=False)
            ax.plot(steps, losses, color=colours[i % len(colours)], alpha=0.8,
                    label=labels.get(name, name) if j == 0 else None)
            drawn += 1
    if drawn == 0:
        ax.text(0.5, 0.5, "no pretraining runs", ha="center", va="center",
                transform=ax.transAxes)
    if chance_loss is not None and drawn:
        ax.axhline(chance_loss, color="grey", linestyle="--", linewidth=1,
                   label="MoCo chance: ln(queue + 1)")
    ax.set_xlabel("step")
    ax.set_ylabel("pretraining loss")
    ax.set_title("Pretraining loss of every run (one line per seed)")
    if drawn:
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def bar_chart(groups: dict[str, list[dict]], labels: dict[str, str],
              metrics: list[tuple[str, str]], path: Path, chance: float | None = None) -> Path:
    """Grouped bars: mean accuracy per row and metric, error bars = std over seeds."""
    names = list(groups)
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(names) + 2), 4))
    width = 0.8 / max(1, len(metrics))
    x = np.arange(len(names))
    for k, (protocol, key) in enumerate(metrics):
        stats = [metric_stat(groups[n], protocol, key) for n in names]
        means = [100 * s.mean if s.n else 0.0 for s in stats]
        stds = [100 * s.std if s.n else 0.0 for s in stats]
        ax.bar(x + (k - (len(metrics) - 1) / 2) * width, means, width, yerr=stds, capsize=3,
               label=f"{protocol}: {key.replace('_', ' ')}")
    if chance is not None:
        ax.axhline(100 * chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xticks(x)
    ax.set_xticklabels([labels.get(n, n) for n in names], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title("Mean ± std over seeds")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def temporal_violins(groups: dict[str, list[dict]], labels: dict[str, str], names: list[str],
                     path: Path) -> Path:
    """The paper's Figure 2: |w| of temporal kernels per stage, one violin per model.

    Values are pooled over seeds (each record keeps a quantile subsample per stage).
    """
    per_model: dict[str, dict[str, list[float]]] = {}
    for name in names:
        pooled: dict[str, list[float]] = {}
        for record in groups.get(name, []):
            for stage, values in (record.get("temporal_kernels") or {}).items():
                pooled.setdefault(stage, []).extend(values)
        if pooled:
            per_model[name] = pooled
    order = ("stem", "res2", "res3", "res4", "res5")
    stages = sorted({s for pooled in per_model.values() for s in pooled},
                    key=lambda s: (order.index(s) if s in order else len(order), s))
    fig, axes = plt.subplots(1, max(1, len(stages)), figsize=(3.2 * max(1, len(stages)), 3.6),
                             squeeze=False)
    if not stages:
        axes[0, 0].text(0.5, 0.5, "no temporal kernels in the records", ha="center")
    for ax, stage in zip(axes[0], stages, strict=False):
        data = [per_model[n].get(stage, [np.nan]) for n in per_model]
        ax.violinplot(data, showmedians=True)
        ax.set_xticks(range(1, len(per_model) + 1))
        ax.set_xticklabels([labels.get(n, n) for n in per_model], rotation=30, ha="right",
                           fontsize=7)
        ax.set_title(stage, fontsize=9)
    axes[0, 0].set_ylabel("|w| of temporal (t,1,1) kernels")
    fig.suptitle("Temporal kernel weights per stage (the FAME paper's Figure 2)", fontsize=10)
    return save_figure(fig, path)


def mask_gallery(frames: np.ndarray, ground_truth: np.ndarray,
                 masks: dict[str, np.ndarray], path: Path) -> Path:
    """Rows = clips; columns = middle frame, ground-truth mask, each variant's mask.

    ``frames``: ``(N, H, W, 3)`` float in [0, 1]; ``ground_truth`` and each mask: ``(N, H, W)``.
    """
    n = frames.shape[0]
    cols = 2 + len(masks)
    fig, axes = plt.subplots(n, cols, figsize=(1.6 * cols, 1.6 * n), squeeze=False)
    for i in range(n):
        panels = [("frame", frames[i], None), ("ground truth", ground_truth[i], "gray")]
        panels += [(label, m[i], "gray") for label, m in masks.items()]
        for j, (title, image, cmap) in enumerate(panels):
            ax = axes[i, j]
            ax.imshow(image, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=7)
    return save_figure(fig, path)
