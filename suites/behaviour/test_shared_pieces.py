"""The pieces every layer shares: atomic writes, device and thread settings, the git commit."""

from __future__ import annotations

import re

import pytest
import torch

from fame_bench.atomic import write_atomic
from fame_bench.models.backbones import seeded_backbone
from fame_bench.provenance import git_commit, git_state
from fame_bench.runtime import cpu_threads, loss_scaler, resolve_device


def test_write_atomic_replaces_whole_or_leaves_the_old_file(tmp_path):
    path = tmp_path / "record.json"
    write_atomic(path, "old")
    write_atomic(path, b"new bytes")
    assert path.read_bytes() == b"new bytes"
    write_atomic(path, lambda f: torch.save({"x": torch.ones(2)}, f))
    assert torch.equal(torch.load(path)["x"], torch.ones(2))

    def fails(f):
        f.write(b"half")
        raise RuntimeError("killed mid-write")

    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="mid-write"):
        write_atomic(path, fails)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "record.json"]


def test_devices_and_threads():
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda:1")
    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    with cpu_threads(0):
        assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before


def test_one_loss_scaler_rule_for_pretraining_and_finetune():
    """Loss scaling only for float16 autocast on CUDA: never on the CPU, never for bf16/none."""
    cpu = torch.device("cpu")
    assert not any(loss_scaler(cpu, name).is_enabled() for name in ("bf16", "fp16", "none"))
    if torch.cuda.is_available():
        cuda = torch.device("cuda")
        assert loss_scaler(cuda, "fp16").is_enabled()
        assert not loss_scaler(cuda, "none").is_enabled()


def test_git_commit_of_the_checkout_and_outside_git(tmp_path):
    commit = git_commit()
    assert commit == "unknown" or re.fullmatch(r"[0-9a-f]{12}", commit)
    assert git_commit(tmp_path) == "unknown" and git_state(tmp_path) == ("unknown", None)


def test_seeded_backbone_is_reproducible_and_keeps_the_global_rng():
    state = torch.random.get_rng_state()
    a = seeded_backbone("tiny_r2plus1d", 3)
    b = seeded_backbone("tiny_r2plus1d", 3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


def test_one_cosine_schedule_for_pretraining_and_evaluation():
    from fame_bench.evaluate.linear import lr_at
    from fame_bench.train.schedule import cosine_lr

    # warm-up 2 of 10 steps: 1/2, 2/2 of the base, then half a cosine over the other 8
    assert [cosine_lr(s, 10, 1.0, 2) for s in (0, 1, 2, 6)] == [0.5, 1.0, 1.0, 0.5]
    assert cosine_lr(10, 10, 1.0, 2) == 0.0
    assert all(lr_at(s, 7, 0.3, "cosine", ()) == cosine_lr(s, 7, 0.3) for s in range(8))
    assert lr_at(5, 10, 1.0, "step", (4, 8)) == pytest.approx(0.1)


def test_one_list_of_names_for_the_cli_and_the_configs():
    from fame_bench import names
    from fame_bench.cli_help import PRESET_MEANING
    from fame_bench.data.synthetic import DATASET_VARIANTS, SyntheticConfig
    from fame_bench.evaluate.config import EvalConfig
    from fame_bench.train.config import PretrainConfig

    assert tuple(PRESET_MEANING) == names.PRESETS
    for preset in names.PRESETS:  # every listed preset is one each config knows
        PretrainConfig.preset(preset)
        SyntheticConfig.preset(preset)
        EvalConfig.preset(preset)
    assert set(names.SYNTHETIC_DATASETS.values()) == set(DATASET_VARIANTS)
    with pytest.raises(ValueError, match="method must be one of"):
        PretrainConfig.preset("ci", method="random")  # a table row's method, not a config's
