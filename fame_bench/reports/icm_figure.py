"""VTHCL's Instance Correspondence Map (ICM) as a figure: drawn for one trained run, and the
report's ICM section. ``python -m fame_bench.reports.icm_figure [--run DIR]``.

The slow and fast clips are ``test_biased`` clips sampled exactly as in pretraining; the overlay
itself is :func:`fame_bench.methods.vthcl.save_icm_figure`.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from fame_bench.methods.vthcl import save_icm_figure
from fame_bench.train.batches import load_synthetic, make_batch
from fame_bench.train.checkpoint import load_checkpoint
from fame_bench.train.config import PretrainConfig
from fame_bench.train.loop import pretrain
from fame_bench.train.trained import load_method


def draw_icm(run_dir: str | Path, out: str | Path, clips: int = 4) -> Path:
    """ICM of the VTHCL run in ``run_dir`` on ``clips`` test_biased clips, saved at ``out``."""
    model = load_method(run_dir)
    cfg = PretrainConfig.from_dict(load_checkpoint(run_dir)["config"])
    cfg = dataclasses.replace(cfg, num_videos=clips, batch_size=clips)
    batch = make_batch(load_synthetic(cfg, "test_biased"), cfg, step=0, rank=0, world_size=1,
                       device=torch.device("cpu"))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_icm_figure(model, batch["slow"], batch["fast"], out, max_clips=clips)
    return out


def icm_section(records: list[dict], path: Path, clips: int = 4) -> str:
    """The ICM of the first VTHCL run of ``records`` with a res5 head, drawn at ``path``; returns
    the report's Markdown for it (or why it is missing)."""
    run = next((r for r in records if r["method"] == "vthcl" and r.get("pretrain")
                and "res5" in r["config"]["pretrain"].get("vthcl_levels", ())), None)
    if run is None:
        return "_ICM not drawn: no VTHCL run with a res5 head is recorded._"
    draw_icm(run["pretrain"]["run_dir"], path, clips)
    return (f"![Instance Correspondence Map of {run['name']} seed {run['seed']}]"
            f"(figures/{path.name})\n\nInstance Correspondence Map (VTHCL paper): cosine "
            "similarity of each res5 position of the slow clip, projected by φ_5, with the fast "
            "clip's embedding; `test_biased` clips (ground truth: the moving object).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="ci")
    parser.add_argument("--run", default=None, help="an existing VTHCL run directory")
    parser.add_argument("--out", default="reports/figures/vthcl_icm.png")
    args = parser.parse_args(argv)
    run = args.run
    if run is None:
        run = f"runs/{args.preset}/icm_vthcl/seed0"
        pretrain(PretrainConfig.preset(args.preset, method="vthcl", out_dir=run))
    print(draw_icm(run, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
