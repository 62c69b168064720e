"""Reports: statistics, verdicts, Markdown and figures, on small hand-built run records.

These records exercise the formatter only; no report is ever built from hand-made numbers.
"""

from __future__ import annotations

import math

import pytest

from fame_bench.reports import paper, tables, verdicts
from fame_bench.reports.definitions import TABLES
from fame_bench.reports.paper import PaperClaim
from fame_bench.reports.render import write_index, write_report
from fame_bench.reports.reproduce import main
from fame_bench.reports.stats import group_by_name, stat
from fame_bench.reports.verdicts import check


def _method(name: str) -> str:
    for prefix, method in (("random", "random"), ("oracle", "supervised"),
                           ("supervised", "supervised"), ("vthcl", "vthcl")):
        if name.startswith(prefix):
            return method
    return "moco"


def fake_record(name: str, seed: int, motion: float, gap: float = 0.3,
                finetune: bool = False, pretrain: bool = True, loss_end: float = 5.0) -> dict:
    """A run record shaped like ``run_experiment``'s; the method follows the name (``random``,
    ``oracle`` (supervised on train_unbiased), ``supervised``, ``vthcl*``, else MoCo)."""
    method = _method(name) if pretrain else "random"
    linear = {"test_biased": 0.8, "test_swapped": 0.8 - gap, "test_background_only": 0.7,
              "motion_probe_swapped": motion, "bias_gap": gap, "background_reliance": 0.6}
    evaluation = {"linear": linear}
    if finetune:
        evaluation["finetune"] = dict(linear)
        evaluation["retrieval"] = {"R@1": 0.3, "R@5": 0.5, "R@10": 0.6, "R@20": 0.7,
                                   "R@50": 0.9}
    return {
        "name": name, "method": method,
        "augment": {"kind": "fame" if "fame" in name else "none", "beta": 0.5,
                    "variant": "fame", "fame_on": "first"},
        "dataset": "synthetic", "preset": "ci", "seed": seed,
        "config": {"pretrain": {"backbone": "tiny_r2plus1d", "batch_size": 16, "queue_size": 512,
                                "supervised_split": ("train_unbiased" if name.startswith("oracle")
                                                     else "train"),
                                "vthcl_levels": ["res3", "res4", "res5"],
                                "vthcl_num_negatives": 16384, "vthcl_negatives": "bank",
                                "num_videos": 0,
                                "fame_on": "both" if name.endswith("_both") else "first",
                                "moco_enqueue": "each_direction", "blur_p": 0.5,
                                "blur_sigma": [0.1, 2.0]},
                   "data": {"frames": 16, "size": 32, "num_classes": 10, "n_pretrain": 2000},
                   "eval": {"retrieval_query_split": "test_swapped",
                            "retrieval_gallery_split": "train_unbiased"}},
        "env": {"torch": "2.x", "device": "cpu", "device_name": "x86_64", "commit": "abc",
                "python": "3.11", "threads": 2},
        "spec_hash": f"hash-{name}-{seed}",
        "wall_time_s": 1.0,
        "pretrain": ({"steps": 20, "loss_curve": [[0, 6.0], [10, 5.5], [19, loss_end - 0.1 * seed]],
                      "step_ms": 40.0, "augment_ms": 1.0 + seed, "augment_share": 0.02}
                     if method != "random" else None),
        "eval": evaluation,
        "temporal_kernels": {"stem": [0.1, 0.2, 0.3 + seed / 10], "res3": [0.05, 0.5]},
    }


def test_stat_is_mean_and_sample_std_ignoring_missing():
    s = stat([0.2, 0.4, None, float("nan")])
    assert s.n == 2
    assert s.mean == pytest.approx(0.3)
    assert s.std == pytest.approx(math.sqrt(0.02))
    assert stat([0.5]).std == 0.0
    assert stat([]).fmt() == "—"


def _groups(values: dict[str, list[float]]) -> dict:
    records = [fake_record(n, s, v) for n, vs in values.items() for s, v in enumerate(vs)]
    return group_by_name(records)


GREATER = PaperClaim("t", "src", "A beats B", "greater", ("a", "b"))


@pytest.mark.parametrize("a, b, outcome", [
    ([0.60, 0.62, 0.61], [0.40, 0.41, 0.42], verdicts.AGREES_BEYOND),
    ([0.45, 0.55, 0.50], [0.40, 0.52, 0.52], verdicts.AGREES_WITHIN),
    ([0.40, 0.52, 0.52], [0.45, 0.55, 0.50], verdicts.DISAGREES_WITHIN),
    ([0.30, 0.31, 0.32], [0.40, 0.41, 0.42], verdicts.DISAGREES_BEYOND),
    # both rows within noise of chance (0.10 for 10 classes): no direction is read
    ([0.11, 0.09, 0.10], [0.10, 0.095, 0.105], verdicts.NO_SIGNAL),
    ([0.9], [0.1], verdicts.ONE_SEED),
])
def test_greater_verdict_outcomes(a, b, outcome):
    verdict = check(GREATER, _groups({"a": a, "b": b}))
    assert verdict.outcome == outcome, verdict.sentence()
    assert verdict.mark == verdicts.OUTCOMES[outcome]
    assert outcome in verdict.sentence() and verdict.to_dict()["outcome"] == outcome


def test_pairing_by_seed_sees_through_the_spread_between_seeds():
    # each row spans 30 points over seeds, yet a beats b by 1-2 points on every seed
    verdict = check(GREATER, _groups({"a": [0.50, 0.65, 0.80], "b": [0.49, 0.63, 0.78]}))
    assert verdict.outcome == verdicts.AGREES_BEYOND
    comparison = verdict.comparisons[0].paired
    assert comparison.seeds == (0, 1, 2) and comparison.interval.low > 0
    text = verdict.sentence()
    assert "a − b per seed: +1.7 points, 95 % CI [" in text and "n = 3" in text and "p = " in text


def test_verdict_uses_only_seeds_both_rows_have():
    records = [fake_record("a", s, v) for s, v in ((0, 0.6), (1, 0.62), (2, 0.61), (3, 0.1))]
    records += [fake_record("b", s, v) for s, v in ((0, 0.4), (1, 0.41), (2, 0.42))]
    verdict = check(GREATER, group_by_name(records))
    assert verdict.comparisons[0].paired.seeds == (0, 1, 2)
    assert verdict.outcome == verdicts.AGREES_BEYOND
    disjoint = [fake_record("a", 0, 0.6), fake_record("a", 1, 0.6), fake_record("b", 2, 0.4)]
    assert check(GREATER, group_by_name(disjoint)).outcome == verdicts.NOT_MEASURED


@pytest.mark.parametrize("b, outcome", [
    ([0.50, 0.515, 0.505], verdicts.AGREES_BEYOND),  # the whole CI inside ± 2 points
    ([0.49, 0.49, 0.52], verdicts.AGREES_WITHIN),  # mean inside, CI crosses the margin
    ([0.47, 0.47, 0.52], verdicts.DISAGREES_WITHIN),  # mean outside, CI crosses the margin
    ([0.20, 0.21, 0.22], verdicts.DISAGREES_BEYOND),  # the whole CI outside the margin
])
def test_approx_verdict_reads_the_ci_against_the_equivalence_margin(b, outcome):
    approx = PaperClaim("t", "src", "A ≈ B", "approx", ("a", "b"))
    verdict = check(approx, _groups({"a": [0.5, 0.52, 0.51], "b": b}))
    assert verdict.outcome == outcome, verdict.sentence()
    assert "equivalence margin ± 2.0 points" in verdict.sentence()


def test_smaller_gain_compares_paired_gains():
    gain = PaperClaim("t", "src", "c gains less", "smaller_gain", ("c", "a", "b"), base="m")
    jitter = [0.0, 0.01, -0.01]

    def rows(c: float) -> dict:
        return {r: [v + j for j in jitter] for r, v in
                (("m", 0.3), ("a", 0.5), ("b", 0.45), ("c", c))}

    assert check(gain, _groups(rows(0.35))).outcome == verdicts.AGREES_BEYOND
    assert check(gain, _groups(rows(0.60))).outcome == verdicts.DISAGREES_BEYOND
    # a negative gain that is still the smallest: the ordering claim holds
    verdict = check(gain, _groups(rows(0.25)))
    assert verdict.outcome == verdicts.AGREES_BEYOND and len(verdict.comparisons) == 2
    noisy = _groups({"m": [0.3, 0.3, 0.3], "a": [0.5, 0.5, 0.5], "b": [0.45, 0.45, 0.45],
                     "c": [0.40, 0.50, 0.44]})
    assert check(gain, noisy).outcome == verdicts.AGREES_WITHIN


def test_less_on_bias_gap_has_no_chance_level_and_missing_rows_are_not_measured():
    less = PaperClaim("t", "src", "gap shrinks", "less", ("a", "b"), metric=("linear", "bias_gap"))
    recs = [fake_record("a", s, 0.1, gap=0.1 + 0.01 * s) for s in range(3)]
    recs += [fake_record("b", s, 0.1, gap=0.4 + 0.01 * s) for s in range(3)]
    assert check(less, group_by_name(recs)).outcome == verdicts.AGREES_BEYOND
    missing = check(less, group_by_name(recs[:3]))
    assert missing.outcome == verdicts.NOT_MEASURED and "no linear bias gap for b" in \
        missing.sentence()


def test_outcome_counts_cover_every_outcome_from_objects_and_dicts():
    made = [check(GREATER, _groups({"a": [0.6, 0.62, 0.61], "b": [0.4, 0.41, 0.42]})),
            check(GREATER, _groups({"a": [0.9], "b": [0.1]}))]
    counts = verdicts.outcome_counts(made)
    assert counts == verdicts.outcome_counts([v.to_dict() for v in made])
    assert counts[verdicts.AGREES_BEYOND] == 1 and counts[verdicts.ONE_SEED] == 1
    assert set(counts) == set(verdicts.OUTCOMES) and sum(counts.values()) == 2


def test_every_claim_names_rows_its_table_runs():
    for claim in paper.CLAIMS:
        names = set(TABLES[claim.table].names)
        needed = set(claim.rows) | ({claim.base} if claim.base else set())
        assert needed <= names, (claim.text, needed - names)


def test_paper_numbers_have_sources_and_are_separate_from_runs():
    assert paper.numbers_for("table5")
    for number in paper.NUMBERS:
        assert number.source and number.table in TABLES
    text = tables.paper_table(paper.numbers_for("table5"))
    assert "84.8" in text and "FAME (Ding et al., CVPR 2022), Table 5" in text


def _frame(records: list[dict], table: str = "t"):
    from fame_bench.reports.data import measurements

    return measurements(records, table, {}, "ci", dirty=False)


def test_results_table_shows_mean_std_per_row():
    frame = _frame([fake_record("moco", s, v) for s, v in enumerate([0.4, 0.5, 0.6])])
    text = tables.results_table(frame, [("MoCo", "moco"), ("absent", "nope")], "linear")
    assert "MoCo" in text and "50.0 ± 10.0" in text
    assert "| absent" in text and "—" in text


def test_measurements_are_one_row_per_row_seed_metric():
    from fame_bench.reports.data import COLUMNS

    records = [fake_record("moco", s, 0.1 * s, finetune=True) for s in range(2)]
    records.append(fake_record("random", 0, 0.1, pretrain=False))
    frame = _frame(records, "table9")
    assert tuple(frame.columns) == COLUMNS
    # per MoCo record: 6 linear + 6 finetune + 5 retrieval + 6 pretrain figures; random: 6
    assert len(frame) == 2 * (6 + 6 + 5 + 6) + 6
    assert not frame.duplicated(["row", "seed", "protocol", "metric"]).any()
    moco = frame[(frame["row"] == "moco") & (frame["metric"] == "motion_probe_swapped")
                 & (frame["protocol"] == "linear")]
    assert list(moco["value"]) == [0.0, 0.1] and list(moco["spec_hash"]) == ["hash-moco-0",
                                                                             "hash-moco-1"]
    tail = frame[(frame["metric"] == "loss_tail") & (frame["seed"] == 1)]["value"].item()
    assert tail == pytest.approx(4.9)  # the last 10 % of the curve: its final point
    chance = frame[(frame["metric"] == "loss_chance")]["value"].unique()
    assert list(chance) == [pytest.approx(math.log(513))]
    assert set(frame["commit"]) == {"abc"} and set(frame["table"]) == {"table9"}


def _table_records(tdef, oracle: float = 0.7) -> list[dict]:
    records = []
    for name in tdef.names:
        for seed in range(3):
            motion = oracle if name.startswith("oracle") else \
                0.3 + 0.05 * seed + 0.1 * ("fame" in name)
            records.append(fake_record(name, seed, motion, finetune=True,
                                       pretrain=name != "random"))
    return records


def test_write_report_sections_data_figures_and_index(tmp_path):
    import json

    import pandas as pd

    tdef = TABLES["table5"]
    path = write_report(tdef, _table_records(tdef), "ci", [0, 1, 2], tmp_path, 12.0)
    text = path.read_text()
    for section in ("## Learnability checks", "## What was run", "## Results — linear probe",
                    "## Results — finetune",
                    "## Retrieval (`test_swapped` videos query a `train_unbiased` gallery)",
                    "## The papers' numbers", "## Verdicts",
                    "## Augmentation cost", "## Where this differs from the papers"):
        assert section in text, section
    assert "`ci`" in text and "no CUDA device in this run" in text
    assert "✓ oracle (supervised on unbiased labels) motion probe ≥ 60 %: oracle motion probe " \
        "70.0" in text
    assert "| _chance_ " in text and "10.0" in text  # retrieval's floor, R@1 = 1/10
    assert "**agrees beyond noise**" in text  # FAME beats MoCo on every seed in these records
    assert "nox -s reproduce_table5 -- --preset ci --seeds 3 --reports-dir" in text  # 3 of 5
    for fig in ("table5_bars.png", "table5_loss.png", "table5_figure2.png"):
        assert (tmp_path / "figures" / fig).stat().st_size > 1000
        assert f"figures/{fig}" in text
    payload = json.loads((tmp_path / "table5.json").read_text())
    frame = pd.read_csv(tmp_path / "table5.csv")
    assert list(frame.columns) == payload["columns"]
    assert len(frame) == len(payload["measurements"]) > 0
    assert set(frame["row"]) == set(tdef.names) and set(frame["seed"]) == {0, 1, 2}
    assert [v["outcome"] for v in payload["verdicts"]] and \
        {c["key"] for c in payload["checks"]} == {"oracle_learns", "random_floor",
                                                  "loss_falls", "moco_beats_random",
                                                  "finetune_keeps"}
    assert payload["table"] == "table5" and payload["seeds"] == [0, 1, 2]
    index = write_index(tmp_path, [path], "ci").read_text()
    assert "[Table 5" in index and "table5.md" in index
    assert "## Learnability checks" in index


def test_index_counts_verdicts_from_the_data_never_from_the_markdown(tmp_path):
    from fame_bench.reports.verdicts import OUTCOMES

    tdef = TABLES["table1"]
    path = write_report(tdef, _table_records(tdef), "ci", [0, 1, 2], tmp_path, 1.0)
    import json

    payload = json.loads((tmp_path / "table1.json").read_text())
    expected = verdicts.outcome_counts(payload["verdicts"])
    # the rendered Markdown loses its verdict lines: the counts must not change
    path.write_text(path.read_text().split("## Verdicts")[0])
    index = write_index(tmp_path, [path], "ci").read_text()
    row = next(line for line in index.splitlines() if line.startswith("| [Table 1"))
    assert row.split(" | ")[1:] == [str(expected[o]) for o in OUTCOMES][:-1] + \
        [f"{expected[list(OUTCOMES)[-1]]} |"]
    assert sum(expected.values()) == len(paper.claims_for("table1"))
    (tmp_path / "table1.json").write_text("{not json")
    with pytest.raises(ValueError, match="expected a report data file"):
        write_index(tmp_path, [path], "ci")


def test_index_titles_other_presets_from_their_data_files(tmp_path):
    import json

    tdef = TABLES["table1"]
    other = tmp_path / "cpu"
    path = write_report(tdef, _table_records(tdef), "cpu", [0, 1], other, 1.0)
    payload = json.loads(path.with_suffix(".json").read_text())
    payload["title"] = "Table 1, titled by its data file"
    path.with_suffix(".json").write_text(json.dumps(payload))
    path.write_text("# a heading the index must not read\n")
    index = write_index(tmp_path, [], "ci").read_text()
    assert "- [cpu/table1.md](cpu/table1.md): Table 1, titled by its data file" in index
    assert "a heading the index must not read" not in index


def test_regeneration_command_has_every_option_and_reads_back():
    import shlex
    from pathlib import Path

    from fame_bench.reports.commands import parse_assignments, regeneration_command

    pretrain = {"steps": 10, "jitter": (0.4, 0.4), "backbone": "r3d_18", "lr_tag": "1e-3"}
    command = regeneration_command("table1", "ci", 2, Path("reports/ci"), Path("/tmp/runs x"),
                                   "/data", pretrain, {"linear_epochs": 5})
    assert command.startswith("nox -s reproduce_table1 -- --preset ci --seeds 2 ")
    words = shlex.split(command)
    for option, value in (("--runs-dir", "/tmp/runs x"), ("--reports-dir", "reports/ci"),
                          ("--data-root", "/data")):
        assert words[words.index(option) + 1] == value
    sets = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    assert parse_assignments(sets) == pretrain  # "1e-3" stays a string
    evals = [words[i + 1] for i, w in enumerate(words) if w == "--eval-set"]
    assert parse_assignments(evals) == {"linear_epochs": 5}
    assert regeneration_command("table1", "cpu", 5, Path("reports")) == \
        "nox -s reproduce_table1 -- --preset cpu"


def test_report_names_the_fame_on_mode_of_each_row_and_bes_differences(tmp_path):
    def report(table):
        tdef = TABLES[table]
        records = [fake_record(name, seed, 0.3, pretrain=name != "random")
                   for name in tdef.names for seed in range(2)]
        return write_report(tdef, records, "ci", [0, 1], tmp_path, 1.0).read_text()

    table1 = report("table1")
    assert "`first` (the first clip of each pair" in table1
    assert "`both` (both clips of each pair" in table1 and ": moco_fame_b0.5_both" in table1
    assert "Gaussian blur p 0.5 with σ ~ U(0.1, 2.0)" in table1
    assert "second augmentation of the *same frames*" not in table1  # table 1 has no BE row
    table5 = report("table5")
    assert "second augmentation of the *same frames*" in table5
    assert "one-directional" in table5 and "extra negative" in table5


def test_mask_gallery_and_iou_table(tmp_path):
    import numpy as np

    from fame_bench.reports import figures

    rng = np.random.default_rng(0)
    frames = rng.random((2, 8, 8, 3))
    truth = rng.random((2, 8, 8)) > 0.5
    out = figures.mask_gallery(frames, truth, {"FAME": truth, "Grid": ~truth},
                               tmp_path / "g.png")
    assert out.stat().st_size > 500
    text = tables.mask_iou_table({"variants": {"FAME": {"beta": 0.5, "iou": [0.5, 0.7],
                                                        "recall": [0.9, 0.9]}}})
    assert "0.600 ± 0.141" in text and "0.900 ± 0.000" in text


def test_cli_rejects_unknown_table_and_bad_seeds():
    with pytest.raises(SystemExit):
        main(["table3"])
    with pytest.raises(SystemExit):
        main(["table1", "--seeds", "0"])


def test_data_root_maps_rows_to_the_real_datasets():
    from fame_bench.reports.definitions import TABLES
    from fame_bench.reports.reproduce import _with_data_root

    fg = dict((s.name, s) for _, s in TABLES["table2"].rows)["moco_fame_b0.5_fg"]
    real = _with_data_root(fg, "/data")
    assert (real.dataset, real.eval_dataset) == ("ucf101", "diving48")
    assert dict(real.pretrain_overrides)["data_root"] == "/data"
    assert _with_data_root(fg, None) is fg


def test_dry_run_lists_rows_and_seeds_cached_or_not_and_runs_nothing(tmp_path, monkeypatch,
                                                                      capsys):
    from fame_bench.reports.definitions import RANDOM
    from fame_bench.train import experiment

    monkeypatch.setattr(experiment, "_evaluate",
                        lambda *a: {"linear": {"motion_probe_swapped": 0.1}})
    experiment.run_experiment(RANDOM, "ci", 0, runs_dir=tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert main(["table5", "--preset", "ci", "--seeds", "2", "--runs-dir", str(tmp_path),
                 "--dry-run", "--jobs", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = len(TABLES["table5"].rows)
    assert len(lines) == 2 * rows + 1
    random0 = next(line for line in lines if line.startswith("random ") and "seed 0" in line)
    random1 = next(line for line in lines if line.startswith("random ") and "seed 1" in line)
    assert "cached" in random0 and "seed0-" in random0
    assert "to run (never timed)" in random1
    assert lines[-1].startswith(f"{2 * rows} runs: 1 cached, {2 * rows - 1} to run; ETA ")
    assert "2 worker(s)" in lines[-1]
    assert sorted(tmp_path.rglob("*")) == before  # nothing ran, nothing was created
    main(["table5", "--preset", "ci", "--seeds", "1", "--runs-dir", str(tmp_path),
          "--dry-run", "--force"])
    assert "0 cached" in capsys.readouterr().out.splitlines()[-1]


def test_set_dataset_picks_the_real_pretraining_set_only_with_a_data_root():
    from fame_bench.reports.reproduce import row_specs

    specs = row_specs(TABLES["table2"], "/data", {"dataset": "k400"})
    assert {s.dataset for s in specs} == {"k400"}
    assert "diving48" in {s.eval_dataset for s in specs} <= {"ucf101", "diving48"}
    with pytest.raises(ValueError, match="dataset"):
        row_specs(TABLES["table2"], None, {"dataset": "k400"})
    with pytest.raises(ValueError, match="pretraining set"):
        row_specs(TABLES["table2"], "/data", {"dataset": "synthetic"})


def test_eval_set_dataset_picks_the_downstream_set_only_with_a_data_root():
    from fame_bench.reports.reproduce import row_specs

    specs = row_specs(TABLES["table1"], "/data", {"dataset": "k400"}, {"dataset": "hmdb51"})
    assert {s.dataset for s in specs} == {"k400"} and {s.eval_dataset for s in specs} == {
        "hmdb51"}
    assert all("dataset" not in dict(s.eval_overrides) for s in specs)
    with pytest.raises(ValueError, match="--data-root"):
        row_specs(TABLES["table1"], None, None, {"dataset": "hmdb51"})
    with pytest.raises(ValueError, match="downstream"):
        row_specs(TABLES["table1"], "/data", None, {"dataset": "synthetic"})


def test_header_prints_the_threads_the_runs_used():
    old = fake_record("moco", 0, 0.3)  # schema 1: env.threads was the process's count (2)
    old["config"]["pretrain"]["threads"] = 1
    old["config"]["eval"]["threads"] = 1
    assert tables.threads_used(old) == "1 pretraining / 1 evaluation"
    new = fake_record("random", 0, 0.3, pretrain=False)
    new["env"]["threads"] = {"pretrain": None, "eval": 3}
    assert tables.threads_used(new) == "3 evaluation"
    text = tables.header_block([old, new], "ci", [0], 1.0)
    assert "torch threads 1 pretraining / 1 evaluation, 3 evaluation" in text
    assert "threads 2" not in text


def test_verdict_falls_back_to_real_dataset_top1():
    records = []
    for name, top1 in (("a", 0.6), ("b", 0.5)):
        for seed in range(3):
            r = fake_record(name, seed, 0.0)
            r["eval"] = {"finetune": {"top1": top1 + 0.01 * seed}}
            records.append(r)
    verdict = check(GREATER, group_by_name(records))
    assert verdict.outcome == verdicts.AGREES_BEYOND and "finetune top1" in verdict.measured
    assert verdict.metric == ("finetune", "top1")


def test_index_alone_lists_the_tables_with_data_and_names_the_missing(tmp_path):
    tdef = TABLES["table1"]
    write_report(tdef, _table_records(tdef), "ci", [0, 1, 2], tmp_path, 1.0)
    assert main(["index", "--reports-dir", str(tmp_path)]) == 0
    index = (tmp_path / "README.md").read_text()
    assert "[Table 1" in index and "fame-bench reproduce index --reports-dir" in index
    assert "`table5` (`nox -s reproduce_table5`)" in index and "[Table 5" not in index


def test_a_verdict_says_whose_claim_it_checks():
    """A paper's claim, a shape the papers imply and our own hypothesis read differently."""
    from fame_bench.reports.paper import OURS, SPEC_SHAPE

    assert GREATER.voice == "The paper reports"
    assert PaperClaim("t", SPEC_SHAPE, "x", "less", ("a", "b")).voice == "The papers imply"
    ours = PaperClaim("t", OURS, "A beats B", "greater", ("a", "b"))
    assert ours.voice == "We hypothesised"
    claims = [c for c in paper.CLAIMS if c.source == OURS]
    assert [c.rows for c in claims] == [("moco_gauss", "moco_gauss_random")]
