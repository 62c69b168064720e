"""Draw VTHCL's Instance Correspondence Map for a trained run: ``python -m fame_bench.train.icm``.

Pretrains VTHCL on the given preset (or reuses ``--run``), samples slow/fast clips of
``test_biased`` exactly as in pretraining, and saves the overlay (``save_icm_figure``) as a PNG.
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
