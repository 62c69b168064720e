"""Command-line options generated from the config dataclasses, with their meaning, choices and
default.

Each field's meaning is read once from the comments in its class's source (``PretrainConfig``,
``EvalConfig``), so the help text lives next to the field it explains: a trailing comment on the
field's line, and the comment block directly above it. A comment line that heads a group of
fields (``# MoCo v2``; see :func:`field_help`) titles them in ``--help`` instead. ``NOTES`` adds
a sentence for fields whose source carries no comment, or only a terse one. Choices come from
the constants the configs validate against; defaults are the preset's value, listed per preset
where the presets differ.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import io
import json
import textwrap
import tokenize
from dataclasses import dataclass

from fame_bench.augment.fame import MASK_VARIANTS
from fame_bench.data.synthetic import SPLITS
from fame_bench.evaluate.bias import EVAL_SPLITS
from fame_bench.models.backbones import NAMES
from fame_bench.names import DATASETS
from fame_bench.train import config

#: Short comment lines up to this many words head a group of fields.
GROUP_HEADING_WORDS = 3

#: The preset every subcommand uses unless ``--preset`` says otherwise.
DEFAULT_PRESET = "cpu"

#: What each of ``names.PRESETS`` is, for ``--help``.
PRESET_MEANING = {
    "ci": "synthetic 32² clips, tiny R(2+1)D, short runs (CI gates, smoke runs)",
    "cpu": "synthetic 32² clips, tiny R(2+1)D, the reports' scale on a 2-core CPU",
    "gpu": "synthetic 64² clips, one GPU",
    "paper": "the papers' recipe on real datasets (--data-root), GPUs",
}



def preset_help() -> str:
    """``--preset``'s help: what each preset is, and the default."""
    return ("scale of the run: " + "; ".join(f"{k}: {v}" for k, v in PRESET_MEANING.items())
            + f" (default: {DEFAULT_PRESET}, for every subcommand)")


#: One sentence for the fields whose source has no comment (or only a terse one), per config
#: class; shown before the field's comments.
PRETRAIN_NOTES = {
    "preset_name": "the preset this config was built from",
    "method": "what is pretrained",
    "augment": "augmentation of MoCo's clips before the view augmentation: FAME, "
               "Background Erasing, or none",
    "fame_beta": "FAME's foreground ratio β: the fraction of each frame kept as foreground",
    "fame_variant": "how FAME's foreground mask is found (docs/fame.md)",
    "fame_p": "probability that a batch is merged by FAME",
    "be_max_weight": "Background Erasing: largest weight of the static frame mixed into the clip",
    "dataset": "the pretraining data",
    "data_root": "root of the real dataset (its official layout); unused on synthetic data",
    "data_seed": "seed of the rendered synthetic videos",
    "data_overrides": 'on the command line a JSON list of pairs, e.g. [["camera_motion", 2.0]]',
    "fold": "the real dataset's split (1-3)",
    "num_workers": "DataLoader workers decoding real videos",
    "clip_len": "frames per training clip",
    "frame_stride": "frame step within a training clip",
    "backbone": "video encoder (random init; never downloaded)",
    "dim": "MoCo's projection size",
    "queue_size": "MoCo's queue of negatives K",
    "moco_momentum": "momentum m of MoCo's key encoder",
    "temperature": "MoCo's InfoNCE temperature τ",
    "symmetric": "symmetric MoCo loss (each clip is the query once)",
    "bn_splits": "shuffling BatchNorm splits of the key batch (0/1: plain BatchNorm)",
    "vthcl_alpha": "VTHCL's tempo ratio α between the fast and the slow clip",
    "vthcl_same_span": "the fast clip spans the slow clip's time (SlowFast convention)",
    "vthcl_levels": "VTHCL's hierarchy levels with a contrastive head",
    "vthcl_negatives": "VTHCL's negatives: a memory bank of every video, or a queue",
    "vthcl_num_negatives": "negatives per query drawn from VTHCL's bank (or the queue's size)",
    "vthcl_temperature": "VTHCL's InfoNCE temperature",
    "vthcl_bank_momentum": "momentum of VTHCL's memory-bank update",
    "supervised_split": "synthetic split the supervised row trains on",
    "jitter": "colour jitter strengths: brightness, contrast, saturation, hue",
    "jitter_p": "probability of the colour jitter, per clip",
    "grayscale_p": "probability of grayscale, per clip",
    "blur_sigma": "Gaussian blur's σ range (lo, hi)",
    "steps": "pretraining steps",
    "batch_size": "global batch of clips (pairs for MoCo), split across ranks",
    "lr": "peak learning rate (cosine schedule after warm-up)",
    "optimizer": "pretraining optimizer",
    "sgd_momentum": "SGD momentum",
    "weight_decay": "weight decay",
    "warmup_steps": "linear warm-up steps",
    "seed": "seed of the run: initialisation, batches and augmentations",
    "out_dir": "run directory (checkpoint.pt, metrics.jsonl, result.json, run.log)",
    "ckpt_every": "steps between checkpoints",
    "log_every": "steps between the loss curve's points in the result",
    "progress": "progress bar on a terminal, else a line every 10 %",
    "device": "device of the run",
    "amp_dtype": "autocast dtype",
}
EVAL_NOTES = {
    "clip_len": "frames per test (and finetune) clip",
    "stride": "frame step within a test clip",
    "num_clips": "clips per test video, uniformly spaced",
    "linear_epochs": "epochs of the linear probe",
    "linear_lr": "linear probe learning rate",
    "linear_wd": "linear probe weight decay",
    "linear_momentum": "linear probe SGD momentum",
    "linear_batch_size": "clips per linear probe step",
    "linear_schedule": "linear probe learning-rate schedule",
    "finetune_schedule": "finetune learning-rate schedule",
    "finetune_steps": "finetune steps",
    "finetune_lr": "finetune learning rate",
    "finetune_wd": "finetune weight decay",
    "finetune_momentum": "finetune SGD momentum",
    "finetune_batch_size": "videos per finetune step",
    "finetune_dropout": "dropout before the finetune classifier",
    "retrieval_ks": "k of the reported R@k",
    "retrieval_gallery_split": "split whose videos form the retrieval gallery",
}


def _choices() -> dict[str, tuple]:
    """Allowed values of the string fields, from the constants the code validates against."""
    return {
        "method": config.METHODS, "augment": config.AUGMENTS, "fame_variant": MASK_VARIANTS,
        "fame_on": config.FAME_ON, "moco_enqueue": config.MOCO_ENQUEUE,
        "optimizer": config.OPTIMIZERS, "amp_dtype": ("bf16", "fp16"),
        "dataset": DATASETS, "backbone": NAMES,
        "vthcl_negatives": ("bank", "queue"), "supervised_split": SPLITS,
        "linear_schedule": ("cosine", "step"), "finetune_schedule": ("cosine", "step"),
        "retrieval_query_split": EVAL_SPLITS, "retrieval_gallery_split": EVAL_SPLITS,
    }


@dataclass(frozen=True)
class FieldHelp:
    """What the source says about one field: its comments and the group heading above it."""

    text: str  # trailing comment and the comment block directly above, joined ("" if none)
    group: str  # the latest group heading above the field ("" before the first)


@functools.cache
def field_help(cls: type) -> dict[str, FieldHelp]:
    """``{field: FieldHelp}`` of dataclass ``cls``, read from the comments of its source.

    A comment block directly above a field explains it, unless it heads a group: a single line
    of at most ``GROUP_HEADING_WORDS`` words (``# MoCo v2``), after a blank line, or above a
    field without a comment of its own followed by a field without one either (``# colour
    augmentation after FAME/BE ...`` above ``jitter``, ``jitter_p``)."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    comments: dict[int, tuple[bool, str]] = {}  # line number -> (comment-only line, text)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            whole_line = not lines[row - 1][:col].strip()
            comments[row] = (whole_line, tok.string.lstrip("#").strip())
    fields = []  # (name, comment block above, trailing comments)
    for node in ast.parse(source).body[0].body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above, row = [], node.lineno - 1
        while row in comments and comments[row][0]:
            above.insert(0, comments[row][1])
            row -= 1
        after_blank = row >= 1 and not lines[row - 1].strip()
        trailing = [comments[r][1] for r in range(node.lineno, node.end_lineno + 1)
                    if r in comments and not comments[r][0]]
        fields.append((node.target.id, above, trailing, after_blank))
    out, group = {}, ""
    for i, (name, above, trailing, after_blank) in enumerate(fields):
        next_bare = i + 1 < len(fields) and not fields[i + 1][1] and not fields[i + 1][2]
        if len(above) == 1 and (len(above[0].split()) <= GROUP_HEADING_WORDS or after_blank
                                or (not trailing and next_bare)):
            group, above = above[0], []
        out[name] = FieldHelp(" ".join(above + trailing), group)
    return out


NOTES = {"PretrainConfig": PRETRAIN_NOTES, "EvalConfig": EVAL_NOTES}


def help_for(cls: type, name: str) -> str:
    """The field's meaning: its note in ``NOTES``, then its comments ("" when neither)."""
    parts = (NOTES.get(cls.__name__, {}).get(name, ""), field_help(cls)[name].text)
    return "; ".join(p for p in parts if p)


def _shown(value) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) or "(empty)"
    if isinstance(value, dict):
        return json.dumps(value)
    if value == "":
        return '""'
    return str(value)


def default_text(name: str, defaults: dict[str, object]) -> str:
    """``default: X``, or each preset's value when the presets differ."""
    by_value: dict[str, list[str]] = {}
    for preset, cfg in defaults.items():
        by_value.setdefault(_shown(getattr(cfg, name)), []).append(preset)
    if len(by_value) == 1:
        return f"default: {next(iter(by_value))}"
    return "default: " + ", ".join(f"{v} ({', '.join(p)})" for v, p in by_value.items())


def preset_configs(cls: type, presets: tuple[str, ...]) -> dict[str, object]:
    """Each preset's config (presets ``cls`` does not define are left out)."""
    out = {}
    for name in presets:
        try:
            out[name] = cls.preset(name)
        except ValueError:
            continue
    return out


def parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _number_or_text(text: str):
    """A number where ``text`` reads as one, else the text (fields such as ``fame_beta``: a
    float or ``"auto"``)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _nested_tuples(value):
    return tuple(_nested_tuples(v) for v in value) if isinstance(value, list) else value


def field_type(default, annotation: str = ""):
    """The argparse ``type`` for a field with this default and (string) annotation: tuples
    as comma lists, or JSON lists (``[["camera_motion", 2.0]]``) for tuples of pairs; a
    number-or-text field (``float | str``) keeps text that is not a number."""
    if isinstance(default, bool):
        return parse_bool
    if isinstance(default, tuple):
        kind = type(default[0]) if default else str

        def parse_tuple(text: str) -> tuple:
            if text.lstrip().startswith("["):
                return _nested_tuples(json.loads(text))
            return tuple(kind(v) for v in text.split(",") if v)

        return parse_tuple
    if isinstance(default, dict):
        return json.loads
    if not isinstance(default, str) and "str" in str(annotation):
        return _number_or_text
    return type(default)


def _metavar(default) -> str:
    for kind, name in ((bool, "BOOL"), (int, "N"), (float, "X"), (tuple, "A,B,..."),
                       (dict, "JSON")):
        if isinstance(default, kind):
            return name
    return "TEXT"


def add_config_options(parser: argparse.ArgumentParser, cls: type, presets: tuple[str, ...],
                       skip: tuple[str, ...] = (), aliases: dict | None = None,
                       prefix: str = "", untitled: str = "general") -> list[str]:
    """An option ``--field-name`` per field of ``cls`` (minus ``skip``), in argument groups
    titled by the source's group headings, each with its meaning, choices and the presets'
    defaults; the value stays ``None`` when the option is not given (the preset's value then
    applies). Returns the fields' names (``dest``)."""
    blank = cls()
    defaults = preset_configs(cls, presets)
    choices = _choices()
    groups: dict[str, argparse._ArgumentGroup] = {}
    names = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        heading = field_help(cls)[f.name].group or untitled
        title = f"{prefix}{heading}"
        if title not in groups:
            groups[title] = parser.add_argument_group(title)
        text = help_for(cls, f.name)
        flags = [f"--{f.name.replace('_', '-')}", *(aliases or {}).get(f.name, [])]
        kind = field_type(getattr(blank, f.name), f.type)
        extra = {"metavar": _metavar(getattr(blank, f.name))}
        if f.name in choices and kind is str:
            extra = {"choices": choices[f.name]}
        help_text = f"{text} ({default_text(f.name, defaults)})" if text else \
            default_text(f.name, defaults)
        groups[title].add_argument(*flags, dest=f.name, default=None, type=kind,
                                   help=help_text.replace("%", "%%"), **extra)
        names.append(f.name)
    return names
