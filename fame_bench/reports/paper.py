"""The papers' numbers and claimed shapes, as data (the tables: ``docs/synthetic_benchmark.md``).

Two kinds of entry, never mixed with measurements:

- :class:`PaperNumber` — a figure printed in a paper (or the authors' README), with its source.
  Reports print these in their own, labelled table.
- :class:`PaperClaim` — a claimed *shape* ("β = 0.3 beats the baseline"). Each claim names the
  rows of our table it maps to and a comparison kind; :mod:`fame_bench.reports.verdicts` checks
  it against the measured per-seed differences.

Row names are the experiment names of :mod:`fame_bench.reports.reproduce` (e.g. ``moco``,
``moco_fame_b0.5``), so a claim is tied to the runs that test it.
"""

from __future__ import annotations

from dataclasses import dataclass

FAME_PAPER = "FAME (Ding et al., CVPR 2022)"
FAME_README = "FAME authors' README"
BE_PAPER = "BE (Wang et al., CVPR 2021)"
VTHCL_PAPER = "VTHCL (Yang et al., arXiv 2006.15489)"
SPEC_SHAPE = "docs/synthetic_benchmark.md, 'Beyond the papers' (shape the papers imply)"
#: fame-bench's own hypotheses, each written down before the runs that test it.
OURS = "fame-bench, docs/calibration.md (our hypothesis, stated before its runs)"


@dataclass(frozen=True)
class PaperNumber:
    """One number printed in a paper: top-1 accuracy (%) or a difference in points."""

    table: str  # our report name: table1, table2, table4, table5, vthcl
    source: str  # paper and its table / section
    row: str  # the paper's row label
    pretrain: str  # pretraining set
    evaluation: str  # downstream dataset and protocol
    value: float
    unit: str = "% top-1"
    note: str = ""


@dataclass(frozen=True)
class PaperClaim:
    """A claimed shape, checked against our measured table.

    ``kind``:
      - ``"greater"``: rows[0] > rows[1] on ``metric``.
      - ``"approx"``: rows[0] ≈ rows[1]: their difference lies within ± ``margin`` (an
        equivalence margin, in accuracy units: 0.02 = 2 points).
      - ``"smaller_gain"``: the gain of rows[0] over ``base`` is smaller than the gain of every
        row in rows[1:] over ``base``.
      - ``"less"``: rows[0] < rows[1] on ``metric`` (used for bias gaps).
    ``metric`` is ``(protocol, key)`` in the run record's ``eval`` block. Rows are compared by
    their per-seed differences (:mod:`fame_bench.reports.verdicts`).
    """

    table: str
    source: str
    text: str
    kind: str
    rows: tuple[str, ...]
    metric: tuple[str, str] = ("linear", "motion_probe_swapped")
    base: str = ""
    margin: float = 0.02

    @property
    def voice(self) -> str:
        """Who says so, for the verdict's sentence: a paper, the shape papers imply, or us."""
        if self.source == OURS:
            return "We hypothesised"
        return "The papers imply" if self.source == SPEC_SHAPE else "The paper reports"


def _n(table, source, row, pretrain, evaluation, value, unit="% top-1", note=""):
    return PaperNumber(table, source, row, pretrain, evaluation, value, unit, note)


NUMBERS: tuple[PaperNumber, ...] = (
    # table2 — Diving48
    _n("table2", f"{FAME_PAPER}, Table 2", "FAME − random init", "K400", "Diving48 finetune",
       15.5, "points"),
    _n("table2", f"{BE_PAPER}", "MoCo + BE − MoCo", "UCF101", "Diving48 finetune", 14.5,
       "points"),
    # table5 — comparison with other methods
    _n("table5", f"{FAME_PAPER}, Table 5", "MoCo + FAME, R(2+1)D", "K400", "UCF101 finetune",
       84.8),
    _n("table5", f"{FAME_PAPER}, Table 5", "MoCo + FAME, R(2+1)D", "K400", "HMDB51 finetune",
       53.5),
    _n("table5", FAME_README, "MoCo + FAME, I3D (released checkpoint)", "K400",
       "UCF101 finetune", 88.9),
    _n("table5", f"{FAME_PAPER}, Table 5", "FAME − BE, I3D", "K400", "UCF101 finetune", 1.8,
       "points"),
    _n("table5", f"{FAME_PAPER}, Table 5", "FAME − BE, I3D", "K400", "HMDB51 finetune", 5.7,
       "points"),
    _n("table5", BE_PAPER, "MoCo + BE − MoCo", "UCF101", "UCF101 finetune", 16.4, "points"),
    _n("table5", BE_PAPER, "MoCo + BE − MoCo", "UCF101", "HMDB51 finetune", 19.1, "points"),
    # vthcl
    _n("vthcl", VTHCL_PAPER, "VTHCL, 3D-ResNet-18 (8 frames)", "K400", "UCF101 finetune", 80.6),
    _n("vthcl", VTHCL_PAPER, "VTHCL, 3D-ResNet-18 (8 frames)", "K400", "HMDB51 finetune", 48.6),
    _n("vthcl", VTHCL_PAPER, "VTHCL, 3D-ResNet-50 (8 frames)", "K400", "UCF101 finetune", 82.1),
    _n("vthcl", VTHCL_PAPER, "VTHCL, 3D-ResNet-50 (8 frames)", "K400", "HMDB51 finetune", 49.2),
)

CLAIMS: tuple[PaperClaim, ...] = (
    # table1 — β ablation (paper: ≈ +6 points for β 0.3 and 0.5 on UCF101 and HMDB51)
    PaperClaim("table1", f"{FAME_PAPER}, Table 1",
               "β = 0.3 beats the MoCo baseline (by about 6 points on UCF101 and HMDB51)",
               "greater", ("moco_fame_b0.3", "moco")),
    PaperClaim("table1", f"{FAME_PAPER}, Table 1",
               "β = 0.5 beats the MoCo baseline (by about 6 points on UCF101 and HMDB51)",
               "greater", ("moco_fame_b0.5", "moco")),
    PaperClaim("table1", f"{FAME_PAPER}, Table 1", "β = 0.7 still beats the MoCo baseline",
               "greater", ("moco_fame_b0.7", "moco")),
    PaperClaim("table1", f"{FAME_PAPER}, Table 1",
               "β = 0.7 gains less over the baseline than β = 0.3 and β = 0.5",
               "smaller_gain", ("moco_fame_b0.7", "moco_fame_b0.3", "moco_fame_b0.5"),
               base="moco"),
    PaperClaim("table1", f"{FAME_PAPER}, Table 1",
               "FAME on both branches ≈ FAME on the query only (difference within noise)",
               "approx", ("moco_fame_b0.5_both", "moco_fame_b0.5")),
    # table2 — Diving48 stand-in (fine-grained, background-free): finetune accuracy
    PaperClaim("table2", f"{FAME_PAPER}, Table 2",
               "FAME pretraining beats random initialisation (by 15.5 points, K400)",
               "greater", ("moco_fame_b0.5_fg", "random_fg"), metric=("finetune", "test_biased")),
    PaperClaim("table2", f"{FAME_PAPER}, Table 2", "BE is far less effective than FAME",
               "greater", ("moco_fame_b0.5_fg", "moco_be_fg"),
               metric=("finetune", "test_biased")),
    # table4 — mask variants
    *(
        PaperClaim("table4", f"{FAME_PAPER}, Table 4", f"{label} beats the MoCo baseline",
                   "greater", (row, "moco"))
        for label, row in (("Gauss", "moco_gauss"), ("Seed", "moco_seed"),
                           ("Grid", "moco_grid"), ("FAME", "moco_fame_b0.5"))
    ),
    PaperClaim("table4", f"{FAME_PAPER}, Table 4", "Seed beats Gauss (finer mask, higher accuracy)",
               "greater", ("moco_seed", "moco_gauss")),
    PaperClaim("table4", f"{FAME_PAPER}, Table 4", "Grid beats Seed (finer mask, higher accuracy)",
               "greater", ("moco_grid", "moco_seed")),
    PaperClaim("table4", f"{FAME_PAPER}, Table 4",
               "Grid ≈ FAME with UCF101 pretraining (with K400, Grid is > 2 points below FAME)",
               "approx", ("moco_grid", "moco_fame_b0.5")),
    PaperClaim("table4", OURS,
               "a mask at one fixed place (Gauss: always the centre) trains better than the same "
               "blob at a random place per clip (Gauss, random centre)",
               "greater", ("moco_gauss", "moco_gauss_random")),
    # table5 — comparison with other methods (linear probe is our motion probe)
    PaperClaim("table5", f"{FAME_PAPER}, Table 5",
               "MoCo + FAME beats MoCo + BE (by 1.8 / 5.7 points, I3D)", "greater",
               ("moco_fame_b0.5", "moco_be")),
    PaperClaim("table5", BE_PAPER, "MoCo + BE beats MoCo (by 16.4 / 19.1 points)", "greater",
               ("moco_be", "moco")),
    PaperClaim("table5", f"{FAME_PAPER}, Table 5", "MoCo + FAME beats MoCo", "greater",
               ("moco_fame_b0.5", "moco")),
    PaperClaim("table5", f"{FAME_PAPER}, Table 5",
               "MoCo + FAME beats MoCo + BE after finetuning", "greater",
               ("moco_fame_b0.5", "moco_be"), metric=("finetune", "test_swapped")),
    # vthcl
    PaperClaim("vthcl", VTHCL_PAPER, "hierarchical loss (res3 + res4 + res5) beats res5 only",
               "greater", ("vthcl", "vthcl_res5")),
    PaperClaim("vthcl", VTHCL_PAPER, "a larger tempo ratio (α = 2) beats single tempo (α = 1)",
               "greater", ("vthcl", "vthcl_a1")),
    # beyond the papers: the bias gap (biased − swapped, linear probe trained on biased data)
    *(
        PaperClaim(table, SPEC_SHAPE, f"{label} shrinks MoCo's bias gap", "less",
                   (row, "moco"), metric=("linear", "bias_gap"))
        for table in ("table5",)
        for label, row in (("BE", "moco_be"), ("FAME", "moco_fame_b0.5"))
    ),
    PaperClaim("table5", SPEC_SHAPE, "FAME shrinks the bias gap more than BE", "less",
               ("moco_fame_b0.5", "moco_be"), metric=("linear", "bias_gap")),
    PaperClaim("table1", SPEC_SHAPE, "FAME (β = 0.5) shrinks MoCo's bias gap", "less",
               ("moco_fame_b0.5", "moco"), metric=("linear", "bias_gap")),
)

#: Where our implementation follows the code rather than a paper's text, or differs from the
#: authors' code, so a reader does not mistake it for the paper's setting. The full list, with
#: reasons: ``docs/deviations.md``.
DEPARTURES: dict[str, tuple[str, ...]] = {
    "common": (
        "MoCo uses the symmetric loss (both clips serve once as query), as the FAME code does; "
        "the FAME paper's text describes one query branch (docs/moco.md).",
        "FAME (and BE) enter MoCo where the FAME code puts them unless `fame_on` says otherwise "
        "(which mode each row ran: \"What was run\"): `first` merges the first clip of each "
        "pair once, so the merged clip is the query in one direction and the key in the other, "
        "and the key encoder and the queue see merged clips; the paper's text speaks of the "
        "query. `queries` (merged clips only as queries) is fame-bench's earlier reading.",
        "The queue is filled after each direction of the symmetric loss, as in the FAME code "
        "(`moco_enqueue`): the second direction's query then has its own clip's key among its "
        "negatives.",
        "FAME's colour code uses the authors' code's hue quirk (hue in radians multiplied by 2π "
        "again) by default; `hue=\"turns\"` is the evident intent (docs/fame.md, step 2.3).",
        "View augmentation: colour jitter, then grayscale, then Gaussian blur (p 0.5, kernel "
        "int(0.1·H)//2·2+1). The code greys before jittering (the same distribution up to "
        "clamping: jitter's saturation and hue are no-ops on a grey clip in either order) and "
        "draws one blur σ ~ U(0.1, 2) per training run; we draw σ per clip (`blur_sigma`). "
        "The values each row used are under \"What was run\" (docs/deviations.md).",
        "Single device: shuffle-BN is replaced by split-batch BN in the key encoder "
        "(docs/moco.md, our choice).",
    ),
    "table2": (
        "Stand-in for Diving48: the fine-grained, background-free synthetic variant (classes "
        "differ only in the order of two motion segments); with `--data-root`, real Diving48.",
    ),
    "table4": (
        "Mask IoU against the ground truth is our addition: the paper had no ground-truth masks.",
        "The Gauss (random centre) row is ours, not in the paper (no paper number or claim): "
        "Gauss's blob centred at a random pixel per clip, a control that separates a mask at a "
        "fixed place from one whose place varies per clip (docs/fame.md).",
    ),
    "vthcl": (
        "VTHCL publishes no code: negatives come from a per-level memory bank (docs/vthcl.md); "
        "the temperature 0.07 and the fast clip's span are our choices.",
        "A query's own bank entry (its positive) is left out of its negatives, so it is not "
        "counted twice in the denominator (docs/vthcl.md).",
        "Transfer to AVA and Epic-Kitchens is out of scope (datasets absent).",
    ),
    "table5": (),
}

#: How BE as its authors run it differs from BE here (reports with a BE row): fame-bench puts BE
#: at FAME's place so that the two are compared under identical augmentation (docs/be.md).
BE_DEPARTURES: tuple[str, ...] = (
    "BE runs at FAME's place (same clip, same symmetric MoCo loss, same `fame_on`, same view "
    "augmentation), so BE and FAME are compared under identical conditions. The BE authors' own "
    "loop differs (docs/be.md): their key is a second augmentation of the *same frames* (here: "
    "a clip from another time of the video); they add a clip of the same video from another "
    "time as an extra negative; their loss is one-directional (the distracted clip is only ever "
    "the query).",
    "BE's temporal-consistency extra loss is commented out in the authors' released code: "
    "left out here too.",
)


def numbers_for(table: str) -> list[PaperNumber]:
    """The paper numbers printed beside report ``table``."""
    return [n for n in NUMBERS if n.table == table]


def claims_for(table: str) -> list[PaperClaim]:
    """The claimed shapes checked in report ``table``."""
    return [c for c in CLAIMS if c.table == table]


def departures_for(table: str, has_be: bool = False) -> list[str]:
    """Common departures, the table's own, and BE's when the table has a BE row (``has_be``)."""
    be = BE_DEPARTURES if has_be else ()
    return [*DEPARTURES["common"], *DEPARTURES.get(table, ()), *be]
