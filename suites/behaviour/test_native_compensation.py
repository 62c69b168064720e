"""The native kernels of the motion-compensated seed (``augment/native.py``): the same seed, bit for
bit, as the torch ops they replace on the CPU; and how they are built, switched off, rebuilt and
done without."""

from __future__ import annotations

import importlib

import pytest
import torch

from fame_bench.augment import foreground_mask, native
from fame_bench.bench.beyond_masks import pan_configs
from fame_bench.data.synthetic import SyntheticConfig, make_split

fame_op = importlib.import_module("fame_bench.augment.fame")  # the module, not the function


@pytest.fixture
def built():
    if native.library() is None:
        pytest.skip("no C compiler here: the torch ops are used")
    return native.library()


@pytest.fixture
def fresh_library(monkeypatch, tmp_path):
    """``native.library`` built anew into an empty cache, the usual one restored afterwards."""
    monkeypatch.setenv("FAME_BENCH_CACHE", str(tmp_path))
    native.library.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    native.library.cache_clear()


def _torch_ops(fn, *args, **kwargs):
    with native.torch_ops():
        return fn(*args, **kwargs)


def _calls_native(monkeypatch, names=("compensated_motion",)) -> list:
    """Records the shape of the clips of each call of ``native``'s functions ``names``."""
    calls = []

    def spy(kernel):
        def recorded(clips):
            calls.append(clips.shape)
            return kernel(clips)
        return recorded

    for name in names:
        monkeypatch.setattr(native, name, spy(getattr(native, name)))
    return calls


@pytest.mark.parametrize("shape", [(4, 3, 16, 32, 32), (3, 3, 5, 17, 23), (2, 3, 4, 3, 3),
                                   (2, 3, 2, 1, 5), (1, 3, 6, 40, 64), (1, 3, 4, 96, 80)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_native_seed_is_the_torch_ops_seed_bit_for_bit(built, monkeypatch, shape, dtype):
    clips = torch.rand(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    if dtype == torch.uint8:
        clips = (clips * 255).round().to(torch.uint8)
    calls = _calls_native(monkeypatch)
    fast = fame_op._compensated_motion(clips)
    assert calls == [clips.shape]  # the native kernels ran
    slow = _torch_ops(fame_op._compensated_motion, clips)
    assert len(calls) == 1  # ... and here they did not
    assert torch.equal(fast, slow)
    # the statistics FAME-MC takes: with the mean frame, from one read of the clips
    fast_statistics = fame_op.accumulate_frames(clips, compensate=True)
    assert len(calls) == 1  # native.compensated_statistics, not compensated_motion
    slow_statistics = _torch_ops(fame_op.accumulate_frames, clips, compensate=True)
    for got, expected in zip(fast_statistics, slow_statistics, strict=True):
        assert torch.equal(got, expected)
    assert torch.equal(fast_statistics[0], fast)


@pytest.mark.parametrize("shape", [(4, 3, 16, 32, 32), (3, 3, 2, 17, 23), (1, 3, 5, 1, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_native_frame_statistics_are_the_torch_ops_ones_bit_for_bit(built, monkeypatch, shape,
                                                                    dtype):
    clips = torch.rand(*shape, generator=torch.Generator().manual_seed(sum(shape) + 1))
    if dtype == torch.uint8:
        clips = (clips * 255).round().to(torch.uint8)
    calls = _calls_native(monkeypatch, ("frame_statistics",))
    fast = fame_op.accumulate_frames(clips)
    assert calls  # the native kernel ran
    slow = _torch_ops(fame_op.accumulate_frames, clips)
    assert len(calls) == 1
    for got, expected in zip(fast, slow, strict=True):
        assert torch.equal(got, expected)


@pytest.mark.parametrize("variant", ["fame_mc", "seed_mc"])
@pytest.mark.parametrize("downsample", [1, 2])
def test_native_masks_on_panned_clips_are_the_torch_ops_masks(built, monkeypatch, variant,
                                                              downsample):
    speeds = pan_configs(SyntheticConfig.preset("ci"), speeds=(0.0, 2.0))
    for cfg in speeds.values():
        clips = make_split(cfg, "test_biased", seed=0).videos[:24]
        calls = _calls_native(monkeypatch, ("compensated_motion", "compensated_statistics"))
        fast = foreground_mask(clips, 0.5, variant=variant, mc_downsample=downsample)
        assert calls
        slow = _torch_ops(foreground_mask, clips, 0.5, variant=variant,
                          mc_downsample=downsample)
        assert torch.equal(fast, slow)


def test_switched_off_or_traced_the_torch_ops_run(built, monkeypatch):
    clips = torch.rand(2, 3, 4, 8, 8)
    assert native.applies(clips)
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    assert not native.applies(clips)
    monkeypatch.delenv(native.ENV_SWITCH)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    assert not native.applies(clips)  # torch.compile traces the torch ops, not raw pointers


def test_no_compiler_falls_back_to_the_torch_ops_with_one_warning(fresh_library, monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-here")
    clips = torch.rand(2, 3, 5, 12, 12, generator=torch.Generator().manual_seed(1))
    with pytest.warns(RuntimeWarning, match="native motion compensation unavailable"):
        assert not native.applies(clips)
    assert not native.applies(clips)  # decided once per process: no second warning or build
    fallback = foreground_mask(clips, 0.5, variant="fame_mc")
    reference = _torch_ops(foreground_mask, clips, 0.5, variant="fame_mc")
    assert torch.equal(fallback, reference)
    assert not any(fresh_library.rglob("*.so"))


def test_a_damaged_library_in_the_cache_is_rebuilt_not_used(built, fresh_library, monkeypatch):
    library_file = native._build()  # built, not loaded (a loaded file must not be written)
    assert library_file.parent.parent == fresh_library
    library_file.write_bytes(b"not a shared library")
    clips = torch.rand(2, 3, 5, 12, 12, generator=torch.Generator().manual_seed(2))
    assert native.applies(clips)
    assert library_file.read_bytes()[:4] == b"\x7fELF"
    slow = _torch_ops(fame_op._compensated_motion, clips)
    assert torch.equal(fame_op._compensated_motion(clips), slow)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e30])
def test_bad_values_reach_the_range_error_through_the_kernels(built, bad):
    # a NaN in a later frame once made the Lucas-Kanade step NaN and the kernel read out of
    # bounds (a segfault) before the range check could refuse the clips
    clips = torch.rand(2, 3, 6, 32, 32, generator=torch.Generator().manual_seed(4))
    clips[0, 0, 3, 5, 5] = bad
    clips[1, :, 4] = bad
    for variant in ("fame_mc", "seed_mc", "fame"):
        with pytest.raises(ValueError, match=r"in \[0, 1\]"):  # NaN/inf, or out of range
            foreground_mask(clips, 0.5, variant=variant)
    motion, mean_frame = fame_op.accumulate_frames(clips, compensate=True)  # unchecked, no crash
    assert motion.shape == (2, 32, 32) and mean_frame.shape == (2, 3, 32, 32)
