"""Mean ± std over seeds, per-seed values and chance levels, from run records only."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof = 1; 0 for a single seed) over ``n`` seeds."""

    mean: float
    std: float
    n: int

    def fmt(self, scale: float = 100.0, digits: int = 1) -> str:
        if self.n == 0 or math.isnan(self.mean):
            return "—"
        if self.n == 1:  # one seed has no spread to show (the seeds column says so)
            return f"{self.mean * scale:.{digits}f}"
        return f"{self.mean * scale:.{digits}f} ± {self.std * scale:.{digits}f}"


def stat(values: list[float]) -> Stat:
    """Mean ± std of finite values (NaN/None are ignored and not counted)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return Stat(float("nan"), float("nan"), 0)
    arr = np.asarray(finite, dtype=np.float64)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return Stat(float(arr.mean()), std, int(arr.size))


def group_by_name(records: list[dict]) -> dict[str, list[dict]]:
    """Records grouped by experiment name, in first-seen order, seeds sorted."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["name"], []).append(record)
    return {name: sorted(rs, key=lambda r: r["seed"]) for name, rs in groups.items()}


def metric_values(records: list[dict], protocol: str, key: str) -> list[float]:
    """``record["eval"][protocol][key]`` of each record that has it."""
    out = []
    for record in records:
        value = (record.get("eval") or {}).get(protocol, {}).get(key)
        if value is not None:
            out.append(float(value))
    return out


def metric_stat(records: list[dict], protocol: str, key: str) -> Stat:
    return stat(metric_values(records, protocol, key))


def pretrain_stat(records: list[dict], key: str) -> Stat:
    """Mean ± std of ``record["pretrain"][key]`` (step_ms, augment_ms, augment_share)."""
    return stat([(r.get("pretrain") or {}).get(key) for r in records])


def seed_values(records: list[dict], protocol: str, key: str) -> dict[int, float]:
    """``{seed: record["eval"][protocol][key]}`` over the records that have a finite value."""
    out = {}
    for record in records:
        value = (record.get("eval") or {}).get(protocol, {}).get(key)
        if value is not None and math.isfinite(float(value)):
            out[int(record["seed"])] = float(value)
    return out


#: Metrics that are top-1 accuracies (chance = 1 / num_classes); the rest (bias gap, background
#: reliance, R@k) have no such chance level.
ACCURACY_KEYS = ("test_biased", "test_swapped", "test_background_only", "motion_probe_swapped",
                 "top1")


def num_classes(records: list[dict]) -> int | None:
    """The class count of the synthetic data the records were evaluated on (None: unknown)."""
    for record in records:
        classes = ((record.get("config") or {}).get("data") or {}).get("num_classes")
        if classes:
            return int(classes)
    return None


def chance_accuracy(records: list[dict]) -> float | None:
    """Top-1 of a guess, 1 / num_classes (0.10 on the 10-class synthetic benchmark)."""
    classes = num_classes(records)
    return 1.0 / classes if classes else None
