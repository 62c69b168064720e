"""Verdicts: each paper claim checked against our measured means and stds.

"The paper reports X; at this scale we measure Y; the direction agrees ✓ / does not agree ✗" —
computed, never written by hand. A difference smaller than the noise (the sum of the two rows'
stds over seeds) is reported as "within noise" even when the sign agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from fame_bench.reports.paper import PaperClaim
from fame_bench.reports.stats import Stat, metric_stat


@dataclass(frozen=True)
class Verdict:
    claim: PaperClaim
    measured: str  # what we measured, in words with numbers
    agrees: bool | None  # None: a row is missing, nothing to compare
    clear: bool  # the difference exceeds the noise
    single_seed: bool = False  # a row has one seed: no noise estimate

    @property
    def mark(self) -> str:
        if self.agrees is None:
            return "–"
        return "✓" if self.agrees else "✗"

    def sentence(self) -> str:
        if self.agrees is None:
            tail = "not measured in this run"
        elif self.claim.kind == "approx":
            tail = "the direction agrees" if self.agrees else "the direction does not agree"
            tail += " (one seed: no noise estimate)" if self.single_seed else ""
        else:
            tail = ("the direction agrees" if self.agrees else "the direction does not agree")
            if self.single_seed:
                tail += " (one seed: no noise estimate)"
            elif not self.clear:
                tail += " (difference within noise)"
        return (f"{self.mark} The paper reports: {self.claim.text} [{self.claim.source}]. "
                f"At this scale we measure {self.measured}; {tail}.")


def _pct(s: Stat) -> str:
    return s.fmt() + ("" if s.n > 1 else " (1 seed)")


def check(claim: PaperClaim, groups: dict[str, list[dict]]) -> Verdict:
    """Check ``claim`` against records grouped by experiment name."""
    names = list(claim.rows) + ([claim.base] if claim.base else [])
    # Real datasets (paper preset) have one test split: their top-1 (finetune first, as the
    # papers report) stands in for the synthetic metric.
    for protocol, key in (claim.metric, ("finetune", "top1"), ("linear", "top1")):
        stats = {name: metric_stat(groups.get(name, []), protocol, key) for name in names}
        if all(s.n for s in stats.values()):
            break
    else:
        protocol, key = claim.metric
        stats = {name: metric_stat(groups.get(name, []), protocol, key) for name in names}
    label = f"{protocol} {key.replace('_', ' ')}"
    missing = [name for name, s in stats.items() if s.n == 0]
    if missing:
        return Verdict(claim, f"no {label} for {', '.join(missing)}", None, False)

    single = any(s.n < 2 for s in stats.values())

    def noise(*rows: str) -> float:
        return max(sum(stats[r].std for r in rows), claim.min_noise)

    a = claim.rows[0]
    if claim.kind in ("greater", "less"):
        b = claim.rows[1]
        diff = stats[a].mean - stats[b].mean
        agrees = diff > 0 if claim.kind == "greater" else diff < 0
        measured = (f"{label} {a} {_pct(stats[a])} vs {b} {_pct(stats[b])} "
                    f"(difference {100 * diff:+.1f} points)")
        return Verdict(claim, measured, agrees, abs(diff) > noise(a, b) and not single, single)
    if claim.kind == "approx":
        b = claim.rows[1]
        diff = stats[a].mean - stats[b].mean
        tol = noise(a, b)
        measured = (f"{label} {a} {_pct(stats[a])} vs {b} {_pct(stats[b])} "
                    f"(difference {100 * diff:+.1f} points, noise {100 * tol:.1f})")
        return Verdict(claim, measured, abs(diff) <= tol, not single, single)
    if claim.kind == "smaller_gain":
        base = claim.base
        gain = {r: stats[r].mean - stats[base].mean for r in claim.rows}
        others = claim.rows[1:]
        # Only the ordering of the gains: whether ``a`` beats the base at all is its own claim.
        agrees = all(gain[a] < gain[o] for o in others)
        clear = all(abs(gain[o] - gain[a]) > noise(a, o) for o in others)
        parts = ", ".join(f"{r} {100 * gain[r]:+.1f}" for r in claim.rows)
        measured = f"gains in {label} over {base}: {parts} points"
        return Verdict(claim, measured, agrees, clear and not single, single)
    raise ValueError(f"unknown claim kind {claim.kind!r}; expected greater|less|approx|"
                     "smaller_gain")


def check_all(claims: list[PaperClaim], groups: dict[str, list[dict]]) -> list[Verdict]:
    return [check(claim, groups) for claim in claims]
