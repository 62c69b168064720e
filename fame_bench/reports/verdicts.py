"""Verdicts: each paper claim checked against our per-seed measurements.

"The paper reports X; at this scale we measure Y; outcome" — computed, never written by hand
("The papers imply X" for a shape the papers imply, "We hypothesised X" for our own controls).
Two rows are compared by their paired per-seed differences (:mod:`fame_bench.reports.paired`):
a claim agrees *beyond noise* only when the 95 % CI of the difference excludes 0 on the claimed
side. When every row of a claim is within noise of chance (each row's CI of metric − chance
includes 0), the metric carries no signal at this scale and no direction is read from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fame_bench.reports.paired import Paired, paired_difference, versus_constant
from fame_bench.reports.paper import PaperClaim
from fame_bench.reports.stats import ACCURACY_KEYS, chance_accuracy, seed_values, stat

AGREES_BEYOND = "agrees beyond noise"
AGREES_WITHIN = "agrees within noise"
DISAGREES_WITHIN = "disagrees within noise"
DISAGREES_BEYOND = "disagrees beyond noise"
NO_SIGNAL = "no signal at this scale"
NOT_MEASURED = "not measured"
ONE_SEED = "one seed: no noise estimate"

#: Every outcome, in the order the index counts them, with its mark.
OUTCOMES = {AGREES_BEYOND: "✓", AGREES_WITHIN: "(✓)", DISAGREES_WITHIN: "(✗)",
            DISAGREES_BEYOND: "✗", NO_SIGNAL: "∅", ONE_SEED: "–", NOT_MEASURED: "–"}


@dataclass(frozen=True)
class Comparison:
    """``first − second`` per seed (for ``smaller_gain``: the gains over the base)."""

    first: str
    second: str
    paired: Paired

    def to_dict(self) -> dict:
        return {"first": self.first, "second": self.second, **self.paired.to_dict()}


@dataclass(frozen=True)
class Verdict:
    claim: PaperClaim
    outcome: str  # one of OUTCOMES
    measured: str  # what we measured, in words with numbers
    metric: tuple[str, str]  # (protocol, key) actually read
    comparisons: tuple[Comparison, ...] = ()

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {list(OUTCOMES)}, got {self.outcome!r}")

    @property
    def mark(self) -> str:
        return OUTCOMES[self.outcome]

    def sentence(self) -> str:
        return (f"{self.mark} {self.claim.voice}: {self.claim.text} [{self.claim.source}]. "
                f"At this scale we measure {self.measured}: **{self.outcome}**.")

    def to_dict(self) -> dict:
        return {"claim": asdict(self.claim), "outcome": self.outcome, "mark": self.mark,
                "metric": list(self.metric), "measured": self.measured,
                "sentence": self.sentence(),
                "comparisons": [c.to_dict() for c in self.comparisons]}


def _row_text(name: str, values: dict[int, float]) -> str:
    return f"{name} {stat(list(values.values())).fmt()}"


def check(claim: PaperClaim, groups: dict[str, list[dict]]) -> Verdict:
    """Check ``claim`` against records grouped by experiment name."""
    names = list(claim.rows) + ([claim.base] if claim.base else [])
    # Real datasets (paper preset) have one test split: their top-1 (finetune first, as the
    # papers report) stands in for the synthetic metric.
    for protocol, key in (claim.metric, ("finetune", "top1"), ("linear", "top1")):
        values = {name: seed_values(groups.get(name, []), protocol, key) for name in names}
        if all(values.values()):
            break
    else:
        protocol, key = claim.metric
        values = {name: seed_values(groups.get(name, []), protocol, key) for name in names}
    metric = (protocol, key)
    label = f"{protocol} {key.replace('_', ' ')}"
    missing = [name for name, v in values.items() if not v]
    if missing:
        return Verdict(claim, NOT_MEASURED, f"no {label} for {', '.join(missing)}", metric)
    common = set.intersection(*(set(v) for v in values.values()))
    if not common:
        return Verdict(claim, NOT_MEASURED, f"{label}: no seed common to {', '.join(names)}",
                       metric)
    values = {name: {s: v[s] for s in sorted(common)} for name, v in values.items()}
    rows_text = " vs ".join(_row_text(name, values[name]) for name in names)
    if len(common) < 2:
        return Verdict(claim, ONE_SEED, f"{label} {rows_text} (seed {min(common)} only)", metric)

    records = [r for name in names for r in groups.get(name, [])]
    chance = chance_accuracy(records) if key in ACCURACY_KEYS else None
    if chance is not None and all(versus_constant(v, chance).interval.includes_zero
                                  for v in values.values()):
        return Verdict(claim, NO_SIGNAL,
                       f"{label} {rows_text}; chance is {100 * chance:.1f}, and every row's "
                       f"95 % CI of its {len(common)} seeds minus chance includes 0", metric)

    a = claim.rows[0]
    if claim.kind in ("greater", "less"):
        b = claim.rows[1]
        comparison = Comparison(a, b, paired_difference(values[a], values[b]))
        d = comparison.paired.interval
        outcome = _directional(d.mean if claim.kind == "greater" else -d.mean,
                               d.above_zero if claim.kind == "greater" else d.below_zero,
                               d.below_zero if claim.kind == "greater" else d.above_zero)
        return Verdict(claim, outcome, f"{label} {rows_text}; {a} − {b} per seed: {d.fmt()}",
                       metric, (comparison,))
    if claim.kind == "approx":
        b = claim.rows[1]
        comparison = Comparison(a, b, paired_difference(values[a], values[b]))
        d = comparison.paired.interval
        m = claim.margin
        if -m <= d.low and d.high <= m:
            outcome = AGREES_BEYOND  # the whole CI lies inside the equivalence margin
        elif d.low > m or d.high < -m:
            outcome = DISAGREES_BEYOND  # the whole CI lies outside it
        else:
            outcome = AGREES_WITHIN if abs(d.mean) <= m else DISAGREES_WITHIN
        return Verdict(claim, outcome,
                       f"{label} {rows_text}; {a} − {b} per seed: {d.fmt()}; equivalence "
                       f"margin ± {100 * m:.1f} points (agrees beyond noise only when the whole "
                       "CI lies inside it)", metric, (comparison,))
    if claim.kind == "smaller_gain":
        base = claim.base
        gain = {r: {s: values[r][s] - values[base][s] for s in common} for r in claim.rows}
        comparisons = tuple(Comparison(a, o, paired_difference(gain[a], gain[o]))
                            for o in claim.rows[1:])
        intervals = [c.paired.interval for c in comparisons]
        if all(d.below_zero for d in intervals):
            outcome = AGREES_BEYOND
        elif any(d.above_zero for d in intervals):
            outcome = DISAGREES_BEYOND
        else:
            outcome = AGREES_WITHIN if all(d.mean < 0 for d in intervals) else DISAGREES_WITHIN
        parts = "; ".join(f"gain of {c.first} − gain of {c.second}: {c.paired.interval.fmt()}"
                          for c in comparisons)
        return Verdict(claim, outcome, f"{label} {rows_text} (gains over {base}); {parts}",
                       metric, comparisons)
    raise ValueError(f"unknown claim kind {claim.kind!r}; expected greater|less|approx|"
                     "smaller_gain")


def _directional(signed_mean: float, beyond_for: bool, beyond_against: bool) -> str:
    """Outcome of a one-sided claim: ``signed_mean > 0`` is the claimed direction."""
    if beyond_for:
        return AGREES_BEYOND
    if beyond_against:
        return DISAGREES_BEYOND
    return AGREES_WITHIN if signed_mean > 0 else DISAGREES_WITHIN


def check_all(claims: list[PaperClaim], groups: dict[str, list[dict]]) -> list[Verdict]:
    return [check(claim, groups) for claim in claims]


def outcome_counts(verdicts: list[Verdict] | list[dict]) -> dict[str, int]:
    """How many verdicts (objects, or their ``to_dict()``) have each outcome, every outcome
    present (0 when none)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for v in verdicts:
        counts[v["outcome"] if isinstance(v, dict) else v.outcome] += 1
    return counts
