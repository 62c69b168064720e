"""The levers the synthetic presets were calibrated with: sensor noise, random resized crops,
AdamW, parallel reproduction runs, and the scaling report's rendering."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fame_bench.data.synthetic import SyntheticConfig, render_clips
from fame_bench.train.batches import random_resized_crop, step_generator
from fame_bench.train.config import PretrainConfig
from fame_bench.train.loop import build_optimizer


def test_sensor_noise_is_per_clip_deterministic_and_leaves_the_scene():
    clean_cfg = SyntheticConfig.preset("ci", noise_std=0.0)
    noisy_cfg = SyntheticConfig.preset("ci", noise_std=3.0)
    assert SyntheticConfig.preset("ci").noise_std == 3.0  # every preset has sensor noise
    clean = render_clips(clean_cfg, "train", range(6), seed=0)
    noisy = render_clips(noisy_cfg, "train", range(6), seed=0)
    again = render_clips(noisy_cfg, "train", [4, 5], seed=0)
    assert torch.equal(noisy.videos[4:], again.videos)  # a clip's noise: (seed, split, index)
    assert torch.equal(clean.labels, noisy.labels) and torch.equal(clean.masks, noisy.masks)
    diff = noisy.videos.float() - clean.videos.float()
    assert 2.0 < float(diff.std()) < 4.0  # ~3 levels, a little less where 0/255 clip it
    # no pixel stays exactly static between two frames any more (almost surely)
    static = (noisy.videos[:, :, 1:] == noisy.videos[:, :, :-1]).all(dim=1).float().mean()
    assert float(static) < 0.2
    with pytest.raises(ValueError, match="noise_std"):
        SyntheticConfig.preset("ci", noise_std=-1.0)


def test_random_resized_crop_is_the_same_for_every_frame_and_off_at_full_scale():
    g = step_generator(0, 0, stream=1)
    clips = torch.rand(3, 3, 4, 16, 16)
    assert random_resized_crop(clips, (1.0, 1.0), g) is clips
    # a clip whose frames are equal stays equal frame to frame after the crop
    still = clips[:, :, :1].expand(-1, -1, 4, -1, -1).contiguous()
    out = random_resized_crop(still, (0.3, 0.6), g)
    assert out.shape == still.shape
    assert torch.allclose(out[:, :, 0], out[:, :, 3])
    assert not torch.allclose(out, still)
    # deterministic in its generator
    a = random_resized_crop(clips, (0.5, 1.0), step_generator(0, 5, stream=1))
    b = random_resized_crop(clips, (0.5, 1.0), step_generator(0, 5, stream=1))
    assert torch.equal(a, b)


def test_optimizer_choice():
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(build_optimizer(PretrainConfig.preset("ci", optimizer="adamw"), params),
                      torch.optim.AdamW)
    assert isinstance(build_optimizer(PretrainConfig.preset("ci", optimizer="sgd"), params),
                      torch.optim.SGD)
    with pytest.raises(ValueError, match="optimizer"):
        PretrainConfig.preset("ci", optimizer="lamb")
    with pytest.raises(ValueError, match="crop_scale"):
        PretrainConfig.preset("ci", crop_scale=(0.9, 0.5))


def test_scaling_report_renders_paired_gains_from_records():
    from fame_bench.reports.scaling import ROWS, at_steps, render

    steps, seeds = (10, 20), [0, 1, 2]
    rng = np.random.default_rng(0)
    records = {}
    for seed in seeds:
        records[("ci", "random_linear", seed)] = {
            "seed": seed, "eval": {"linear": {"motion_probe_swapped": 0.1, "bias_gap": 0.8}}}
        for i, (_, spec) in enumerate(ROWS):
            for n in steps:
                value = 0.1 + 0.05 * i + n / 1000 + 0.001 * rng.standard_normal()
                records[("ci", at_steps(spec, n).name, seed)] = {"seed": seed, "eval": {
                    "linear": {"motion_probe_swapped": value, "bias_gap": 0.5}}}
    text, rows = render(records, "ci", seeds, steps, "nox -s scaling", 1.0, "scaling.png")
    assert "MoCo + FAME β=0.5 − MoCo (paired)" in text
    assert "+5.0 [" in text  # FAME's row is 5 points above MoCo's at every budget
    assert len(rows) == 2 * (3 * 2 * 3 + 3)


@pytest.mark.slow
def test_parallel_runs_give_the_records_of_sequential_runs(tmp_path, monkeypatch):
    from fame_bench.reports.runner import Job, run_jobs
    from fame_bench.train.experiment import ExperimentSpec

    monkeypatch.setenv("FAME_BENCH_CACHE", str(tmp_path / "cache"))  # spawned workers inherit it
    spec = ExperimentSpec("random", "random",
                          eval_overrides=(("max_videos", 20), ("finetune_steps", 0)))
    jobs = [Job(spec, "ci", 0), Job(spec, "ci", 1), Job(spec, "ci", 0)]  # a duplicate runs once
    lines = []
    parallel = run_jobs(jobs, tmp_path / "parallel", workers=2, log=lines.append)
    sequential = run_jobs(jobs, tmp_path / "sequential", workers=1, log=lambda _: None)
    assert sorted(parallel) == sorted(sequential) == [("ci", "random", 0), ("ci", "random", 1)]
    for key in parallel:
        assert parallel[key]["eval"] == sequential[key]["eval"]
        assert parallel[key]["spec_hash"] == sequential[key]["spec_hash"]
    assert len(lines) == 2 and lines[-1].startswith("[2/2] random seed")
    assert "ETA" in lines[0]


def test_cached_runs_do_not_count_as_timings_in_the_eta(tmp_path):
    """A record read from disk took ~0 s: counting it would promise the uncached rows in no
    time (the ETA said 0m00s with five runs of a new row left)."""
    from fame_bench.reports.runner import Job, Progress
    from fame_bench.train.experiment import ExperimentSpec

    old, new = ExperimentSpec("random", "random"), ExperimentSpec("moco", "moco")
    jobs = [Job(old, "ci", 0), Job(new, "ci", 0), Job(new, "ci", 1)]
    progress = Progress(jobs, tmp_path, workers=1)
    line = progress.finish(jobs[0], 0.01, jobs[1:], cached=True)
    assert "cached" in line and line.endswith("ETA unknown")
    line = progress.finish(jobs[1], 30.0, jobs[2:])
    assert "30.0 s" in line and line.endswith("ETA 0m30s")


def test_a_cached_job_costs_nothing_in_the_eta_unless_forced(tmp_path, monkeypatch):
    from fame_bench.reports.runner import Job, Progress
    from fame_bench.train import experiment

    monkeypatch.setattr(experiment, "_evaluate",
                        lambda *args: {"linear": {"motion_probe_swapped": 0.1}})
    spec = experiment.ExperimentSpec("random", "random")
    experiment.run_experiment(spec, "ci", 0, runs_dir=tmp_path)
    job = Job(spec, "ci", 0)
    progress = Progress([job], tmp_path, workers=1)
    assert progress.cached == {job.key} and progress.eta([job]) == "0m00s"
    forced = Progress([job], tmp_path, workers=1, force=True)
    assert not forced.cached and forced.estimate(job) is not None  # its own record's time


def test_boundary_share_tells_a_blob_from_a_scattered_mask():
    from fame_bench.bench.mask_quality import boundary_share

    masks = torch.zeros(3, 32, 32, dtype=torch.bool)
    masks[0, 8:24, 8:24] = True  # 16x16 blob: its 60 edge pixels of 256
    masks[1] = (torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 == 0  # checkerboard
    masks[2] = True  # the whole frame: the border is not an edge
    share = boundary_share(masks)
    assert share[0] == pytest.approx(60 / 256) and share[1] == 1.0 and share[2] == 0.0
