"""``fame-bench reproduce`` under torchrun: two gloo ranks on CPU, rank 0 writes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Runs in each rank (started by torchrun): a one-table reproduction of a tiny MoCo row, a row
# that reuses its pretraining and a random-init row. Counts the pretrainings and report writes
# of this rank, and saves what it saw to <out>/rank<k>.json.
RANK_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path

    from fame_bench.reports import reproduce, runner
    from fame_bench.reports.definitions import RANDOM, TABLES, TableDef
    from fame_bench.reports.runner import run_jobs
    from fame_bench.train import experiment
    from fame_bench.train.experiment import ExperimentSpec

    runs, reports, out = map(Path, sys.argv[1:4])
    tiny = ExperimentSpec(
        "moco_tiny", "moco",
        pretrain_overrides=(("steps", 2), ("num_videos", 32), ("batch_size", 8),
                            ("queue_size", 64), ("ckpt_every", 2), ("log_every", 1),
                            ("progress", False), ("device", "cpu")),
        eval_overrides=(("max_videos", 16), ("finetune_steps", 0), ("linear_epochs", 2)))
    # the same pretraining, other evaluation settings: reused, trained by no rank
    other_eval = ExperimentSpec(
        "moco_tiny_other_eval", "moco", pretrain_overrides=tiny.pretrain_overrides,
        eval_overrides=(("max_videos", 16), ("finetune_steps", 0), ("linear_epochs", 3)))
    TABLES["tiny"] = TableDef("tiny", "Tiny", "three rows", (("random init", RANDOM),
                                                             ("MoCo", tiny),
                                                             ("MoCo, other eval", other_eval)))
    pretrained, reports_written, records = [], [], {}

    def counted_pretrain(cfg, real=experiment.pretrain):
        pretrained.append(cfg.out_dir)
        return real(cfg)

    def kept_records(jobs, *args, real=run_jobs, **kw):
        done = real(jobs, *args, **kw)
        records.update({"/".join(map(str, k)): v for k, v in done.items()})
        return done

    def counted_report(*args, real=reproduce.write_report, **kw):
        reports_written.append(args[0].name)
        return real(*args, **kw)

    experiment.pretrain = counted_pretrain
    runner.run_jobs = kept_records  # what run_jobs_on_ranks runs
    reproduce.write_report = counted_report
    code = reproduce.main(["tiny", "--preset", "ci", "--seeds", "0,", "--jobs", "2",
                           "--runs-dir", str(runs), "--reports-dir", str(reports)])
    (out / f"rank{os.environ['RANK']}.json").write_text(json.dumps(
        {"code": code, "pretrained": pretrained, "reports": reports_written,
         "records": records}))
""")


def _reproduce_on_two_ranks(tmp_path, out):
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(script), str(tmp_path / "runs"), str(tmp_path / "reports"), str(out)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)], done.stderr


@pytest.mark.slow
def test_reproduce_under_torchrun_writes_on_rank0_only(tmp_path):
    (main, other), stderr = _reproduce_on_two_ranks(tmp_path, tmp_path / "first")
    assert "--jobs 2 ignored under torchrun" in stderr
    assert main["code"] == other["code"] == 0
    # both ranks joined the one pretraining (the random row has none, the third row reuses
    # it on every rank: a rank training alone would wait forever), saw the same records
    assert len(main["pretrained"]) == len(other["pretrained"]) == 1
    assert main["pretrained"] == other["pretrained"]
    assert main["records"] == other["records"] and len(main["records"]) == 3
    moco = main["records"]["ci/moco_tiny/0"]
    assert moco["pretrain"]["steps"] == 2
    reused = main["records"]["ci/moco_tiny_other_eval/0"]["pretrain"]
    assert reused["reused_from"] and reused["loss_curve"] == moco["pretrain"]["loss_curve"]
    # one record per run, written once; reports by rank 0 only
    record_files = sorted((tmp_path / "runs").rglob("record.json"))
    assert len(record_files) == 3
    assert {json.loads(p.read_text())["spec_hash"] for p in record_files} == \
        {r["spec_hash"] for r in main["records"].values()}
    assert main["reports"] == ["tiny"] and other["reports"] == []
    assert (tmp_path / "reports" / "tiny.md").is_file()
    stamps = {p: p.stat().st_mtime_ns for p in record_files}

    # a second invocation is fully cached on both ranks: nothing trains, nothing rewritten
    (main2, other2), _ = _reproduce_on_two_ranks(tmp_path, tmp_path / "second")
    assert main2["pretrained"] == other2["pretrained"] == []
    assert main2["records"] == other2["records"] == main["records"]
    assert {p: p.stat().st_mtime_ns for p in record_files} == stamps
