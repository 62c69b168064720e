"""Tiny runs shared by the fault-injection tests: seconds on one CPU thread."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from fame_bench.cli import main
from fame_bench.train import loop
from fame_bench.train.checkpoint import CHECKPOINT
from fame_bench.train.experiment import ExperimentSpec

#: ``fame-bench pretrain`` options of a 4-step MoCo + FAME run (checkpoints at steps 2 and 4).
PRETRAIN_ARGS = ["--preset", "ci", "--method", "moco", "--augment", "fame", "--num-videos", "8",
                 "--batch-size", "4", "--queue-size", "16", "--clip-len", "4", "--steps", "4",
                 "--ckpt-every", "2", "--log-every", "1", "--progress", "false", "--device", "cpu",
                 "--seed", "3"]

TINY_PRETRAIN = (("steps", 2), ("num_videos", 8), ("batch_size", 4), ("queue_size", 16),
                 ("clip_len", 4), ("ckpt_every", 2), ("log_every", 1), ("progress", False),
                 ("device", "cpu"))
TINY_SPEC = ExperimentSpec("tiny_fame", "moco", augment="fame", pretrain_overrides=TINY_PRETRAIN)


def weight_evaluation(backbone, data_cfg, eval_cfg, seed):
    """Stands in for the synthetic evaluation (minutes) with numbers that are a function of every
    trained weight: two runs agree only if their weights agree bit for bit."""
    total = sum(float(p.double().sum()) for p in backbone.state_dict().values()
                if p.is_floating_point())
    return {"linear": {"motion_probe_swapped": total, "test_biased": total / 7.0}}


def flip_tensor_byte(path: Path) -> None:
    """Flip one byte in the middle of the largest tensor stored in the ``torch.save`` archive
    (its zip headers stay intact: only the CRC can tell)."""
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename),
                   key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little")
    extra_len = int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + info.file_size // 2] ^= 0x40
    path.write_bytes(bytes(raw))


def checkpoint_of(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINT


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def one_line_error(capsys) -> str:
    """What ``main`` printed on stderr, checked to be one ``fame-bench: error:`` line."""
    err = capsys.readouterr().err
    assert err.startswith("fame-bench: error: ") and err.count("\n") == 1, err
    return err


class _Killed(Exception):
    pass


def interrupt_after_first_checkpoint(monkeypatch, out: Path) -> None:
    """Run the tiny pretraining until its first checkpoint (step 2), then stop it dead."""
    real = loop.save_checkpoint

    def save_then_die(run_dir, state):
        real(run_dir, state)
        raise _Killed

    with monkeypatch.context() as patch:
        patch.setattr(loop, "save_checkpoint", save_then_die)
        with pytest.raises(_Killed):
            main(["pretrain", *PRETRAIN_ARGS, "--out", str(out)])
