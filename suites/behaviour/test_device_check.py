"""The GPU device check (issue #15) on the CPU: it skips cleanly without CUDA, and its dry run
goes through every stage at tiny sizes, splicing GPU rows into copies of the reports."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from fame_bench.bench import augmentation_cost, device_check
from fame_bench.bench.report_sections import (
    BEGIN,
    END,
    NOT_MEASURED,
    carry_over_gpu_block,
    find_gpu_block,
    gpu_block,
    replace_gpu_block,
)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_without_cuda_it_says_so_in_one_line_and_touches_nothing(tmp_path, capsys):
    assert device_check.main(["--reports-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == device_check.NO_DEVICE + "\n"
    assert list(tmp_path.iterdir()) == []


def test_dry_run_measures_every_stage_and_splices_the_gpu_rows(tmp_path):
    cpu_rows = "# Report\n\n| CPU row | 1.27 |\n\n## GPU\n\n" + gpu_block([NOT_MEASURED]) + "\n"
    for name in device_check.REPORTS:
        (tmp_path / name).write_text(cpu_rows)
    summary = device_check.run(device_check.smoke_plan(), tmp_path, budget_s=600,
                               stages=("op", "train", "reports"))
    saved = json.loads((tmp_path / device_check.SUMMARY).read_text())
    assert saved["environment"]["torch"] == torch.__version__
    op, train = saved["stages"]["op"], saved["stages"]["train"]
    assert all(e["status"] == "measured" for e in op["entries"]), op["entries"]
    compiled = [e for e in op["entries"] if e["how"] != "eager"]
    assert compiled and all(e["masks_equal"] and e["graphs"] >= 1 for e in compiled)
    kinds = {(e["case"]["variant"], e["case"]["dtype"]) for e in op["entries"]}
    assert len(kinds) == 12  # every variant on float32, bfloat16 and uint8 input
    assert op["profile"]["count"] > 0
    names = {r["name"] for r in train["rows"] if r["status"] == "measured"}
    assert {"moco", "moco+fame", "moco+be", "vthcl"} <= names
    assert device_check.moco_step_ms(train)[(4, 8)] > 0
    for name in device_check.REPORTS:
        text = (tmp_path / name).read_text()
        assert "| CPU row | 1.27 |" in text and NOT_MEASURED not in text
        block = find_gpu_block(text)
        assert "dry run on the CPU" in block and "Verdicts:" in block
    cost = (tmp_path / "augmentation_cost.md").read_text()
    assert "| fame | uint8 | 4 | 8 | eager |" in cost and "masks equal" in cost
    assert summary["stages"]["reports"]["written"]
    # the reports can be written again from the saved summary alone
    again = tmp_path / "again"
    again.mkdir()
    assert device_check.main(["--render-from", str(tmp_path / device_check.SUMMARY),
                              "--reports-dir", str(again)]) == 0
    assert (again / "augmentation_cost.md").read_text().endswith(
        find_gpu_block(cost) + "\n")
    assert device_check.main(["--render-from", str(tmp_path / "augmentation_cost.md")]) == 2
    # a later re-measurement of some cases, and the tree's commit, rendered beside the run
    recheck = tmp_path / "recheck.json"
    recheck.write_text(json.dumps(compiled[:1]))
    assert device_check.main(["--render-from", str(tmp_path / device_check.SUMMARY),
                              "--reports-dir", str(again), "--tree-commit", "abc123",
                              "--recheck", str(recheck), "--recheck-commit", "def456"]) == 0
    block = find_gpu_block((again / "augmentation_cost.md").read_text())
    assert "the tree of commit abc123" in block and "commit def456" in block
    assert "masks equal to the eager ones in 1 of 1 re-measured cases" in block
    saved_again = json.loads((again / device_check.SUMMARY).read_text())
    assert saved_again["recheck"]["entries"] == compiled[:1]
    assert saved_again["environment"]["commit"] == saved["environment"]["commit"]
    recheck.write_text(json.dumps({"not": "a list"}))
    assert device_check.main(["--render-from", str(tmp_path / device_check.SUMMARY),
                              "--reports-dir", str(again), "--recheck", str(recheck),
                              "--recheck-commit", "def456"]) == 2
    with pytest.raises(SystemExit):
        device_check.main(["--render-from", str(tmp_path / device_check.SUMMARY),
                           "--recheck", str(recheck)])


def test_a_case_that_does_not_fit_the_budget_is_skipped_not_run():
    cases = augmentation_cost.device_cases([(2, 8)], frames=2)[:1]
    entries = augmentation_cost.measure_device("cpu", cases, deadline=time.monotonic() + 1.0,
                                               repeats=1, warmup=1)
    assert entries[0]["status"] == "skipped" and "time budget" in entries[0]["note"]


def test_cuda_tests_stage_runs_pytest_and_reads_each_outcome():
    result = device_check.run_cuda_tests(["suites/behaviour/test_augment_fame.py"], 120)
    assert result["status"] == "ran", result["tail"]
    names = [t["test"] for t in result["tests"]]
    assert any("test_cuda_matches_cpu" in n for n in names)
    if not torch.cuda.is_available():
        assert result["counts"] == {"skipped": len(names)}
    assert "suites/behaviour/test_augment_fame.py" in device_check.gpu_test_files()


def test_gpu_block_is_replaced_and_carried_over(tmp_path):
    measured = gpu_block(["| fame | float32 | 8 | 112 | 0.1 |"])
    report = tmp_path / "r.md"
    report.write_text("# R\n\n" + measured + "\n")
    fresh_cpu_render = "# R (new CPU rows)\n\n" + gpu_block([NOT_MEASURED]) + "\n"
    assert find_gpu_block(carry_over_gpu_block(fresh_cpu_render, report)) == measured
    assert carry_over_gpu_block(fresh_cpu_render, tmp_path / "absent.md") == fresh_cpu_render
    legacy = replace_gpu_block("# Old report\n", measured)
    assert legacy.index("## GPU") < legacy.index(BEGIN) < legacy.index(END)
    assert Path(report).read_text().count(BEGIN) == 1
