"""The ``fame-bench`` entry point: evaluation subcommands and delegation to reproduce."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fame_bench.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_retrieval_of_a_random_backbone(capsys):
    assert main(["retrieval", "--random", "--preset", "ci", "--seed", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"R@1", "R@5", "R@10", "R@20", "R@50"}
    assert 0.0 <= out["R@1"] <= out["R@50"] <= 1.0


def test_evaluation_needs_a_run_or_random(capsys):
    assert main(["linear", "--preset", "ci"]) == 2
    assert "--run" in capsys.readouterr().err


def test_module_entry_point_and_reproduce_delegation():
    done = subprocess.run([sys.executable, "-m", "fame_bench.cli", "reproduce", "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "table" in done.stdout
    done = subprocess.run([sys.executable, "-m", "fame_bench.cli", "pretrain", "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--fame-beta" in done.stdout and "--out" in done.stdout


# --- a CLI that explains itself -----------------------------------------------------------------


@pytest.fixture
def help_text(capsys):
    def read(*argv: str) -> str:
        from fame_bench.cli import build_parser

        with pytest.raises(SystemExit) as done:
            build_parser().parse_args([*argv, "--help"])
        assert done.value.code == 0
        return " ".join(capsys.readouterr().out.split())  # argparse's line wrapping undone

    return read


def test_every_config_field_has_a_meaning():
    import dataclasses

    from fame_bench.cli_help import NOTES, help_for
    from fame_bench.evaluate.config import EvalConfig
    from fame_bench.train.config import PretrainConfig

    for cls in (PretrainConfig, EvalConfig):
        names = {f.name for f in dataclasses.fields(cls)}
        missing = [n for n in names if not help_for(cls, n)]
        assert missing == [], f"{cls.__name__} fields without a comment or a note: {missing}"
        assert set(NOTES[cls.__name__]) <= names, "a note for a field that no longer exists"


def test_pretrain_help_shows_meaning_choices_and_each_presets_default(help_text):
    import re

    from fame_bench.cli_help import preset_configs
    from fame_bench.names import PRESETS
    from fame_bench.train.config import PretrainConfig

    text = help_text("pretrain")
    assert "--fame-beta X FAME's foreground ratio β" in text
    assert "--fame-on {first,queries,both} where FAME/BE enter MoCo (docs/moco.md)" in text
    assert "--method {moco,vthcl,supervised}" in text and "--out-dir TEXT, --out TEXT" in text
    # each preset's own value, whatever it is tuned to, named with its preset(s)
    batch = re.search(r"--batch-size N .*?\(default: ([^)]*\)(?:, [^)]*\))*)", text).group(1)
    for name, cfg in preset_configs(PretrainConfig, PRESETS).items():
        assert re.search(rf"\b{cfg.batch_size} \([^)]*\b{name}\b", batch), (name, batch)
    assert "(default: cpu, for every subcommand)" in text
    for heading in ("data:", "MoCo v2:", "VTHCL:", "optimisation:", "run:"):
        assert heading in text, heading


def test_evaluation_help_lists_every_evalconfig_field(help_text):
    import dataclasses

    from fame_bench.evaluate.config import EvalConfig

    text = help_text("linear")
    for f in dataclasses.fields(EvalConfig):
        assert f"--{f.name.replace('_', '-')} " in text, f.name
    assert "--linear-schedule {cosine,step} linear probe learning-rate schedule" in text


def test_field_help_reads_trailing_comments_blocks_and_group_headings():
    from dataclasses import dataclass

    from fame_bench.cli_help import field_help

    @dataclass
    class Demo:
        # optimisation
        steps: int = 1  # how many steps; "#" inside a comment is kept
        # the learning rate, over
        # two lines
        lr: float = 0.1
        plain: int = 0
        text: str = "# not a comment"

    found = field_help(Demo)
    assert found["steps"].text == 'how many steps; "#" inside a comment is kept'
    assert found["steps"].group == "optimisation"
    assert found["lr"].text == "the learning rate, over two lines"
    assert found["plain"].text == "" and found["text"].text == ""
    assert found["text"].group == "optimisation"


def test_version_and_one_default_preset(capsys):
    import re

    import fame_bench
    from fame_bench.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
    assert capsys.readouterr().out.strip() == f"fame-bench {fame_bench.__version__}"
    declared = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert declared.group(1) == fame_bench.__version__
    from fame_bench.cli_help import DEFAULT_PRESET
    from fame_bench.reports.reproduce import main as reproduce_main

    parser = build_parser()
    for command in ("pretrain", "linear", "finetune", "retrieval"):
        assert parser.parse_args([command]).preset == DEFAULT_PRESET == "cpu"
    with pytest.raises(SystemExit):
        reproduce_main(["--help"])
    assert "(default: cpu, for every subcommand)" in " ".join(capsys.readouterr().out.split())


def test_evaluation_options_override_the_preset_and_are_checked(capsys):
    from fame_bench.cli import build_parser, eval_config_from_args

    parser = build_parser()
    cfg = eval_config_from_args(parser.parse_args(
        ["linear", "--preset", "ci", "--linear-epochs", "7", "--retrieval-ks", "1,3"]))
    assert cfg.linear_epochs == 7 and cfg.retrieval_ks == (1, 3) and cfg.finetune_steps == 0
    tuned = eval_config_from_args(parser.parse_args(["finetune", "--preset", "ci"]))
    assert tuned.finetune_steps > 0
    assert main(["linear", "--random", "--preset", "ci", "--linear-lr", "-1"]) == 2
    assert "linear_lr" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["linear", "--linear-schedule", "linear"])  # not a choice


def test_options_take_numbers_or_words_and_json_pairs():
    from fame_bench.cli import build_parser, config_from_args

    parser = build_parser()
    cfg = config_from_args(parser.parse_args(
        ["pretrain", "--preset", "ci", "--augment", "fame", "--fame-beta", "auto",
         "--data-overrides", '[["camera_motion", 2.0]]', "--jitter", "0.1,0.2,0.3,0"]))
    assert cfg.fame_beta == "auto" and cfg.data_overrides == (("camera_motion", 2.0),)
    assert cfg.jitter == (0.1, 0.2, 0.3, 0.0)
    assert parser.parse_args(["pretrain", "--fame-beta", "0.3"]).fame_beta == 0.3
    with pytest.raises(SystemExit):
        parser.parse_args(["pretrain", "--steps", "many"])


@pytest.mark.parametrize("text, seeds", [("3", [0, 1, 2]), ("0,2,5", [0, 2, 5]), ("5,", [5])])
def test_seeds_are_a_count_or_a_list(text, seeds):
    from pathlib import Path

    from fame_bench.reports.commands import (
        DEFAULT_SEEDS,
        parse_seeds,
        regeneration_command,
        seeds_argument,
    )

    assert parse_seeds(text) == seeds
    assert parse_seeds(seeds_argument(seeds)) == seeds
    command = regeneration_command("table1", "cpu", seeds, Path("reports"))
    assert command.endswith(f"--seeds {seeds_argument(seeds)}")
    assert regeneration_command("table1", "cpu", list(range(DEFAULT_SEEDS)),
                                Path("reports")).endswith("--preset cpu")


@pytest.mark.parametrize("text", ["0", "-1,2", "1,1", "a", ","])
def test_bad_seeds_are_refused(text):
    import argparse

    from fame_bench.reports.commands import parse_seeds

    with pytest.raises(argparse.ArgumentTypeError, match="comma list"):
        parse_seeds(text)


def test_long_stages_log_progress_with_an_eta(caplog):
    import logging

    import torch

    from fame_bench.evaluate.config import EvalConfig
    from fame_bench.evaluate.linear import linear_probe
    from fame_bench.progress import StageProgress

    with caplog.at_level(logging.INFO, logger="fame_bench.progress"):
        with StageProgress(4, "demo", min_interval_s=0.0) as progress:
            for _ in range(4):
                progress.update()
        feats = torch.randn(20, 6, generator=torch.Generator().manual_seed(0))
        labels = torch.arange(20) % 2
        linear_probe(feats, labels, {"t": (feats, labels)},
                     EvalConfig(linear_epochs=3, linear_batch_size=0), seed=0)
    lines = [r.getMessage() for r in caplog.records if r.name == "fame_bench.progress"]
    assert len([line for line in lines if line.startswith("demo: ")]) == 4
    assert lines[0].startswith("demo: 1/4 steps (25 %)")
    assert "ETA" in lines[0] and lines[3].endswith("done")
    assert any(line.startswith("linear probe: 3/3 epochs (100 %)") for line in lines)
