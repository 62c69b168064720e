"""The names the command line, the configs and the run records share: one list each of the
methods, augmentations, presets and datasets. At the bottom of the package (no imports): every
module that validates such a name checks it against these, and the CLI offers them as choices.
"""

#: Pretraining methods (``PretrainConfig.method``).
METHODS = ("moco", "vthcl", "supervised")
#: What a table row (``ExperimentSpec.method``) may run: a method, or a random-init backbone.
ROW_METHODS = (*METHODS, "random")
#: Augmentations added to MoCo's views (``PretrainConfig.augment``).
AUGMENTS = ("none", "fame", "be")
#: Presets, each naming a scale of every config (``--preset``).
PRESETS = ("ci", "cpu", "gpu", "paper")
#: Synthetic datasets → the ``SyntheticConfig.variant`` each one generates.
SYNTHETIC_DATASETS = {"synthetic": "bias", "synthetic_finegrained": "finegrained"}
#: Real datasets read from a local root in their official layouts (``data.video``).
REAL_DATASETS = ("ucf101", "hmdb51", "diving48", "k400")
#: Every dataset name ``PretrainConfig.dataset`` accepts.
DATASETS = (*SYNTHETIC_DATASETS, *REAL_DATASETS)
