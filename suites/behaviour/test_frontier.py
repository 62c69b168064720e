"""The seeds frontier: intervals at each n from the first n seeds, minutes from run times."""

import math

import pytest

from fame_bench.reports import frontier as fr
from fame_bench.reports.definitions import TABLES
from fame_bench.reports.paired import t_half_width


def _records(probes: dict[str, list[float]], wall: float = 60.0) -> dict:
    """Records of every table-1 row (probe 0.1 unless given) on len(moco's probes) seeds."""
    n = len(probes["moco"])
    names = {spec.name for _, spec in TABLES["table1"].rows} | {"moco_be"}
    out = {}
    for name in names:
        for seed in range(n):
            value = probes.get(name, [0.1] * n)[seed]
            out[("cpu", name, seed)] = {"seed": seed, "wall_time_s": wall,
                                        "eval": {"linear": {"motion_probe_swapped": value}}}
    return out


def test_t_half_width_matches_the_hand_computed_value():
    # differences 1, 2, 3: sd 1, t_{0.975, 2} = 4.3027, half = 4.3027 / sqrt 3
    assert t_half_width([1.0, 2.0, 3.0]) == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)


def test_frontier_uses_the_first_n_seeds_and_times_table1():
    moco = [0.20, 0.18, 0.22, 0.19, 0.21]
    fame = [0.14, 0.13, 0.12, 0.15, 0.30]  # the last seed widens the interval at n = 5
    be = [m + 0.01 for m in moco]  # identical differences: zero width
    result = fr.frontier(_records({"moco": moco, "moco_fame_b0.5": fame, "moco_be": be}),
                         "cpu", seeds=5, workers=2)
    rows = {row["n"]: row for row in result["rows"]}
    assert sorted(rows) == [3, 4, 5]
    table1_rows = len(TABLES["table1"].rows)
    assert rows[4]["minutes"] == pytest.approx(4 * table1_rows * 60.0 / 2 / 60)
    fame_be = "MoCo + FAME β=0.5 − MoCo"
    at3 = rows[3][fame_be]
    first3 = [fame[s] - moco[s] for s in range(3)]
    assert at3["mean"] == pytest.approx(sum(first3) / 3)
    assert at3["half_width"] == pytest.approx(t_half_width(first3))
    assert rows[5][fame_be]["half_width"] > rows[4][fame_be]["half_width"]
    assert rows[5]["MoCo + BE − MoCo"]["half_width"] == pytest.approx(0.0, abs=1e-12)


def test_missing_seed_leaves_the_cell_empty_and_render_says_no_count_meets_target():
    records = _records({"moco": [0.2, 0.1, 0.3, 0.2], "moco_fame_b0.5": [0.1, 0.3, 0.1, 0.2]})
    del records[("cpu", "moco_be", 3)]
    result = fr.frontier(records, "cpu", seeds=4, workers=1)
    assert result["rows"][-1]["MoCo + BE − MoCo"] is None
    text = fr.render(result, {"command": "x", "commit": "abc", "dirty": False, "preset": "cpu",
                              "generated_utc": "now"})
    assert "no seed count measured here brings both intervals" in text
    assert "| 4 |" in text


def test_a_row_without_timed_runs_is_refused():
    records = _records({"moco": [0.2, 0.1, 0.3]})
    for key in [k for k in records if k[1] == "oracle"]:
        del records[key]
    with pytest.raises(ValueError, match="oracle"):
        fr.frontier(records, "cpu", seeds=3, workers=2)


def test_reading_names_where_each_target_holds():
    def row(n, minutes, half, t_half):
        cell = {"half_width": half, "t_half_width": t_half}
        return {"n": n, "minutes": minutes, "a": cell, "b": cell}

    rows = [row(4, 30, 0.05, 0.05), row(5, 38, 0.04, 0.04), row(8, 60, 0.025, 0.031)]
    text = fr.reading(rows, ["a", "b"])
    assert "time target holds up to 5 seeds (38 min)" in text
    assert "from 8 seeds on (60 min)" in text and "Student-t interval at no seed count" in text
    assert "do not hold at once" in text
    fast = [row(4, 30, 0.05, 0.05), row(5, 38, 0.02, 0.02)]
    assert fr.reading(fast, ["a", "b"]).endswith("both targets hold at once.")
