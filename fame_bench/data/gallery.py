"""PNG of one synthetic clip per class: rows = classes, columns = frames, then its union mask.

``python -m fame_bench.data.gallery [--preset ci] [--variant bias] [--split test_biased]
[--out reports/figures/synthetic_gallery.png]`` (the nox session ``gallery``). Each frame shows
the ground-truth mask's outline; the last column is the union mask over the clip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fame_bench.data.synthetic import SPLITS, SyntheticConfig, render_clips  # noqa: E402


def one_clip_per_class(cfg: SyntheticConfig, split: str, seed: int):
    """First clip of each class in ``split`` (labels are ``index % num_classes``)."""
    return render_clips(cfg, split, range(cfg.num_classes), seed)


def draw_gallery(cfg: SyntheticConfig, split: str, seed: int, out: Path, max_frames: int = 8):
    clips = one_clip_per_class(cfg, split, seed)
    t_len = cfg.frames
    frames = np.linspace(0, t_len - 1, min(max_frames, t_len)).round().astype(int)
    names = cfg.motion_names()
    rows, cols = cfg.num_classes, len(frames) + 1
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows), squeeze=False)
    for r in range(rows):
        video = clips.videos[r].permute(1, 2, 3, 0).numpy()  # (T, H, W, C)
        masks = clips.masks[r].numpy()
        for c, t in enumerate(frames):
            ax = axes[r, c]
            ax.imshow(video[t], interpolation="nearest")
            if masks[t].any():
                ax.contour(masks[t].astype(float), levels=[0.5], colors="white", linewidths=0.5)
            if r == 0:
                ax.set_title(f"t={t}", fontsize=7)
        axes[r, -1].imshow(masks.any(0), cmap="gray", interpolation="nearest", vmin=0, vmax=1)
        if r == 0:
            axes[r, -1].set_title("GT union", fontsize=7)
        fam = int(clips.families[r])
        axes[r, 0].set_ylabel(f"{names[r]}\nfam {fam}", fontsize=6, rotation=0, ha="right",
                              va="center")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"synthetic '{cfg.variant}' ({cfg.name}, {split}, seed {seed}): one clip per "
                 f"class; outline = ground-truth mask", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="ci")
    parser.add_argument("--variant", default="bias", choices=["bias", "finegrained"])
    parser.add_argument("--split", default="test_biased", choices=SPLITS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distractor", action="store_true")
    parser.add_argument("--camera-motion", type=float, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    overrides = {"variant": args.variant}
    if args.distractor:
        overrides["distractor"] = True
    if args.camera_motion is not None:
        overrides["camera_motion"] = args.camera_motion
    cfg = SyntheticConfig.preset(args.preset, **overrides)
    suffix = "" if args.variant == "bias" else f"_{args.variant}"
    out = args.out or Path("reports/figures") / f"synthetic_gallery{suffix}.png"
    print(f"wrote {draw_gallery(cfg, args.split, args.seed, out)}")


if __name__ == "__main__":
    main()
