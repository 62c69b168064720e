"""Real datasets from the command line: ``linear|finetune|retrieval --dataset D --data-root R
--fold F`` into ``eval.json``, and the finetune's checkpoint/resume (fake dataset layouts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from fame_bench.cli import main
from fame_bench.evaluate import finetune_checkpoint, run_eval
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.finetune import DatasetBatches, TensorBatches, train_classifier
from fame_bench.evaluate.finetune_checkpoint import FinetuneCheckpoint

fake = pytest.importorskip("fame_bench.data.fake_layouts")

#: The smallest evaluation that still runs every part: 4-frame 32² clips, a few steps.
TINY = ["--preset", "ci", "--crop-size", "32", "--clip-len", "4", "--linear-epochs", "2",
        "--seed", "0"]


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("datasets")
    return {"ucf101": fake.make_ucf101(base / "ucf"), "diving48": fake.make_diving48(base / "div")}


def _eval_json(out: Path) -> dict:
    return json.loads((out / "eval.json").read_text())


def test_fold_all_per_dataset_roots_and_entries_kept_apart(roots, tmp_path, capsys):
    out = tmp_path / "out"
    both = ["--data-root", f"ucf101={roots['ucf101']}", "--data-root",
            f"diving48={roots['diving48']}"]
    assert main(["linear", "--random", "--dataset", "ucf101", *both, "--fold", "all",
                 "--out", str(out), *TINY]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["folds"] == [1, 2, 3] and set(printed["results"]) == {
        "fold1", "fold2", "fold3", "mean"}
    ucf = _eval_json(out)["results"]["linear"]["ucf101"]
    for k in (1, 2, 3):
        entry = ucf[f"fold{k}"]
        assert entry["fold"] == k and entry["data_root"] == str(roots["ucf101"].resolve())
        assert entry["videos"]["scored"] == {"train": 2, "test": 2}
        assert entry["eval"]["linear_epochs"] == 2 and entry["source"] == {
            "random": "tiny_r2plus1d"}
    mean = ucf["mean"]
    assert mean["folds"] == [1, 2, 3]
    assert mean["metrics"]["top1"] == pytest.approx(
        sum(ucf[f"fold{k}"]["metrics"]["top1"] for k in (1, 2, 3)) / 3)
    # another protocol and dataset into the same eval.json: the ucf101 entries stay
    assert main(["retrieval", "--random", "--dataset", "diving48", *both, "--out", str(out),
                 "--retrieval-ks", "1,2", *TINY]) == 0
    results = _eval_json(out)["results"]
    assert results["linear"]["ucf101"] == ucf
    assert set(results["retrieval"]["diving48"]["official"]["metrics"]) == {"R@1", "R@2"}
    assert results["retrieval"]["diving48"]["official"]["fold"] is None


def test_data_roots_and_folds_are_checked():
    assert run_eval.data_root_for(["/a"], "hmdb51") == "/a"
    assert run_eval.data_root_for(["ucf101=/a", "diving48=/b=c"], "diving48") == "/b=c"
    assert run_eval.data_root_for(["./x=y"], "ucf101") == "./x=y"  # a path with "="
    for values, what in ((["ucf=/a"], "not a dataset"), (["/a", "/b"], "two roots"),
                         (["diving48=/b"], "no data root for ucf101"),
                         (["ucf101="], "expected PATH")):
        with pytest.raises(ValueError, match=what):
            run_eval.data_root_for(values, "ucf101")
    assert run_eval.folds_for("hmdb51", None) == [1]
    assert run_eval.folds_for("ucf101", "all") == [1, 2, 3]
    assert run_eval.folds_for("k400", None) == [None]
    with pytest.raises(ValueError, match="k400 has one train/test split"):
        run_eval.folds_for("k400", "1")


@pytest.mark.parametrize("argv, says", [
    (["--dataset", "diving48", "--data-root", "/nowhere", "--fold", "all"], "--fold applies"),
    (["--dataset", "ucf101", "--data-root", "/nowhere"], "UCF101 root"),
    (["--dataset", "ucf101"], "no data root for ucf101"),
    (["--data-root", "/x"], "--data-root apply to the real datasets"),
])
def test_real_dataset_user_errors_are_one_line(argv, says, capsys):
    assert main(["linear", "--random", "--preset", "ci", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fame-bench: error: ") and err.count("\n") == 1 and says in err, err


def test_a_run_directory_that_is_not_there_is_named(roots, tmp_path, capsys):
    assert main(["linear", "--run", str(tmp_path / "nope"), "--dataset", "ucf101",
                 "--data-root", str(roots["ucf101"]), *TINY]) == 2
    assert "no such run directory" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()


def test_a_pretrained_run_gets_eval_json_in_its_directory(roots, tmp_path, capsys):
    from suites.faults.tiny import PRETRAIN_ARGS

    run = tmp_path / "run"
    assert main(["pretrain", *PRETRAIN_ARGS, "--steps", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["linear", "--run", str(run), "--dataset", "ucf101", "--data-root",
                 str(roots["ucf101"]), "--fold", "2", *TINY]) == 0
    entry = _eval_json(run)["results"]["linear"]["ucf101"]["fold2"]
    assert entry["source"] == {"run": str(run)} and 0.0 <= entry["metrics"]["top1"] <= 1.0
    assert set(_eval_json(run)["results"]["linear"]["ucf101"]) == {"fold2"}


def test_an_unreadable_eval_json_is_named_before_the_work_and_kept(roots, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "eval.json").write_text("{ half")
    assert main(["linear", "--random", "--dataset", "ucf101", "--data-root",
                 str(roots["ucf101"]), "--out", str(out), *TINY]) == 2
    assert "eval.json is not valid JSON" in capsys.readouterr().err
    assert (out / "eval.json").read_text() == "{ half"


# --------------------------------------------------------------------- finetune checkpoints


class _Killed(Exception):
    pass


def _kill_after(monkeypatch, step: int) -> None:
    """The finetune saves its checkpoint at ``step``, then dies."""
    real = FinetuneCheckpoint.save

    def save_then_die(self, state):
        path = real(self, state)
        if state["step"] == step:
            raise _Killed
        return path

    monkeypatch.setattr(finetune_checkpoint.FinetuneCheckpoint, "save", save_then_die)


class _TinyNet(nn.Module):
    out_dim = 6

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 6, (2, 3, 3))
        self.bn = nn.BatchNorm3d(6)

    def forward(self, x):
        return self.bn(self.conv(x)).mean(dim=(2, 3, 4))


def _finetune(sampler_of, checkpoint=None, steps=6):
    cfg = EvalConfig.preset("ci", finetune_steps=steps, finetune_batch_size=3, clip_len=3,
                            finetune_dropout=0.3, finetune_color_jitter=0.2)
    torch.manual_seed(0)
    backbone = _TinyNet()
    generator = torch.Generator().manual_seed(5)
    model, head = train_classifier(backbone, 4, sampler_of(cfg, generator), cfg, generator,
                                   torch.device("cpu"), checkpoint)
    return {**model.state_dict(), **{f"head.{k}": v for k, v in head.state_dict().items()}}


def _tensor_sampler(cfg, generator):
    videos = torch.randint(0, 256, (7, 3, 6, 8, 8), generator=torch.Generator().manual_seed(1),
                           dtype=torch.uint8)
    return TensorBatches(videos, torch.arange(7) % 4, cfg)


def _dataset_sampler(cfg, generator):
    clips = torch.randint(0, 256, (7, 2, 3, 3, 8, 8), generator=torch.Generator().manual_seed(1),
                          dtype=torch.uint8)
    items = [{"clips": clips[i], "label": i % 4} for i in range(7)]
    items[2] = None  # an undecodable video
    return DatasetBatches(items, cfg, generator)


@pytest.mark.parametrize("sampler_of", [_tensor_sampler, _dataset_sampler])
def test_a_resumed_finetune_ends_bit_identical(sampler_of, tmp_path, monkeypatch):
    whole = _finetune(sampler_of)
    checkpoint = FinetuneCheckpoint(tmp_path, "same finetune", every=2)
    with monkeypatch.context() as patch:
        _kill_after(patch, 4)
        with pytest.raises(_Killed):
            _finetune(sampler_of, checkpoint)
    resumed_checkpoint = FinetuneCheckpoint(tmp_path, "same finetune", every=2)
    resumed = _finetune(sampler_of, resumed_checkpoint)
    assert resumed_checkpoint.resumed_from == 4
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
    with pytest.raises(ValueError, match="another backbone, configuration or dataset"):
        FinetuneCheckpoint(tmp_path, "other finetune").load()


def test_finetune_from_the_cli_resumes_after_a_kill(roots, tmp_path, monkeypatch, capsys):
    argv = ["finetune", "--random", "--dataset", "ucf101", "--data-root", str(roots["ucf101"]),
            *TINY, "--finetune-steps", "4", "--finetune-batch-size", "2", "--ckpt-every", "2"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    whole = _eval_json(tmp_path / "whole")["results"]["finetune"]["ucf101"]["fold1"]
    assert whole["resumed_from_step"] == 0
    with monkeypatch.context() as patch:
        _kill_after(patch, 2)
        with pytest.raises(_Killed):
            main([*argv, "--out", str(tmp_path / "cut")])
    assert not (tmp_path / "cut" / "eval.json").exists()
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "cut")]) == 0
    assert "finetune resumed at step 2 of 4" in capsys.readouterr().err
    cut = _eval_json(tmp_path / "cut")["results"]["finetune"]["ucf101"]["fold1"]
    assert cut["resumed_from_step"] == 2 and cut["metrics"] == whole["metrics"]
    assert cut["fingerprint"] == whole["fingerprint"]
    # done: the checkpoint is gone, a rerun starts afresh
    assert not list((tmp_path / "cut" / "eval").glob("*/checkpoint.pt"))
