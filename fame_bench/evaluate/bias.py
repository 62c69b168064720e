"""The synthetic background-bias benchmark's evaluation: every split, bias gap, background
reliance, motion probe (``docs/synthetic_benchmark.md``, "Metrics").

- Linear probe trained on ``train`` (biased: the background family is the class with
  probability rho), tested on ``test_biased``, ``test_swapped`` (family never the class) and
  ``test_background_only`` (no foreground).
- **Motion probe**: a second probe trained on ``train_unbiased`` (family independent of the
  class), tested on ``test_swapped``: what the frozen features know about motion. A biased-trained
  probe reads the background even from a random encoder, so this is the number that shows a cure.
- ``bias_gap = test_biased − test_swapped``; ``background_reliance = test_background_only −
  1 / num_classes`` (chance).
- Finetune: the same keys, the whole network trained on ``train`` (and, for the motion probe, a
  second finetune on ``train_unbiased``).
- Retrieval (our choice, ``EvalConfig.retrieval_query_split`` / ``retrieval_gallery_split``):
  ``test_swapped`` videos query a ``train_unbiased`` gallery. With a biased gallery, a query's
  background family would find same-class videos without any motion knowledge; here a
  background match points to a random class, so R@k above its chance level needs motion.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from fame_bench.data.synthetic import check_room, make_split
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.features import extract_features, on_device
from fame_bench.evaluate.finetune import finetune
from fame_bench.evaluate.linear import linear_probe
from fame_bench.evaluate.retrieval import retrieval
from fame_bench.runtime import cpu_threads, resolve_device

TRAIN_SPLIT = "train"
MOTION_TRAIN_SPLIT = "train_unbiased"
TEST_SPLITS = ("test_biased", "test_swapped", "test_background_only")
EVAL_SPLITS = (TRAIN_SPLIT, MOTION_TRAIN_SPLIT, *TEST_SPLITS)


def bias_metrics(accuracy: Mapping[str, float], motion_probe_swapped: float | None,
                 num_classes: int) -> dict[str, float]:
    """The record's section: top-1 per test split, the motion probe, bias gap (biased −
    swapped) and background reliance (background-only − 1/num_classes). A motion probe of
    ``None`` (not run) leaves its key out."""
    missing = [s for s in TEST_SPLITS if s not in accuracy]
    if missing:
        raise ValueError(f"accuracy lacks test splits {missing}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    out = {s: float(accuracy[s]) for s in TEST_SPLITS}
    if motion_probe_swapped is not None:
        out["motion_probe_swapped"] = float(motion_probe_swapped)
    out["bias_gap"] = out["test_biased"] - out["test_swapped"]
    out["background_reliance"] = out["test_background_only"] - 1.0 / num_classes
    return out


def _load_splits(data_cfg, seed: int, max_videos: int) -> dict:
    check_room(data_cfg, EVAL_SPLITS, seed)  # all five at once, before rendering any
    splits = {name: make_split(data_cfg, name, seed) for name in EVAL_SPLITS}
    return {name: _truncate(s.videos, s.labels, max_videos) for name, s in splits.items()}


def _kept(num_videos: int, max_videos: int) -> int:
    """How many of a split's ``num_videos`` are used under the cap ``max_videos`` (0: none)."""
    return min(num_videos, max_videos) if max_videos else num_videos


def _truncate(videos: torch.Tensor, labels: torch.Tensor, max_videos: int):
    # the synthetic labels cycle through the classes (index % K), so a prefix stays balanced
    kept = _kept(videos.shape[0], max_videos)
    return videos[:kept], labels[:kept]


def scored_videos(data_cfg, max_videos: int) -> dict[str, int]:
    """Videos :func:`evaluate_synthetic` scores per split for ``data_cfg`` (a
    ``SyntheticConfig``) under ``EvalConfig.max_videos``; generated videos are never skipped."""
    return {name: _kept(data_cfg.split_size(name), max_videos) for name in EVAL_SPLITS}


def evaluate_synthetic(backbone: nn.Module, data_cfg, eval_cfg: EvalConfig, seed: int = 0,
                       splits: Mapping[str, tuple[torch.Tensor, torch.Tensor]] | None = None
                       ) -> dict[str, dict[str, float]]:
    """Linear probe, motion probe, retrieval and (if ``eval_cfg.finetune_steps > 0``) finetune
    of ``backbone`` on the synthetic benchmark.

    ``data_cfg`` is a ``fame_bench.data.synthetic.SyntheticConfig``; its splits are rendered (or
    read from the cache) with ``seed``, which also seeds the probes and the finetune. Tests pass
    ``splits`` instead: ``{split: (videos uint8 (N, C, T, H, W), labels (N,))}`` for every name in
    ``EVAL_SPLITS``. Returns ``{"linear": {...}, "finetune": {...}, "retrieval": {...}}`` with the
    run record's keys (``docs/interfaces.md``); "finetune" is absent when finetuning is off.
    Runs with ``eval_cfg.threads`` CPU threads.
    """
    with cpu_threads(eval_cfg.threads):
        return _evaluate_synthetic(backbone, data_cfg, eval_cfg, seed, splits)


def _evaluate_synthetic(backbone, data_cfg, eval_cfg: EvalConfig, seed: int, splits
                        ) -> dict[str, dict[str, float]]:
    unknown = [s for s in (eval_cfg.retrieval_query_split, eval_cfg.retrieval_gallery_split)
               if s not in EVAL_SPLITS]
    if unknown:
        raise ValueError(f"EvalConfig retrieval split(s) {unknown} unknown; expected splits "
                         f"among {EVAL_SPLITS}")
    if splits is None:
        splits = _load_splits(data_cfg, seed, eval_cfg.max_videos)
    else:
        missing = [s for s in EVAL_SPLITS if s not in splits]
        if missing:
            raise ValueError(f"splits lacks {missing}; expected every one of {EVAL_SPLITS}")
        splits = {n: _truncate(*splits[n], eval_cfg.max_videos) for n in EVAL_SPLITS}
    num_classes = getattr(data_cfg, "num_classes", None) or \
        1 + max(int(labels.max()) for _, labels in splits.values())

    device = resolve_device(eval_cfg.device)
    frozen = on_device(backbone, device)
    feats = {name: extract_features(frozen, videos, eval_cfg.clip_len, eval_cfg.stride,
                                    eval_cfg.num_clips, eval_cfg.batch_size, device,
                                    eval_cfg.amp_dtype)
             for name, (videos, _) in splits.items()}
    labels = {name: lab for name, (_, lab) in splits.items()}

    tests = {s: (feats[s], labels[s]) for s in TEST_SPLITS}
    probe = linear_probe(feats[TRAIN_SPLIT], labels[TRAIN_SPLIT], tests, eval_cfg, seed,
                         num_classes)
    motion = linear_probe(feats[MOTION_TRAIN_SPLIT], labels[MOTION_TRAIN_SPLIT],
                          {"test_swapped": tests["test_swapped"]}, eval_cfg, seed, num_classes)
    result = {"linear": bias_metrics(probe, motion["test_swapped"], num_classes)}

    if eval_cfg.finetune_steps > 0:
        test_videos = {s: splits[s] for s in TEST_SPLITS}
        tuned = finetune(backbone, *splits[TRAIN_SPLIT], test_videos, eval_cfg, seed,
                         num_classes)
        tuned_motion = None
        if eval_cfg.finetune_motion_probe:
            tuned_motion = finetune(backbone, *splits[MOTION_TRAIN_SPLIT],
                                    {"test_swapped": splits["test_swapped"]}, eval_cfg, seed,
                                    num_classes)["test_swapped"]
        result["finetune"] = bias_metrics(tuned, tuned_motion, num_classes)

    query, gallery = eval_cfg.retrieval_query_split, eval_cfg.retrieval_gallery_split
    result["retrieval"] = retrieval(feats[gallery], labels[gallery], feats[query], labels[query],
                                    eval_cfg.retrieval_ks)
    return result
