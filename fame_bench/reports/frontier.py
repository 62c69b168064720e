"""The interval-width frontier (``nox -s frontier``): how wide the headline paired comparisons'
95 % intervals are at n seeds, against the minutes the reproduction of table 1 takes at n seeds.

The benchmark's two targets pull against each other: the headline comparisons (MoCo + FAME
β = 0.5 − MoCo and MoCo + BE − MoCo, linear motion probe) should have an interval no wider than
±3 points, and ``nox -s reproduce_table1`` should take at most 40 minutes on the 2-core machine.
Both are measured here from run records, nothing is projected:

- the interval at n seeds is the one the reports would print from seeds ``0 … n−1``
  (``fame_bench.reports.paired``: Student t below ``BOOTSTRAP_MIN_N`` seeds, a bootstrap from
  there on), with the Student-t half-width beside it at every n, since a percentile bootstrap
  from a handful of seeds is known to be narrower than it should be;
- the minutes at n seeds are n times the summed median wall time of one run of each of table
  1's rows (each run's ``wall_time_s``, one thread), divided by the worker count; the median,
  because a run slowed by other jobs on the machine is an outlier of the run's cost, not of
  the benchmark's.

Runs missing from ``--runs-dir`` are trained first (``--jobs`` workers). Writes
``reports/frontier.md`` and ``reports/frontier.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

from fame_bench.provenance import git_state
from fame_bench.reports.commands import DEFAULT_SEEDS
from fame_bench.reports.definitions import MOCO, MOCO_BE, TABLES, fame
from fame_bench.reports.paired import paired_difference, t_half_width
from fame_bench.reports.runner import Job, default_jobs, records_on_disk, run_jobs
from fame_bench.reports.stats import seed_values

PROBE = ("linear", "motion_probe_swapped")
HEADLINES = (("MoCo + FAME β=0.5 − MoCo", fame(0.5), MOCO),
             ("MoCo + BE − MoCo", MOCO_BE, MOCO))
TARGET_HALF_WIDTH = 0.03  # ±3 points
TARGET_MINUTES = 40.0  # reproduce_table1 on the 2-core machine
MIN_SEEDS = 3


def frontier(records: dict, preset: str, seeds: int, workers: int) -> dict:
    """Rows ``{n, minutes, <headline>: {...}}`` for n = ``MIN_SEEDS`` … ``seeds``, from
    ``records`` (``{(preset, row, seed): record}``)."""
    table1 = [spec.name for _, spec in TABLES["table1"].rows]
    walls = {name: [r["wall_time_s"] for (p, row, _), r in records.items()
                    if p == preset and row == name and r.get("wall_time_s")]
             for name in table1}
    missing_times = [name for name, times in walls.items() if not times]
    if missing_times:
        raise ValueError(f"no timed run of table 1's rows {missing_times} at preset {preset}")
    seconds_per_seed = sum(statistics.median(t) for t in walls.values())

    def values(name: str) -> dict[int, float]:
        return seed_values([r for (p, row, seed), r in records.items()
                            if p == preset and row == name and seed < seeds], *PROBE)

    rows = []
    for n in range(MIN_SEEDS, seeds + 1):
        row = {"n": n, "minutes": n * seconds_per_seed / workers / 60}
        for label, first, second in HEADLINES:
            a = {s: v for s, v in values(first.name).items() if s < n}
            b = {s: v for s, v in values(second.name).items() if s < n}
            paired = paired_difference(a, b)
            if paired.interval.n < n:
                row[label] = None
                continue
            differences = [a[s] - b[s] for s in paired.seeds]
            row[label] = {**paired.to_dict(),
                          "half_width": (paired.interval.high - paired.interval.low) / 2,
                          "t_half_width": t_half_width(differences)}
        rows.append(row)
    return {"seconds_per_seed": seconds_per_seed, "workers": workers, "rows": rows}


def reading(rows: list[dict], labels: list[str]) -> str:
    """Where each target holds, from the measured rows, and what the default seed count buys."""
    def within(row, key="half_width"):
        return all(row[label] is not None and row[label][key] <= TARGET_HALF_WIDTH
                   for label in labels)

    on_time = [row for row in rows if row["minutes"] <= TARGET_MINUTES]
    narrow = [row for row in rows if within(row)]
    narrow_t = [row for row in rows if within(row, "t_half_width")]
    parts = []
    parts.append(f"The time target holds up to {on_time[-1]['n']} seeds "
                 f"({on_time[-1]['minutes']:.0f} min)" if on_time else
                 "The time target holds at no seed count measured here")
    if narrow:
        parts.append(f"both intervals are within ±{100 * TARGET_HALF_WIDTH:.0f} points from "
                     f"{narrow[0]['n']} seeds on ({narrow[0]['minutes']:.0f} min)"
                     + ("" if narrow_t and narrow_t[0]["n"] == narrow[0]["n"] else
                        ", by the interval the reports print; by the Student-t interval "
                        + (f"from {narrow_t[0]['n']} seeds" if narrow_t else
                           "at no seed count measured here")))
    else:
        parts.append(f"no seed count measured here brings both intervals within "
                     f"±{100 * TARGET_HALF_WIDTH:.0f} points")
    both = [row for row in narrow if row["minutes"] <= TARGET_MINUTES]
    verdict = ("both targets hold at once" if both else
               "the two targets do not hold at once on this machine: the default seed count "
               f"({DEFAULT_SEEDS}) is the compromise, and `--seeds N` trades minutes for "
               "narrower intervals along this table")
    return "; ".join(parts) + ": " + verdict + "."


def render(result: dict, meta: dict) -> str:
    labels = [label for label, _, _ in HEADLINES]
    lines = [
        "# Interval width against time — the seeds frontier",
        "",
        f"_Generated by `{meta['command']}` at commit {meta['commit']}"
        f"{' (dirty tree)' if meta['dirty'] else ''}, {meta['generated_utc']} UTC. "
        f"Preset `{meta['preset']}` (synthetic, 32² clips, tiny R(2+1)D, 400 pretraining steps), "
        f"CPU; linear motion probe on `test_swapped`. Minutes: n × "
        f"{result['seconds_per_seed'] / 60:.1f} CPU-minutes (one run of each of table 1's rows, "
        f"median measured wall time) / {result['workers']} workers._",
        "",
        f"Targets: half-width ≤ ±{100 * TARGET_HALF_WIDTH:.0f} points for both headline "
        f"comparisons; `reproduce_table1` ≤ {TARGET_MINUTES:.0f} min. Half-width: the interval "
        "the reports print (Student t below 8 seeds, bootstrap percentile from 8); in brackets "
        "the Student-t half-width at every n.",
        "",
        "| seeds | table 1 minutes | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for row in result["rows"]:
        cells = []
        for label in labels:
            cell = row[label]
            if cell is None:
                cells.append("—")
                continue
            ok = "✓" if cell["half_width"] <= TARGET_HALF_WIDTH else "✗"
            cells.append(f"{100 * cell['mean']:+.1f}, ±{100 * cell['half_width']:.1f} "
                         f"(t ±{100 * cell['t_half_width']:.1f}) {ok}")
        time_ok = "✓" if row["minutes"] <= TARGET_MINUTES else "✗"
        lines.append(f"| {row['n']} | {row['minutes']:.0f} {time_ok} | " + " | ".join(cells)
                     + " |")
    lines += ["", "**Reading.** " + reading(result["rows"], labels)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fame_bench.reports.frontier",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu", choices=("ci", "cpu"))
    parser.add_argument("--seeds", type=int, default=8, help="largest seed count (seeds 0…n−1)")
    parser.add_argument("--workers", type=int, default=2,
                        help="workers a reproduction uses, for the minutes column")
    parser.add_argument("--jobs", type=int, default=0, help="parallel runs (0: one per core)")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--reports-dir", default="reports")
    args = parser.parse_args(argv)
    if args.seeds < MIN_SEEDS:
        parser.error(f"--seeds must be at least {MIN_SEEDS}, got {args.seeds}")
    runs_dir = Path(args.runs_dir)
    seeds = range(args.seeds)
    # Runs the headline comparisons need at every seed; table 1's other rows only for timing.
    needed = {spec.name: spec for _, first, second in HEADLINES for spec in (first, second)}
    jobs = [Job(spec, args.preset, s) for spec in needed.values() for s in seeds]
    timing = [Job(spec, args.preset, s) for _, spec in TABLES["table1"].rows for s in seeds]
    run_jobs(jobs, runs_dir, workers=args.jobs or default_jobs())
    records = records_on_disk(jobs + timing, runs_dir)
    result = frontier(records, args.preset, args.seeds, args.workers)
    commit, dirty = git_state()
    meta = {"command": "nox -s frontier -- " + " ".join(argv if argv is not None else sys.argv[1:]),
            "commit": commit, "dirty": dirty, "preset": args.preset,
            "generated_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")}
    reports_dir = Path(args.reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / "frontier.md").write_text(render(result, meta))
    (reports_dir / "frontier.json").write_text(
        json.dumps({**meta, **result}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {reports_dir / 'frontier.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
