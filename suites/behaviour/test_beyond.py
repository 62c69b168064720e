"""Beyond the papers: camera pans in the synthetic data, the motion-compensated seed, beta="auto",
their plumbing into experiments, and the beyond report (docs/fame.md, "Beyond the paper")."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

import fame_bench.augment as op
from fame_bench.augment import motion
from fame_bench.data.synthetic import SyntheticConfig, cache_key, render_clips
from fame_bench.data.synthetic import render as rendering
from fame_bench.train.config import PretrainConfig
from fame_bench.train.experiment import ExperimentSpec, plan_experiment, spec_hash
from reference import fame as ref

# --- synthetic camera pans -----------------------------------------------------------------------


def _offsets(cfg: SyntheticConfig, count: int = 20):
    indices = np.arange(count)
    draws = rendering._Draws(rendering._clip_uniforms(cfg, "train", indices, 0))
    draws.take(40)  # any fixed position in the clip's draws
    return rendering._camera_offsets(cfg, "train", indices, 0, draws)


def test_exact_pan_moves_the_camera_at_exactly_that_speed():
    cfg = SyntheticConfig.preset("ci", camera_motion=2.0, camera_speed_exact=True)
    pan_x, pan_y = _offsets(cfg)
    speed = np.hypot(np.diff(pan_x, axis=1), np.diff(pan_y, axis=1))
    np.testing.assert_allclose(speed, 2.0, rtol=1e-5)
    shaky = replace(cfg, camera_jitter=0.5)
    jitter_x, jitter_y = _offsets(shaky)
    residual = np.concatenate([(jitter_x - pan_x).ravel(), (jitter_y - pan_y).ravel()])
    assert 0.35 < residual.std() < 0.65  # the shake: independent offsets of std 0.5 px
    again = _offsets(shaky)
    assert np.array_equal(again[0], jitter_x)  # deterministic in (seed, split, index)


def test_new_camera_fields_leave_default_clips_and_cache_keys_alone():
    base = SyntheticConfig.preset("ci")
    assert "camera_jitter" not in base.hash_fields()
    assert "camera_speed_exact" not in base.hash_fields()
    panned = replace(base, camera_motion=1.0, camera_speed_exact=True, camera_jitter=0.25)
    assert panned.hash_fields()["camera_jitter"] == 0.25
    assert cache_key(panned, "train", 0) != cache_key(replace(panned, camera_jitter=0.0),
                                                      "train", 0)
    # the object is placed for its path in the image: it stays visible under a 1 px/frame pan
    data = render_clips(replace(panned, noise_std=0.0), "train", range(30), seed=0)
    assert data.masks.any(dim=(2, 3)).float().mean() > 0.95
    with pytest.raises(ValueError, match="camera_motion"):
        SyntheticConfig.preset("ci", camera_motion=-1.0)
    with pytest.raises(ValueError, match="camera_jitter"):
        SyntheticConfig.preset("ci", camera_jitter=100.0)


# --- the motion-compensated seed -----------------------------------------------------------------


def _texture(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (1.5 + np.sin(0.5 * x + 0.3 * y) + 0.6 * np.cos(0.37 * y - 0.21 * x)
            + 0.4 * np.sin(0.9 * x * 0.5 + 1.1 * y * 0.4))


@pytest.mark.parametrize("true_shift", [(0.0, 0.0), (3.0, -2.0), (1.25, 0.5), (-0.75, 2.5)])
def test_global_shift_is_found_to_a_sixteenth_pixel(true_shift):
    dy, dx = true_shift
    y, x = np.mgrid[0:48, 0:48].astype(np.float64)
    previous = torch.from_numpy(_texture(y, x)[None].astype(np.float32))
    current = torch.from_numpy(_texture(y - dy, x - dx)[None].astype(np.float32))
    whole = motion.integer_shift(motion.correlation_spectrum(previous),
                                 motion.correlation_spectrum(current), 48, 48)
    shift = motion.refine_shift(previous, current, whole)[0].numpy()
    assert np.abs(shift - np.array(true_shift)).max() <= 0.125, shift


def _estimated_shifts(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The op's shift estimate ``(N, 2)`` for grey frames ``(N, H, W)`` float32, checked equal
    to the reference's."""
    before, after = torch.from_numpy(previous), torch.from_numpy(current)
    shift = motion.refine_shift(before, after, motion.whole_shifts(before, after)).numpy()
    np.testing.assert_array_equal(shift, ref.pair_shifts(np.stack([previous, current], 1))[:, 0])
    return shift


@pytest.mark.parametrize("true_shift", [(1.5, -1.0), (-3.0, 2.5), (2.0, 1.5), (0.5, 0.75),
                                        (4.0, 0.0)])
def test_global_shift_is_found_on_a_smooth_texture(true_shift):
    # Three times coarser than above. The plain circular correlation's peak was pulled toward
    # lag 0 by the frames' wrap-around seam, which does not move (1.5, -1 came out as 1, -1).
    dy, dx = true_shift
    y, x = np.mgrid[0:48, 0:48].astype(np.float64)
    previous = _texture(y / 3, x / 3)[None].astype(np.float32)
    current = _texture((y - dy) / 3, (x - dx) / 3)[None].astype(np.float32)
    shift = _estimated_shifts(previous, current)[0]
    assert np.abs(shift - np.array(true_shift)).max() <= 0.25, shift


def _panned_background_pairs(monkeypatch, speed: float, clips: int = 48):
    """Consecutive grey frames ``(N, H, W)`` float32 of the benchmark's background-only clips
    under an exact pan of ``speed`` px/frame (no shake), and each pair's true shift ``(N, 2)``
    ``(dy, dx)``: the camera's step, which moves the scene back in the image."""
    offsets = []
    camera = rendering._camera_offsets

    def recorded(*args):
        offsets.append(camera(*args))
        return offsets[-1]

    monkeypatch.setattr(rendering, "_camera_offsets", recorded)
    cfg = SyntheticConfig.preset("ci", camera_motion=speed, camera_speed_exact=True)
    videos = render_clips(cfg, "test_background_only", range(clips), seed=0).videos
    pan_x, pan_y = (np.concatenate(axis) for axis in zip(*offsets, strict=True))
    truth = np.stack([-np.diff(pan_y, axis=1), -np.diff(pan_x, axis=1)], axis=-1)
    frames = videos.float() / 255
    greys = (frames[:, 0] + frames[:, 1] + frames[:, 2]).numpy()
    return (greys[:, :-1].reshape(-1, *greys.shape[-2:]),
            greys[:, 1:].reshape(-1, *greys.shape[-2:]), truth.reshape(-1, 2))


def _textured_in_two_directions(frames: np.ndarray) -> np.ndarray:
    """``(N,)``: frames whose gradients' second moment has both eigenvalues within 5x: stripes
    and ramps fix a shift across them only, so only these have a true shift to find."""
    grad_y = (frames[:, 2:, 1:-1] - frames[:, :-2, 1:-1]).astype(np.float64)
    grad_x = (frames[:, 1:-1, 2:] - frames[:, 1:-1, :-2]).astype(np.float64)
    a, b, c = ((u * v).sum(axis=(1, 2)) for u, v in
               ((grad_y, grad_y), (grad_y, grad_x), (grad_x, grad_x)))
    root = np.sqrt((a - c) ** 2 + 4 * b * b)
    return (a + c - root) > 0.2 * (a + c + root)


@pytest.mark.parametrize("speed", [0.5, 1.0, 1.5, 2.0])
def test_global_shift_is_found_on_the_benchmarks_panned_clips(monkeypatch, speed):
    # the median error was 0.28 px at 1.5 px/frame and 0.38 px at 2 with the plain correlation
    previous, current, truth = _panned_background_pairs(monkeypatch, speed)
    textured = _textured_in_two_directions(previous)
    assert textured.sum() > 200  # about 60 % of the 720 pairs
    error = np.abs(_estimated_shifts(previous, current) - truth).max(axis=1)[textured]
    assert np.median(error) <= 0.25, np.median(error)


def test_compensation_removes_a_pure_pan_from_the_seed_statistics():
    from fame_bench.augment.fame import frame_statistics

    t = np.arange(6)[:, None, None]
    y, x = np.mgrid[0:40, 0:40].astype(np.float64)
    frames = (_texture(y[None] - 1.5 * t, x[None] + 1.0 * t) + 0.5) / 4.1  # (T, H, W) in [0, 1]
    clips = torch.from_numpy(np.broadcast_to(frames, (2, 3, 6, 40, 40)).astype(np.float32).copy())
    plain, _ = frame_statistics(clips)
    compensated, _ = frame_statistics(clips, compensate=True)
    assert float(compensated.mean()) < 0.15 * float(plain.mean())


@pytest.mark.parametrize("true_shift", [(0.0, 0.0), (4.0, -6.0), (2.5, 1.0), (-1.5, 5.0)])
def test_global_shift_is_found_on_2x2_block_sums(true_shift):
    # mc_downsample=2 estimates in block units: twice the shift of the pooled frames
    dy, dx = true_shift
    y, x = np.mgrid[0:64, 0:64].astype(np.float64)
    previous = motion.block_sums(torch.from_numpy(_texture(y, x)[None].astype(np.float32)), 2)
    current = motion.block_sums(
        torch.from_numpy(_texture(y - dy, x - dx)[None].astype(np.float32)), 2)
    assert previous.shape == (1, 32, 32)
    whole = motion.integer_shift(motion.correlation_spectrum(previous),
                                 motion.correlation_spectrum(current), 32, 32)
    shift = 2 * motion.refine_shift(previous, current, whole)[0].numpy()
    assert np.abs(shift - np.array(true_shift)).max() <= 0.25, shift


def test_downsampled_compensation_removes_a_pure_pan():
    from fame_bench.augment.fame import frame_statistics

    k = 2
    t = np.arange(6)[:, None, None]
    y, x = np.mgrid[0:48, 0:48].astype(np.float64)
    # a texture three times coarser than above: 2 x 2 blocks must not alias it
    frames = (_texture((y[None] - 1.5 * t) / 3, (x[None] + 1.0 * t) / 3) + 0.5) / 4.1
    clips = torch.from_numpy(np.broadcast_to(frames, (2, 3, 6, 48, 48)).astype(np.float32).copy())
    plain, _ = frame_statistics(clips)
    compensated, _ = frame_statistics(clips, compensate=True, mc_downsample=k)
    assert float(compensated.mean()) < 0.25 * float(plain.mean())
    blocks = compensated.reshape(2, 48 // k, k, 48 // k, k)  # constant on each k x k block
    assert torch.equal(blocks, blocks[:, :, :1, :, :1].expand_as(blocks))


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_bad_mc_downsample_is_refused_in_one_line(bad):
    clips = torch.rand(2, 3, 4, 24, 24, generator=torch.Generator().manual_seed(0))
    for call in (lambda: op.foreground_mask(clips, 0.5, variant="fame_mc", mc_downsample=bad),
                 lambda: op.fame(clips, 0.5, variant="seed_mc", mc_downsample=bad),
                 lambda: op.FAME(variant="fame_mc", mc_downsample=bad)):
        with pytest.raises(ValueError, match=r"^mc_downsample must be an integer >= 1") as err:
            call()
        assert "\n" not in str(err.value)


def test_mc_downsample_larger_than_the_frame_or_on_another_variant_is_refused():
    from reference import fame as ref

    clips = torch.rand(2, 3, 4, 24, 20, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"mc_downsample=7 needs frames of at least 21 x 21"):
        op.foreground_mask(clips, 0.5, variant="fame_mc", mc_downsample=7)
    with pytest.raises(ValueError, match=r"mc_downsample=7 needs frames of at least 21 x 21"):
        ref.foreground_mask(clips.numpy(), 0.5, variant="fame_mc", mc_downsample=7)
    assert op.foreground_mask(clips, 0.5, variant="fame_mc", mc_downsample=6).shape == (2, 24, 20)
    for variant in ("fame", "seed", "grid", "gauss"):
        with pytest.raises(ValueError, match="applies to the variants"):
            op.foreground_mask(clips, 0.5, variant=variant, mc_downsample=2)
        with pytest.raises(ValueError, match="applies to the variants"):
            ref.foreground_mask(clips.numpy(), 0.5, variant=variant, mc_downsample=2)
    with pytest.raises(ValueError, match="applies to the variants"):
        op.FAME(variant="fame", mc_downsample=2)
    module = op.FAME(variant="fame_mc", mc_downsample=2)
    assert "mc_downsample=2" in repr(module)
    merged = module(clips, generator=torch.Generator().manual_seed(1))
    assert merged.shape == clips.shape


def test_chunks_take_as_many_frame_pairs_of_all_clips_as_fit(monkeypatch):
    monkeypatch.setattr(motion, "CHUNK_BYTES", 12 * 3 * 32 * 32 * 4)  # 12 frames of 3 x 32²
    assert motion.chunk_pairs(4, 15, 32, 32) == 3  # 12 frames: 3 pairs of all 4 clips
    assert motion.chunk_pairs(4, 2, 32, 32) == 2  # never more pairs than there are
    assert motion.chunk_pairs(30, 15, 32, 32) == 1  # at least one pair of all clips


def test_fill_in_float32_is_the_fixed_point_mean_of_float64():
    # the reference rounds change · 2^24 in float64; float32 gives the same integers
    generator = torch.Generator().manual_seed(0)
    change = torch.rand(5, 17, 13, generator=generator) * 3
    change[0, :3] = torch.rand(3, 13, generator=generator) * 1e-30  # tiny and subnormal values
    valid = torch.rand(5, 17, 13, generator=generator) < 0.7
    fixed = torch.round(torch.where(valid, change, 0.0).double() * 2.0**24)
    mean = (fixed.sum(dim=(1, 2)) / valid.sum(dim=(1, 2)) / 2.0**24).float()
    expected = torch.where(valid, change, mean[:, None, None])
    assert torch.equal(motion.fill_invalid(change, valid), expected)


def test_pixels_that_left_the_frame_get_the_mean_difference():
    change = torch.tensor([[[1.0, 3.0], [5.0, 7.0]]])
    valid = torch.tensor([[[True, True], [False, False]]])
    assert motion.fill_invalid(change, valid).tolist() == [[[1.0, 3.0], [2.0, 2.0]]]
    nothing = torch.zeros_like(valid)
    assert motion.fill_invalid(change, nothing).tolist() == [[[0.0, 0.0], [0.0, 0.0]]]


# --- beta="auto" ---------------------------------------------------------------------------------


def _moving_square(side: int) -> torch.Tensor:
    clips = torch.full((1, 3, 6, 32, 32), 0.3)
    for t in range(6):
        clips[:, :, t, 10 : 10 + side, 2 + 2 * t : 2 + 2 * t + side] = 0.9
    return clips


def test_auto_beta_follows_the_seed_mass_within_its_bounds():
    def kept(clips, **kw):
        return int(op.foreground_mask(clips, "auto", variant="seed", **kw).sum())

    wide = {"beta_bounds": (0.02, 0.9)}
    small, large = kept(_moving_square(4), **wide), kept(_moving_square(12), **wide)
    assert 0.02 * 1024 < small < large < 0.9 * 1024  # a larger mover needs more pixels
    assert math.floor(0.2 * 1024) <= kept(_moving_square(4)) <= math.floor(0.7 * 1024)
    static = torch.full((1, 3, 4, 32, 32), 0.5)
    assert kept(static) == math.floor(0.2 * 1024)  # no motion: the lower bound
    assert kept(_moving_square(12), beta_bounds=(0.1, 0.15)) == math.floor(0.15 * 1024)
    with pytest.raises(ValueError, match="grid"):
        op.foreground_mask(static, "auto", variant="grid")
    with pytest.raises(ValueError, match="beta_bounds"):
        op.foreground_mask(static, "auto", beta_bounds=(0.6, 0.2))
    with pytest.raises(ValueError, match="auto_mass"):
        op.foreground_mask(static, "auto", auto_mass=0.0)
    with pytest.raises(ValueError, match="beta"):
        op.foreground_mask(static, "half")


def test_fame_module_takes_the_new_variants_and_auto():
    clips = torch.rand(4, 3, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    for variant in ("fame_mc", "seed_mc"):
        module = op.FAME(beta="auto", variant=variant, beta_bounds=(0.3, 0.6))
        merged = module(clips, torch.Generator().manual_seed(1))
        assert merged.shape == clips.shape
        assert "beta_bounds=(0.3, 0.6)" in repr(module)
    with pytest.raises(ValueError, match="variant"):
        op.FAME(variant="fame_xyz")
    with pytest.raises(ValueError, match="grid"):
        op.FAME(beta="auto", variant="grid")


# --- experiments ---------------------------------------------------------------------------------

PAN = (("camera_motion", 1.0), ("camera_speed_exact", True), ("camera_jitter", 0.25))


def test_data_overrides_reach_pretraining_and_evaluation_data():
    cfg = PretrainConfig.preset("ci", data_overrides=PAN)
    data = cfg.synthetic_config()
    assert (data.camera_motion, data.camera_speed_exact, data.camera_jitter) == (1.0, True, 0.25)
    again = PretrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.data_overrides == cfg.data_overrides  # survives a checkpoint's JSON
    with pytest.raises(ValueError, match="SyntheticConfig"):
        PretrainConfig.preset("ci", data_overrides=(("camera_speed", 1.0),))
    with pytest.raises(ValueError, match="name"):
        PretrainConfig.preset("ci", data_overrides=(("name", "cpu"),))
    with pytest.raises(ValueError, match="camera_motion"):
        PretrainConfig.preset("ci", data_overrides=(("camera_motion", -2.0),))
    assert PretrainConfig.preset("ci", augment="fame", fame_beta="auto").fame_beta == "auto"
    with pytest.raises(ValueError, match="fame_beta"):
        PretrainConfig.preset("ci", augment="fame", fame_beta="most")


def test_spec_data_overrides_enter_the_hash_and_leave_old_hashes_alone(tmp_path):
    from fame_bench.train import experiment

    plain = ExperimentSpec("m", "moco", augment="fame", mask_variant="fame_mc", beta="auto")
    panned = replace(plain, data_overrides=PAN)
    a, b = (plan_experiment(s, "ci", 0, tmp_path) for s in (plain, panned))
    assert a.key != b.key and b.data.camera_motion == 1.0 and b.pretrain.data_overrides == PAN
    # the hash of a spec without the new fields is what it was before they existed
    # (and the mask variant keeps its record name "variant")
    assert plain.record()["variant"] == "fame_mc" and "mask_variant" not in plain.record()
    spec_fields = {k: v for k, v in plain.record().items() if k != "data_overrides"}
    pretrain = {k: v for k, v in experiment._jsonable(a.pretrain).items()
                if k not in experiment.HASH_FREE and k not in experiment.HASH_LATER_FIELDS}
    evaluation = {k: v for k, v in experiment._jsonable(a.eval).items()
                  if k not in experiment.EVAL_HASH_LATER_FIELDS}
    data = {k: v for k, v in experiment._jsonable(a.data).items()
            if k not in ("camera_speed_exact", "camera_jitter")}
    assert a.key == spec_hash({"spec": spec_fields, "preset": "ci", "seed": 0,
                               "pretrain": pretrain, "data": data, "eval": evaluation,
                               "mask_version": motion.MC_VERSION})
    random_row = plan_experiment(ExperimentSpec("r", "random", data_overrides=PAN), "ci", 0,
                                 tmp_path)
    assert random_row.data.camera_motion == 1.0  # a random-init floor is evaluated on its data
    with pytest.raises(ValueError, match="synthetic"):
        ExperimentSpec("u", "moco", dataset="ucf101", data_overrides=PAN)
    with pytest.raises(ValueError, match="beta"):
        ExperimentSpec("x", "moco", augment="fame", beta="big")


def test_mask_version_enters_only_compensated_runs_hashes_and_pretraining_identity(
        tmp_path, monkeypatch):
    from fame_bench.train import experiment

    specs = {variant: ExperimentSpec(f"m_{variant}", "moco", augment="fame", mask_variant=variant)
             for variant in ("fame", "seed", "gauss", "fame_mc", "seed_mc")}
    specs["be"] = ExperimentSpec("m_be", "moco", augment="be", mask_variant="fame_mc")

    def plans():
        return {name: plan_experiment(spec, "ci", 0, tmp_path) for name, spec in specs.items()}

    def record_of(plan, spec, version):  # the parts of a finished record the identity reads
        return {"pretrain": {"steps": plan.pretrain.steps},
                "augment": spec.augment_record("first", version),
                "config": {"pretrain": experiment._jsonable(plan.pretrain),
                           "data": experiment._jsonable(plan.data)}}

    now, current = plans(), experiment.mask_version
    monkeypatch.setattr(experiment, "mask_version", lambda variant: 1)  # before versions
    before = plans()
    monkeypatch.setattr(experiment, "mask_version",  # fame_mc alone changes again
                        lambda variant: current(variant) + (variant == "fame_mc"))
    later = plans()
    monkeypatch.undo()
    for name, plan in now.items():
        compensated = name in ("fame_mc", "seed_mc")
        assert (plan.key != before[name].key) == compensated, name
        assert (plan.key != later[name].key) == (name == "fame_mc"), name
        version = experiment.versioned_mask(plan.pretrain.augment, plan.pretrain.fame_variant)
        assert version == (motion.MC_VERSION if compensated else None)
        wanted = experiment._plan_pretraining_identity(plan)
        made_now = experiment._record_pretraining_identity(record_of(plan, specs[name], version))
        made_before = experiment._record_pretraining_identity(record_of(plan, specs[name], None))
        assert made_now == wanted
        assert (made_before == wanted) == (not compensated), name
    assert specs["fame_mc"].augment_record("first", 2)["mask_version"] == 2
    assert "mask_version" not in specs["fame"].augment_record("first")


# --- the report ----------------------------------------------------------------------------------


def test_mask_measurements_and_report_render_on_a_tiny_split(tmp_path, monkeypatch):
    from fame_bench.bench import beyond_masks
    from fame_bench.reports import beyond

    monkeypatch.setenv("FAME_BENCH_CACHE", str(tmp_path / "cache"))
    base = SyntheticConfig.preset("ci", n_test=6)
    speeds = (0.0, 2.0)
    configs = beyond_masks.pan_configs(base, speeds)
    assert configs[2.0].camera_speed_exact and configs[2.0].camera_motion == 2.0
    rows = (("Gauss", "gauss", 0.5), ("FAME β=0.5", "fame", 0.5),
            ("FAME-MC β=0.5", "fame_mc", 0.5))
    pan = beyond_masks.measure_masks(configs, rows, [0, 1], clips=4)
    iou = pan["iou"][2.0]["FAME-MC β=0.5"][1]
    assert iou.shape == (4,) and ((iou >= 0) & (iou <= 1)).all()
    sizes = beyond_masks.size_configs(base)
    assert sizes["small"].object_scale[0] == base.object_scale[0]
    assert sizes["large"].object_scale[1] == pytest.approx(base.object_scale[1])
    mass = beyond_masks.seed_mass_outside({0.0: base}, [0], clips=3)
    assert mass[0.0]["S-MC"][0].shape == (3,)
    lines = beyond.mask_verdicts(pan, {}, speeds)
    assert lines[0].startswith("- **Does camera motion hurt FAME's mask?**")
    assert "FAME-MC − FAME (β=0.5)" in lines[1]


def _measured(shift: dict[str, float], conditions, seeds=(0, 1, 2)) -> dict:
    """Fake per-clip IoU: each label's value is its shift plus a little per-seed noise."""
    rng = np.random.default_rng(0)
    iou = {c: {label: {s: np.full(4, 0.3 + value + 0.002 * rng.standard_normal())
                       for s in seeds} for label, value in shift.items()} for c in conditions}
    return {"iou": iou, "kept": iou, "truth_share": {c: {s: 0.2 for s in seeds}
                                                     for c in conditions}}


def test_report_verdicts_read_the_paired_differences():
    from fame_bench.bench.beyond_masks import ORACLE_BETAS, PAN_MASKS, SIZE_MASKS, SIZE_THIRDS
    from fame_bench.reports import beyond

    speeds = (0.0, 1.0)
    labels = {label: 0.0 for label, _, _ in PAN_MASKS}
    labels.update({f"oracle β={b}": 0.2 for b in ORACLE_BETAS}, **{"FAME-MC β=0.5": 0.05})
    pan = _measured(labels, speeds)
    pan["iou"][1.0]["FAME β=0.5"] = {s: v - 0.1 for s, v in pan["iou"][1.0]["FAME β=0.5"].items()}
    size_labels = {label: 0.0 for label, _, _ in SIZE_MASKS}
    size_labels.update({f"oracle β={b}": 0.2 for b in ORACLE_BETAS}, **{"FAME β=auto": 0.04})
    size = _measured(size_labels, SIZE_THIRDS)
    records = {}
    for seed in range(3):
        for label, spec in beyond.PAN_ROWS:
            for speed in speeds:
                value = 0.2 + (0.05 if "FAME" in label and speed == 0 else 0.0)
                records[("ci", beyond.at_pan(spec, speed).name, seed)] = {
                    "eval": {"linear": {"motion_probe_swapped": value + 0.001 * seed}}}
    text, data = beyond.render(pan, size, records, {}, "ci", [0, 1, 2], speeds, "tiny",
                               "nox -s reproduce_beyond", 1.0)
    assert "**Does camera motion hurt FAME's mask?** **yes**, at pan 1" in text
    assert "**Does motion compensation recover it?** **it improves FAME's mask** at" in text
    assert "**Does a per-clip β beat the best fixed β (mask)?** **yes**" in text
    assert "**Does camera motion hurt FAME's pretraining (motion probe)?** **yes**" in text
    assert "| FAME − MoCo (paired)" in text and "+5.0 [" in text
    assert data["pan_iou"]["1"]["FAME β=0.5"][0] == pytest.approx(0.2, abs=0.01)


def test_probe_rows_are_their_own_runs_on_panned_data():
    from fame_bench.reports import beyond
    from fame_bench.reports.definitions import TABLES

    spec = beyond.at_pan(beyond.FAME_MC, 0.5)
    assert spec.name == "moco_fame_mc_b0.5_pan0.5" and dict(spec.data_overrides)[
        "camera_motion"] == 0.5
    assert ("finetune_steps", 0) in spec.eval_overrides
    jobs = beyond.probe_jobs("ci", [0, 1], (0.0, 1.0))
    assert len(jobs) == 2 * (2 * len(beyond.PAN_ROWS) + len(beyond.BETA_ROWS))
    # the static-camera β rows share table 1's runs
    table1 = {spec.name: spec for _, spec in TABLES["table1"].rows}
    assert beyond.BETA_ROWS[2][1] == table1["moco_fame_b0.5"]


def test_a_tiny_pretraining_on_panned_clips_fills_the_probe_section(tmp_path, monkeypatch):
    from fame_bench.reports import beyond
    from fame_bench.reports.runner import Job, run_jobs

    monkeypatch.setenv("FAME_BENCH_CACHE", str(tmp_path / "cache"))
    tiny_data = (("n_pretrain", 16), ("n_train", 20), ("n_train_unbiased", 20), ("n_test", 20))
    spec = beyond.at_pan(beyond.FAME_MC, 2.0)
    spec = replace(spec, data_overrides=(*spec.data_overrides, *tiny_data),
                   pretrain_overrides=(("steps", 2), ("batch_size", 4), ("queue_size", 8),
                                       ("warmup_steps", 0), ("ckpt_every", 2)),
                   eval_overrides=(*spec.eval_overrides, ("linear_epochs", 2)))
    records = run_jobs([Job(spec, "ci", 0)], tmp_path / "runs", workers=1, log=lambda _: None)
    record = records[("ci", spec.name, 0)]
    assert record["config"]["data"]["camera_motion"] == 2.0
    assert record["augment"]["variant"] == "fame_mc"
    assert record["pretrain"]["augment_ms"] > 0
    found = beyond.records_on_disk([Job(spec, "ci", 0)], tmp_path / "runs")
    assert beyond.probe_values(found, "ci", spec.name, [0]) == {
        0: record["eval"]["linear"]["motion_probe_swapped"]}


def test_probe_speeds_narrow_the_pretraining_section_only():
    from fame_bench.bench.beyond_masks import ORACLE_BETAS, PAN_MASKS
    from fame_bench.reports import beyond

    speeds, probe_speeds = (0.0, 1.0, 4.0), (0.0, 4.0)
    labels = {label: 0.0 for label, _, _ in PAN_MASKS}
    labels.update({f"oracle β={b}": 0.2 for b in ORACLE_BETAS}, **{"FAME-MC β=0.5": 0.05})
    records = {("ci", beyond.at_pan(spec, speed).name, seed): {
        "eval": {"linear": {"motion_probe_swapped": 0.2 + 0.001 * seed}}}
        for seed in range(3) for _, spec in beyond.PAN_ROWS for speed in probe_speeds}
    text, data = beyond.render(_measured(labels, speeds), {}, records, {}, "ci", [0, 1, 2],
                               speeds, "tiny", "nox -s reproduce_beyond", 1.0, probe_speeds)
    assert data["speeds"] == [0.0, 1.0, 4.0] and data["probe_speeds"] == [0.0, 4.0]
    assert "pretraining runs at 0, 4 px/frame only" in text
    probe_section = text.split("## Motion probe")[1]
    assert "pan 4" in probe_section and "pan 1" not in probe_section
    assert "pan 1" in text.split("## Motion probe")[0]


def test_mc_downsample_table_and_verdict():
    from fame_bench.bench.beyond_masks import downsample_label
    from fame_bench.reports import beyond

    speeds = (0.0, 1.0, 4.0)
    cost = {"32²": {"FAME": 2.0, downsample_label(1): 10.0, downsample_label(2): 3.8,
                    downsample_label(4): 3.0},
            "112²": {"FAME": 20.0, downsample_label(1): 100.0, downsample_label(2): 38.0,
                     downsample_label(4): 30.0}}
    # k = 2 as good as k = 1 (noise only), k = 4 ten points worse
    masks = _measured({downsample_label(1): 0.0, downsample_label(2): 0.0,
                       downsample_label(4): -0.1}, speeds)
    text = "\n".join(beyond.downsample_lines(masks, cost))
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| ")}
    assert rows["2"][:2] == ["1.90", "1.90"] and rows["4"][:2] == ["1.50", "1.50"]
    assert all(cell.startswith("-9.") or cell.startswith("-10.") for cell in rows["k=4 − k=1"])
    assert "Verdict: k = 2 meets the 2× target" in text
    assert "measured at k = 1 only" in text
    cost["112²"][downsample_label(2)] = 41.0  # 2.05×: k = 2 misses the target at 112²
    text = "\n".join(beyond.downsample_lines(masks, cost))
    assert "Verdict: no k > 1 meets the 2× target" in text
    assert beyond.downsample_lines({}, cost) == []


def test_whole_pixel_shifts_find_a_circular_pan_of_a_texture():
    from fame_bench.bench.beyond_masks import whole_pixel_shifts

    generator = torch.Generator().manual_seed(3)
    texture = torch.rand(2, 3, 24, 24, generator=generator)
    steps = torch.tensor([[1, -2], [-3, 2]])  # (dy, dx) per frame, per clip
    clips = torch.stack([torch.stack([texture[b].roll((int(t * steps[b, 0]), int(t * steps[b, 1])),
                                                      dims=(-2, -1)) for t in range(4)], dim=1)
                         for b in range(2)])  # (B, 3, T, H, W)
    for chunk in (0, 1, 2, 3):
        shifts = whole_pixel_shifts(clips, chunk)
        assert shifts.shape == (2, 3, 2)
        assert torch.equal(shifts, steps[:, None].double().expand(2, 3, 2))


def test_measure_cost_floor_times_its_rows():
    from fame_bench.bench.beyond_masks import (
        FLOOR_ESTIMATE,
        FLOOR_FAME,
        FLOOR_MC,
        FLOOR_STATISTICS,
        measure_cost_floor,
    )

    floor = measure_cost_floor(16, batch=2, frames=4, repeats=2)
    assert set(floor) == {FLOOR_FAME, FLOOR_MC, FLOOR_STATISTICS, FLOOR_ESTIMATE}
    assert all(ms > 0 for ms in floor.values())


def test_cost_floor_table_and_verdict():
    from fame_bench.bench.beyond_masks import (
        FLOOR_ESTIMATE,
        FLOOR_FAME,
        FLOOR_MC,
        FLOOR_STATISTICS,
    )
    from fame_bench.reports import beyond

    floor = {"32²": {FLOOR_FAME: 4.0, FLOOR_MC: 16.0, FLOOR_STATISTICS: 1.0, FLOOR_ESTIMATE: 3.0},
             "112²": {FLOOR_FAME: 20.0, FLOOR_MC: 100.0, FLOOR_STATISTICS: 5.0,
                      FLOOR_ESTIMATE: 40.0}}
    text = "\n".join(beyond.floor_lines(floor))
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| ")}
    assert rows["lower bound of FAME-MC (the two rows above)"] == ["1.50", "2.75"]
    assert rows["FAME-MC"] == ["4.00", "5.00"]
    assert rows["left for the rest under the 2× target"] == ["0.50", "-0.75"]
    # 32²: the rest takes 4 - 1.5 = 2.5× FAME where 0.5× is left
    assert "at 32² the target leaves 0.50× FAME for the rest, which takes 2.50× now: " \
           "5.0 times less work" in text
    assert "at 112² the lower bound alone is 2.75× FAME: the 2× target leaves nothing for the " \
           "rest, which takes 2.25× now" in text
    assert beyond.floor_lines({}) == []


def test_cost_floor_verdict_when_the_target_holds():
    from fame_bench.bench.beyond_masks import (
        FLOOR_ESTIMATE,
        FLOOR_FAME,
        FLOOR_MC,
        FLOOR_STATISTICS,
    )
    from fame_bench.reports import beyond

    floor = {"32²": {FLOOR_FAME: 4.0, FLOOR_MC: 7.0, FLOOR_STATISTICS: 1.0, FLOOR_ESTIMATE: 1.0}}
    text = "\n".join(beyond.floor_lines(floor))
    # bound 0.75 + 0.25 = 1.0, left 1.0, rest 1.75 - 1.0 = 0.75
    assert "at 32² the target leaves 1.00× FAME for the rest, which takes 0.75×." in text
    assert "times less work" not in text


def test_cost_is_timed_natively_and_with_the_torch_ops_only(monkeypatch):
    from fame_bench.augment import native
    from fame_bench.bench.beyond_masks import TORCH_OPS_COST_CASES, measure_cost
    from fame_bench.reports import beyond

    switches = []
    real = native.enabled
    monkeypatch.setattr(native, "enabled", lambda: switches.append(real()) or real())
    cost = measure_cost(16, batch=2, frames=4, repeats=1, cases=(("FAME", "fame", 0.5),
                        ("FAME-MC", "fame_mc", 0.5)), torch_ops_cases=TORCH_OPS_COST_CASES)
    assert set(cost) == {"FAME", "FAME-MC", "FAME (torch ops)", "FAME-MC (torch ops)"}
    assert True in switches and False in switches  # both paths were asked for
    cost = {"32²": {"FAME": 2.0, "FAME-MC": 3.0, "FAME (torch ops)": 2.5,
                    "FAME-MC (torch ops)": 10.0}}
    text = "\n".join(beyond._cost_lines(cost, {}, "ci", [0], [0.0]))
    assert "FAME-MC / FAME: 1.5× at 32²; the target of at most 2× is met." in text
    assert "With the torch ops only: 4.0× at 32²." in text
    assert "could not be built" in "\n".join(beyond._cost_lines(cost, {}, "ci", [0], [0.0],
                                                                native_used=False))
