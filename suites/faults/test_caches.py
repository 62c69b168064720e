"""Fault injection, caches (issue 11, case 11): the synthetic cache lives in one per-user place,
and splits a machine cannot hold are refused up front with their size."""

from __future__ import annotations

from pathlib import Path

import pytest

from fame_bench.cli import main
from fame_bench.data import synthetic
from fame_bench.data.synthetic import cache
from suites.faults.tiny import one_line_error


def test_case11_default_cache_is_per_user_not_per_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAME_BENCH_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache._default_cache_dir() == Path.home() / ".cache" / "fame_bench"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache._default_cache_dir() == tmp_path / "xdg" / "fame_bench"
    monkeypatch.setenv("FAME_BENCH_CACHE", str(tmp_path / "mine"))
    assert cache._default_cache_dir() == tmp_path / "mine"


def test_case11_paper_evaluation_refused_where_memory_cannot_hold_it(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.setenv("FAME_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "available_memory_bytes", lambda: 8_000_000_000)
    assert main(["linear", "--random", "--preset", "paper"]) == 2
    err = one_line_error(capsys)
    # 16,000 clips of 16 x 112 x 112: 3 uint8 channels and a bool mask each
    assert ("the synthetic 'paper' split(s) train, train_unbiased, test_biased, test_swapped, "
            "test_background_only take 12.8 GB in memory; this machine has 8.0 GB available"
            ) in err
    assert not (tmp_path / "cache").exists()


def test_case11_cache_limit_bounds_what_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("FAME_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAME_BENCH_CACHE_LIMIT_GB", "0.01")
    cfg = synthetic.SyntheticConfig.preset("ci")
    expected = synthetic.split_bytes(cfg, "pretrain") / 1e9
    with pytest.raises(synthetic.NoRoomError,
                       match=rf"take {expected:.1f} GB .* over FAME_BENCH_CACHE_LIMIT_GB=0.01"):
        synthetic.make_split(cfg, "pretrain")
    assert not (tmp_path / "cache").exists()
    small = synthetic.SyntheticConfig.preset("ci", n_test=8)  # 8 clips: well under the limit
    assert len(synthetic.make_split(small, "test_biased")) == 8
    assert len(list((tmp_path / "cache").glob("test_biased-*.npz"))) == 1
