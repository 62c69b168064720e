"""Reports: statistics, verdicts, Markdown and figures, on small hand-built run records.

These records exercise the formatter only; no report is ever built from hand-made numbers.
"""

from __future__ import annotations

import math

import pytest

from fame_bench.reports import paper, tables
from fame_bench.reports.definitions import TABLES
from fame_bench.reports.paper import PaperClaim
from fame_bench.reports.reproduce import main, write_index, write_report
from fame_bench.reports.stats import group_by_name, stat
from fame_bench.reports.verdicts import check


def fake_record(name: str, seed: int, motion: float, gap: float = 0.3,
                finetune: bool = False, pretrain: bool = True) -> dict:
    linear = {"test_biased": 0.8, "test_swapped": 0.8 - gap, "test_background_only": 0.7,
              "motion_probe_swapped": motion, "bias_gap": gap, "background_reliance": 0.6}
    evaluation = {"linear": linear}
    if finetune:
        evaluation["finetune"] = dict(linear)
        evaluation["retrieval"] = {"R@1": 0.3, "R@5": 0.5, "R@10": 0.6, "R@20": 0.7,
                                   "R@50": 0.9}
    return {
        "name": name, "method": "random" if not pretrain else "moco",
        "augment": {"kind": "fame" if "fame" in name else "none", "beta": 0.5,
                    "variant": "fame", "fame_on": "first"},
        "dataset": "synthetic", "preset": "ci", "seed": seed,
        "config": {"pretrain": {"backbone": "tiny_r2plus1d", "batch_size": 16,
                                "fame_on": "both" if name.endswith("_both") else "first",
                                "moco_enqueue": "each_direction", "blur_p": 0.5,
                                "blur_sigma": [0.1, 2.0]},
                   "data": {"frames": 16, "size": 32, "num_classes": 10}},
        "env": {"torch": "2.x", "device": "cpu", "device_name": "x86_64", "commit": "abc",
                "python": "3.11", "threads": 2},
        "wall_time_s": 1.0,
        "pretrain": ({"steps": 20, "loss_curve": [[0, 6.0], [10, 5.0 - 0.1 * seed]],
                      "step_ms": 40.0, "augment_ms": 1.0 + seed, "augment_share": 0.02}
                     if pretrain else None),
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


def test_greater_verdict_agrees_disagrees_and_flags_noise():
    claim = PaperClaim("t", "src", "A beats B", "greater", ("a", "b"))
    clear = check(claim, _groups({"a": [0.6, 0.62, 0.61], "b": [0.4, 0.41, 0.42]}))
    assert clear.agrees is True and clear.clear
    assert "direction agrees" in clear.sentence() and clear.mark == "✓"
    wrong = check(claim, _groups({"a": [0.3, 0.31, 0.32], "b": [0.4, 0.41, 0.42]}))
    assert wrong.agrees is False and "does not agree" in wrong.sentence()
    noisy = check(claim, _groups({"a": [0.3, 0.5, 0.41], "b": [0.4, 0.39, 0.41]}))
    assert noisy.agrees is True and not noisy.clear and "within noise" in noisy.sentence()


def test_approx_smaller_gain_less_and_missing_rows():
    approx = PaperClaim("t", "src", "A ≈ B", "approx", ("a", "b"))
    assert check(approx, _groups({"a": [0.5, 0.52, 0.51], "b": [0.5, 0.51, 0.52]})).agrees
    assert not check(approx, _groups({"a": [0.8, 0.8, 0.8], "b": [0.5, 0.5, 0.5]})).agrees
    gain = PaperClaim("t", "src", "c gains less", "smaller_gain", ("c", "a", "b"), base="m")
    groups = _groups({"m": [0.3] * 3, "a": [0.5] * 3, "b": [0.45] * 3, "c": [0.35] * 3})
    assert check(gain, groups).agrees
    groups = _groups({"m": [0.3] * 3, "a": [0.5] * 3, "b": [0.45] * 3, "c": [0.6] * 3})
    assert not check(gain, groups).agrees
    # a negative gain that is still the smallest: the ordering claim holds
    groups = _groups({"m": [0.3] * 3, "a": [0.5] * 3, "b": [0.45] * 3, "c": [0.25] * 3})
    assert check(gain, groups).agrees
    less = PaperClaim("t", "src", "gap shrinks", "less", ("a", "b"), metric=("linear", "bias_gap"))
    recs = [fake_record("a", s, 0.5, gap=0.1) for s in range(3)]
    recs += [fake_record("b", s, 0.5, gap=0.4) for s in range(3)]
    assert check(less, group_by_name(recs)).agrees
    missing = check(less, group_by_name(recs[:3]))
    assert missing.agrees is None and "not measured" in missing.sentence()


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


def test_results_table_shows_mean_std_per_row():
    groups = _groups({"moco": [0.4, 0.5, 0.6]})
    text = tables.results_table(groups, [("MoCo", "moco"), ("absent", "nope")], "linear")
    assert "MoCo" in text and "50.0 ± 10.0" in text
    assert "| absent" in text and "—" in text


def test_write_report_sections_figures_and_index(tmp_path):
    tdef = TABLES["table5"]
    records = []
    for name in tdef.names:
        for seed in range(3):
            records.append(fake_record(name, seed, 0.3 + 0.05 * seed + 0.1 * ("fame" in name),
                                       finetune=True, pretrain=name != "random"))
    path = write_report(tdef, records, "ci", [0, 1, 2], tmp_path, 12.0)
    text = path.read_text()
    for section in ("## What was run", "## Results — linear probe", "## Results — finetune",
                    "## Retrieval", "## The papers' numbers", "## Verdicts",
                    "## Augmentation cost", "## Where this differs from the papers"):
        assert section in text, section
    assert "`ci`" in text and "no CUDA device in this run" in text
    assert "✓" in text  # FAME beats MoCo in these records
    for fig in ("table5_bars.png", "table5_loss.png", "table5_figure2.png"):
        assert (tmp_path / "figures" / fig).stat().st_size > 1000
        assert f"figures/{fig}" in text
    index = write_index(tmp_path, [path], "ci")
    assert "[Table 5" in index.read_text() and "table5.md" in index.read_text()


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


def test_verdict_falls_back_to_real_dataset_top1():
    records = []
    for name, top1 in (("a", 0.6), ("b", 0.5)):
        for seed in range(3):
            r = fake_record(name, seed, 0.0)
            r["eval"] = {"finetune": {"top1": top1 + 0.01 * seed}}
            records.append(r)
    claim = PaperClaim("t", "src", "A beats B", "greater", ("a", "b"))
    verdict = check(claim, group_by_name(records))
    assert verdict.agrees and "finetune top1" in verdict.measured


def test_one_seed_is_never_called_clear():
    claim = PaperClaim("t", "src", "A beats B", "greater", ("a", "b"))
    verdict = check(claim, _groups({"a": [0.9], "b": [0.1]}))
    assert verdict.agrees and not verdict.clear
    assert "one seed: no noise estimate" in verdict.sentence()


def test_index_separates_clear_agreement_from_agreement_within_noise():
    from fame_bench.reports.reproduce import verdict_counts

    text = "\n".join([
        "- ✓ The paper reports: a. At this scale we measure x; the direction agrees.",
        "- ✓ The paper reports: b. At this scale we measure y; the direction agrees "
        "(difference within noise).",
        "- ✓ The paper reports: c. At this scale we measure z; the direction agrees "
        "(one seed: no noise estimate).",
        "- ✗ The paper reports: d. At this scale we measure w; the direction does not agree.",
        "- – The paper reports: e. At this scale we measure v; not measured in this run.",
        "✓ not a verdict line",
    ])
    assert verdict_counts(text) == {"clear": 1, "noise": 2, "against": 1, "missing": 1}
