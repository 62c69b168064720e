"""What each report runs: its rows (experiment specs) and what it shows.

Experiment names are shared between tables so the run cache shares runs: ``moco`` in table1,
table4 and table5 is one set of runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from fame_bench.train.experiment import ExperimentSpec

RANDOM = ExperimentSpec("random", "random")
MOCO = ExperimentSpec("moco", "moco")
MOCO_BE = ExperimentSpec("moco_be", "moco", augment="be")
SUPERVISED = ExperimentSpec("supervised", "supervised")
#: The learnability ceiling: supervised on ``train_unbiased``, whose labels only motion predicts
#: (``fame_bench.reports.validity``, check (a)); in every table, next to random init.
ORACLE = ExperimentSpec("oracle", "supervised",
                        pretrain_overrides=(("supervised_split", "train_unbiased"),))
ORACLE_LABEL = "oracle (supervised, unbiased labels)"


def fame(beta: float = 0.5, both: bool = False, variant: str = "fame",
         dataset: str = "synthetic", suffix: str = "") -> ExperimentSpec:
    if variant == "fame":
        name = f"moco_fame_b{beta}" + ("_both" if both else "")
    else:
        name = f"moco_{variant}"
    return ExperimentSpec(name + suffix, "moco", augment="fame", beta=beta, mask_variant=variant,
                          fame_on="both" if both else None, dataset=dataset)


def finegrained(spec: ExperimentSpec) -> ExperimentSpec:
    """The same row on the background-free, fine-grained variant (the Diving48 stand-in)."""
    from dataclasses import replace

    return replace(spec, name=spec.name + "_fg", dataset="synthetic_finegrained")


VTHCL = ExperimentSpec("vthcl", "vthcl", vthcl_alpha=2, vthcl_levels=("res3", "res4", "res5"))
VTHCL_A1 = ExperimentSpec("vthcl_a1", "vthcl", vthcl_alpha=1,
                          vthcl_levels=("res3", "res4", "res5"))
VTHCL_RES5 = ExperimentSpec("vthcl_res5", "vthcl", vthcl_alpha=2, vthcl_levels=("res5",))


@dataclass(frozen=True)
class TableDef:
    """One report: ``rows`` are ``(label, spec)`` pairs, in display order."""

    name: str
    title: str
    what: str
    rows: tuple[tuple[str, ExperimentSpec], ...]
    bar_metrics: tuple[tuple[str, str], ...] = (("linear", "motion_probe_swapped"),
                                                ("linear", "test_swapped"),
                                                ("linear", "test_biased"),
                                                ("linear", "test_background_only"))
    violin_rows: tuple[str, ...] = ()
    mask_gallery: bool = False
    icm: bool = False

    @property
    def names(self) -> list[str]:
        return [spec.name for _, spec in self.rows]

    def label(self, name: str) -> str:
        return dict((spec.name, label) for label, spec in self.rows).get(name, name)


TABLES: dict[str, TableDef] = {
    "table1": TableDef(
        "table1", "Table 1 — FAME's foreground ratio β and FAME on both branches",
        "MoCo v2 pretrained with FAME on one clip of each pair (β = 0.3, 0.5, 0.7; where it "
        "enters MoCo: \"FAME/BE applied to\" below) and on both clips, against plain MoCo; "
        "random-init encoder as the floor, the supervised oracle as the ceiling.",
        (("random init", RANDOM), (ORACLE_LABEL, ORACLE), ("MoCo", MOCO),
         ("MoCo + FAME β=0.3", fame(0.3)), ("MoCo + FAME β=0.5", fame(0.5)),
         ("MoCo + FAME β=0.7", fame(0.7)),
         ("MoCo + FAME β=0.5, both branches", fame(0.5, both=True))),
    ),
    "table2": TableDef(
        "table2", "Table 2 — Diving48 stand-in: fine-grained, background-free motion",
        "Random init, MoCo, MoCo + BE and MoCo + FAME on the fine-grained synthetic variant "
        "(classes differ only in the order of two motion segments); finetune is the paper's "
        "protocol.",
        (("random init", finegrained(RANDOM)), (ORACLE_LABEL, finegrained(ORACLE)),
         ("MoCo", finegrained(MOCO)),
         ("MoCo + BE", finegrained(MOCO_BE)), ("MoCo + FAME β=0.5", finegrained(fame(0.5)))),
        bar_metrics=(("finetune", "test_biased"), ("linear", "test_biased"),
                     ("linear", "motion_probe_swapped")),
    ),
    "table4": TableDef(
        "table4", "Table 4 — FAME's mask variants (Gauss, Seed, Grid, FAME)",
        "MoCo pretrained with each mask variant of FAME (β = 0.5), against plain MoCo; mask IoU "
        "of each variant against the synthetic ground truth. Gauss (random centre) is ours, not "
        "in the paper: Gauss's blob at a random place per clip, a control for the mask's place.",
        (("random init", RANDOM), (ORACLE_LABEL, ORACLE), ("MoCo", MOCO),
         ("MoCo + Gauss", fame(variant="gauss")),
         ("MoCo + Seed", fame(variant="seed")), ("MoCo + Grid", fame(variant="grid")),
         ("MoCo + FAME", fame(0.5)),
         ("MoCo + Gauss (random centre)", fame(variant="gauss_random"))),
        mask_gallery=True,
    ),
    "table5": TableDef(
        "table5", "Table 5 — comparison with prior work",
        "Supervised from scratch, MoCo, MoCo + BE, MoCo + FAME and VTHCL; linear probe, "
        "finetune and retrieval; the paper's Figure 2 (temporal kernel weights per stage).",
        (("random init", RANDOM), (ORACLE_LABEL, ORACLE), ("supervised", SUPERVISED),
         ("MoCo", MOCO),
         ("MoCo + BE", MOCO_BE), ("MoCo + FAME β=0.5", fame(0.5)), ("VTHCL", VTHCL)),
        bar_metrics=(("linear", "motion_probe_swapped"), ("linear", "test_swapped"),
                     ("finetune", "test_swapped"), ("linear", "test_background_only")),
        violin_rows=("supervised", "moco", "moco_fame_b0.5"),
    ),
    "vthcl": TableDef(
        "vthcl", "VTHCL — visual tempo consistency and its ablations",
        "VTHCL (α = 2, res3 + res4 + res5), single tempo (α = 1), and res5 only; "
        "the Instance Correspondence Map.",
        (("random init", RANDOM), (ORACLE_LABEL, ORACLE), ("VTHCL α=2, res3–5", VTHCL),
         ("VTHCL α=1", VTHCL_A1), ("VTHCL res5 only", VTHCL_RES5)),
        icm=True,
    ),
}
