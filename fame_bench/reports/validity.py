"""Learnability checks: can this preset tell the methods apart at all?

Computed from a table's own run records (the gates use the same functions on their runs):

(a) the **oracle** (supervised on ``train_unbiased``, whose labels only motion predicts) reaches a
    motion probe ≥ ``ORACLE_MIN``: the task is learnable by this backbone at this scale;
(b) the **random-init** encoder's motion probe is ≤ ``RANDOM_MAX``: the probe alone does not
    solve it;
(c) every pretraining run's **loss falls** by ≥ ``LOSS_FALL_MIN`` of its chance level (the loss
    of a model that knows nothing; :func:`chance_loss`), read as the mean of the last
    ``TAIL_FRACTION`` of its loss curve;
(d) plain **MoCo beats random init** on the motion probe beyond noise (paired 95 % CI > 0);
(e) the **finetune protocol keeps what the oracle knows**: the oracle's finetune motion probe
    (finetuned on ``train_unbiased``, tested on ``test_swapped``) ≥ ``ORACLE_MIN``. Finetuning
    from weights that already solve the task must not lose it; when it does, the protocol (not
    the pretraining) decides the finetune column, which then measures nothing.

A check that cannot be evaluated (its row is not in the table, one seed only, a chance level
unknown for a real dataset) is reported as not evaluated, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fame_bench.reports.paired import paired_difference
from fame_bench.reports.stats import seed_values, stat

ORACLE_MIN = 0.60
RANDOM_MAX = 0.15
LOSS_FALL_MIN = 0.30
TAIL_FRACTION = 0.10
MOTION = ("linear", "motion_probe_swapped")
FINETUNE_MOTION = ("finetune", "motion_probe_swapped")


@dataclass(frozen=True)
class Check:
    """One learnability check; ``passed`` is None when it could not be evaluated."""

    key: str  # oracle_learns | random_floor | loss_falls | moco_beats_random | finetune_keeps
    title: str
    passed: bool | None
    detail: str  # the measured numbers, or why the check was not evaluated
    failing: tuple[str, ...] = ()  # the rows that failed it (for checks read per row)

    @property
    def mark(self) -> str:
        return "–" if self.passed is None else ("✓" if self.passed else "✗")

    def line(self) -> str:
        return f"{self.mark} {self.title}: {self.detail}"

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "passed": self.passed,
                "mark": self.mark, "detail": self.detail, "failing": list(self.failing)}


def failed(checks: list[Check]) -> list[Check]:
    """The checks evaluated and not passed."""
    return [c for c in checks if c.passed is False]


# --- roles of rows --------------------------------------------------------------------------


def is_oracle(record: dict) -> bool:
    pretrain = (record.get("config") or {}).get("pretrain") or {}
    return record.get("method") == "supervised" and \
        pretrain.get("supervised_split") == "train_unbiased"


def is_random(record: dict) -> bool:
    return record.get("method") == "random"


def is_plain_moco(record: dict) -> bool:
    return record.get("method") == "moco" and (record.get("augment") or {}).get("kind") == "none"


def find_row(groups: dict[str, list[dict]], role) -> str | None:
    """The first row (experiment name) whose records all satisfy ``role``."""
    return next((name for name, records in groups.items()
                 if records and all(role(r) for r in records)), None)


# --- chance level of a pretraining loss -------------------------------------------------------


def chance_loss(record: dict) -> float | None:
    """The pretraining loss of a model that knows nothing (uniform logits), from the record's
    configs; None when the record does not say enough (e.g. VTHCL on a real dataset).

    MoCo: InfoNCE over the positive and a queue of K keys, ln(K + 1) (the symmetric loss is a
    mean of two such terms). Supervised: cross-entropy over the classes, ln(num_classes). VTHCL:
    per level, two InfoNCE terms (slow→fast and fast→slow) over 1 + K' logits, summed over levels
    with weight 1 (``methods/vthcl.py``), K' = the negatives drawn: ``vthcl_num_negatives``, or
    the whole memory bank (one entry per pretraining video) when that is smaller.
    """
    config = record.get("config") or {}
    pretrain = config.get("pretrain") or {}
    data = config.get("data") or {}
    method = record.get("method")
    if method == "moco" and pretrain.get("queue_size"):
        return math.log(int(pretrain["queue_size"]) + 1)
    if method == "supervised" and data.get("num_classes"):
        return math.log(int(data["num_classes"]))
    if method == "vthcl" and pretrain.get("vthcl_levels"):
        negatives = int(pretrain.get("vthcl_num_negatives") or 0)
        if pretrain.get("vthcl_negatives", "bank") == "bank":
            instances = int(pretrain.get("num_videos") or data.get("n_pretrain") or 0)
            if not instances:
                return None
            negatives = min(negatives, instances)
        if negatives < 1:
            return None
        return 2 * len(pretrain["vthcl_levels"]) * math.log(negatives + 1)
    return None


def tail_loss(record: dict, fraction: float = TAIL_FRACTION) -> float | None:
    """Mean loss over the last ``fraction`` of the run's steps (``pretrain.loss_curve``)."""
    curve = (record.get("pretrain") or {}).get("loss_curve") or []
    if not curve:
        return None
    first, last = float(curve[0][0]), float(curve[-1][0])
    cut = last - fraction * (last - first)
    tail = [float(loss) for step, loss in curve if float(step) >= cut]
    return sum(tail) / len(tail)


# --- the checks -------------------------------------------------------------------------------


def _pct(values: dict[int, float]) -> str:
    return f"{stat(list(values.values())).fmt()} % ({len(values)} seed{'s' * (len(values) > 1)})"


def _threshold_check(key: str, title: str, row: str | None, groups, role_name: str,
                     bound: float, at_least: bool, metric: tuple[str, str] = MOTION,
                     what: str = "motion probe",
                     absent: str = f"no {' '.join(MOTION)} in the {{row}} records (a real "
                                   "dataset has none)") -> Check:
    """``row``'s mean ``metric`` over its seeds against ``bound``; ``absent`` (with ``{row}``)
    says why it is not evaluated when the records lack the metric."""
    if row is None:
        return Check(key, title, None, f"no {role_name} row in this table")
    values = seed_values(groups[row], *metric)
    if not values:
        return Check(key, title, None, absent.format(row=row))
    mean = stat(list(values.values())).mean
    passed = mean >= bound if at_least else mean <= bound
    return Check(key, title, passed,
                 f"{row} {what} {_pct(values)}, needs {'≥' if at_least else '≤'} "
                 f"{100 * bound:.0f}")


def oracle_check(groups: dict[str, list[dict]]) -> Check:
    return _threshold_check(
        "oracle_learns", f"oracle (supervised on unbiased labels) motion probe ≥ "
        f"{100 * ORACLE_MIN:.0f} %", find_row(groups, is_oracle), groups, "oracle",
        ORACLE_MIN, at_least=True)


def random_check(groups: dict[str, list[dict]]) -> Check:
    return _threshold_check(
        "random_floor", f"random-init motion probe ≤ {100 * RANDOM_MAX:.0f} %",
        find_row(groups, is_random), groups, "random-init", RANDOM_MAX, at_least=False)


def loss_check(groups: dict[str, list[dict]]) -> Check:
    title = (f"every pretraining loss ends ≤ {100 * (1 - LOSS_FALL_MIN):.0f} % of its chance "
             f"level (mean of the last {100 * TAIL_FRACTION:.0f} % of the loss curve)")
    parts, verdicts, failing = [], [], []
    for name, records in groups.items():
        runs = [r for r in records if (r.get("pretrain") or {}).get("loss_curve")]
        if not runs:
            continue
        chances = {chance_loss(r) for r in runs}
        if None in chances or len(chances) != 1:
            parts.append(f"{name}: chance level unknown (not evaluated)")
            continue
        chance = chances.pop()
        loss = stat([tail_loss(r) for r in runs]).mean
        fall = 1.0 - loss / chance
        ok = fall >= LOSS_FALL_MIN
        verdicts.append(ok)
        if not ok:
            failing.append(name)
        parts.append(f"{name} {loss:.3f} = {100 * loss / chance:.0f} % of chance {chance:.3f} "
                     f"{'✓' if ok else '✗'}")
    if not parts:
        return Check("loss_falls", title, None, "no pretraining run in this table")
    passed = None if not verdicts else all(verdicts)
    return Check("loss_falls", title, passed, "; ".join(parts), tuple(failing))


def moco_check(groups: dict[str, list[dict]]) -> Check:
    title = "plain MoCo's motion probe exceeds random init's beyond noise (paired 95 % CI > 0)"
    moco, random = find_row(groups, is_plain_moco), find_row(groups, is_random)
    if moco is None or random is None:
        absent = " and ".join(n for n, r in (("plain MoCo", moco), ("random-init", random))
                              if r is None)
        return Check("moco_beats_random", title, None, f"no {absent} row in this table")
    diff = paired_difference(seed_values(groups[moco], *MOTION),
                             seed_values(groups[random], *MOTION))
    d = diff.interval
    if d.n == 0:
        return Check("moco_beats_random", title, None,
                     f"no motion probe on a seed common to {moco} and {random}")
    if not d.has_noise_estimate:
        return Check("moco_beats_random", title, None,
                     f"one common seed: no noise estimate ({moco} − {random} {d.fmt()})")
    return Check("moco_beats_random", title, d.above_zero, f"{moco} − {random} per seed: {d.fmt()}")


def finetune_check(groups: dict[str, list[dict]]) -> Check:
    return _threshold_check(
        "finetune_keeps", f"the finetune protocol keeps what the oracle learned: oracle finetune "
        f"motion probe ≥ {100 * ORACLE_MIN:.0f} %", find_row(groups, is_oracle), groups, "oracle",
        ORACLE_MIN, at_least=True, metric=FINETUNE_MOTION, what="finetune motion probe",
        absent="no finetune motion probe in the {row} records (finetune off, or a real dataset)")


def learnability_checks(groups: dict[str, list[dict]]) -> list[Check]:
    """Checks (a)–(e) on records grouped by experiment name (rows found by their records:
    method, augmentation and supervised split, whatever the experiment is called)."""
    return [oracle_check(groups), random_check(groups), loss_check(groups), moco_check(groups),
            finetune_check(groups)]
