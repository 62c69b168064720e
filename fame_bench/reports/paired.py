"""Paired statistics over seeds: two rows compared by their per-seed differences.

Rows of a table share their seeds: seed k renders the same synthetic data and the same evaluation
splits for every row, so the difference of two rows on one seed is free of the data's noise. A
comparison uses the seeds present in both rows only and reports the mean difference, its 95 %
confidence interval and a paired t-test p-value:

- CI: Student t with n − 1 degrees of freedom; from ``BOOTSTRAP_MIN_N`` seeds on, a bootstrap
  percentile interval (resampling the differences with a ``numpy`` Generator seeded with
  ``BOOTSTRAP_SEED``, so the same numbers give the same interval).
- p: the two-sided paired t-test (a one-sample t-test of the differences against 0), at every n.

One seed has no spread: its interval and p are NaN and callers say "no noise estimate".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
BOOTSTRAP_MIN_N = 8
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values (differences) with a ``CONFIDENCE`` interval ``[low, high]`` and
    the two-sided t-test p-value against 0; ``method`` is ``"t"``, ``"bootstrap"`` or ``"none"``
    (fewer than two values)."""

    mean: float
    low: float
    high: float
    p_value: float
    n: int
    method: str

    @property
    def has_noise_estimate(self) -> bool:
        return self.n >= 2

    @property
    def above_zero(self) -> bool:
        """The whole interval lies above 0 (beyond noise, positive)."""
        return self.has_noise_estimate and self.low > 0

    @property
    def below_zero(self) -> bool:
        return self.has_noise_estimate and self.high < 0

    @property
    def includes_zero(self) -> bool:
        return self.has_noise_estimate and self.low <= 0 <= self.high

    def fmt(self, scale: float = 100.0, unit: str = " points") -> str:
        """``+1.3 points, 95 % CI [−1.2, +3.8] (Student t, n = 3), p = 0.21``."""
        if self.n == 0:
            return "no values"
        head = f"{self.mean * scale:+.1f}{unit}"
        if not self.has_noise_estimate:
            return f"{head} (n = 1: no confidence interval)"
        name = "Student t" if self.method == "t" else "bootstrap percentile"
        return (f"{head}, {100 * CONFIDENCE:.0f} % CI [{self.low * scale:+.1f}, "
                f"{self.high * scale:+.1f}] ({name}, n = {self.n}), p {_fmt_p(self.p_value)}")

    def brief(self, scale: float = 100.0) -> str:
        """A table cell: ``+1.3 [−1.2, +3.8]`` (the mean and its interval), ``+1.3 (n = 1)``
        or ``—`` (no values)."""
        if self.n == 0:
            return "—"
        if not self.has_noise_estimate:
            return f"{scale * self.mean:+.1f} (n = 1)"
        return f"{scale * self.mean:+.1f} [{scale * self.low:+.1f}, {scale * self.high:+.1f}]"

    def to_dict(self) -> dict:
        """JSON-ready: an undefined figure (one value: no interval, no p) is None, not NaN."""
        def number(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {"mean": number(self.mean), "ci_low": number(self.low),
                "ci_high": number(self.high), "p_value": number(self.p_value), "n": self.n,
                "ci_method": self.method, "confidence": CONFIDENCE}


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return f"= {p:.2g}" if p >= 0.001 else "< 0.001"


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE,
                  seed: int = BOOTSTRAP_SEED) -> Interval:
    """Mean of ``values`` with its confidence interval and the t-test p-value against 0."""
    x = np.asarray([float(v) for v in values], dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"values must be finite, got {values!r}")
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0, "none")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, math.nan, 1, "none")
    sd = float(x.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):
        # Identical differences on every seed: no spread, the interval is the point itself and
        # the t statistic is infinite (scipy would return NaN with a warning).
        return Interval(mean, mean, mean, 0.0 if mean != 0 else 1.0, n,
                        "bootstrap" if n >= BOOTSTRAP_MIN_N else "t")
    p_value = float(scipy_stats.ttest_1samp(x, 0.0).pvalue)
    if n >= BOOTSTRAP_MIN_N:
        low, high = _bootstrap(x, confidence, seed)
        return Interval(mean, low, high, p_value, n, "bootstrap")
    half = t_half_width(x, confidence)
    return Interval(mean, mean - half, mean + half, p_value, n, "t")


def t_half_width(values: Sequence[float], confidence: float = CONFIDENCE) -> float:
    """Half-width of the Student-t interval of the mean of ``values`` (at least two), the rule
    :func:`mean_interval` uses below ``BOOTSTRAP_MIN_N`` values."""
    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    return float(scipy_stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(x.std(ddof=1)) \
        / math.sqrt(n)


def _bootstrap(x: np.ndarray, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile interval of the mean over ``BOOTSTRAP_RESAMPLES`` resamples of ``x``."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, x.size, size=(BOOTSTRAP_RESAMPLES, x.size))
    means = x[index].mean(axis=1)
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Paired:
    """``a − b`` on the seeds both rows have."""

    seeds: tuple[int, ...]
    interval: Interval

    def to_dict(self) -> dict:
        return {"seeds": list(self.seeds), **self.interval.to_dict()}


def paired_difference(a: Mapping[int, float], b: Mapping[int, float]) -> Paired:
    """Per-seed differences ``a[s] − b[s]`` over the seeds in both (``{seed: value}``)."""
    seeds = tuple(sorted(set(a) & set(b)))
    return Paired(seeds, mean_interval([a[s] - b[s] for s in seeds]))


def versus_constant(values: Mapping[int, float], reference: float) -> Paired:
    """``values[s] − reference`` (e.g. a row's accuracy minus chance)."""
    seeds = tuple(sorted(values))
    return Paired(seeds, mean_interval([values[s] - reference for s in seeds]))
