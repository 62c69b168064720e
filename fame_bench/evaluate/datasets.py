"""The evaluation protocols on real datasets (UCF101, HMDB51, Diving48): linear probe, finetune
and retrieval, several clips per video, scores (or features) averaged.

Linear probe and retrieval use frozen features of the eval-mode items (``num_clips`` uniformly
spaced clips × crops per video); retrieval queries the test split against the train split (the
UCF101 / HMDB51 protocol of video SSL papers). Finetune trains on the train split with random
clips and tests on the eval-mode test items.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from fame_bench.data.video import build_dataset
from fame_bench.evaluate.config import EvalConfig
from fame_bench.evaluate.features import extract_dataset_features, on_device
from fame_bench.evaluate.finetune import finetune_dataset
from fame_bench.evaluate.finetune_checkpoint import FinetuneCheckpoint
from fame_bench.evaluate.linear import linear_probe
from fame_bench.evaluate.retrieval import retrieval
from fame_bench.runtime import cpu_threads, resolve_device

NUM_CLASSES = {"ucf101": 101, "hmdb51": 51, "diving48": 48, "k400": 400}
PROTOCOLS = ("linear", "finetune", "retrieval")


@dataclass
class VideoCounts:
    """Videos an evaluation scored and skipped (undecodable: ``None`` items) per split, counted
    in the main process as the frozen features are extracted (the finetune's own reads of the
    train list are not counted: its items are dropped inside DataLoader workers)."""

    scored: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def counted(self, split: str, items: Iterable[dict | None]) -> Iterator[dict | None]:
        """``items`` unchanged, each one counted under ``split``."""
        self.scored.setdefault(split, 0)
        self.skipped.setdefault(split, 0)
        for item in items:
            if item is None:
                self.skipped[split] += 1
            else:
                self.scored[split] += 1
            yield item


def iter_items(dataset: Sequence[dict | None], num_workers: int) -> Iterable[dict | None]:
    """The dataset's items in order, decoded by ``num_workers`` DataLoader workers (0: here)."""
    if num_workers == 0:
        return (dataset[i] for i in range(len(dataset)))
    return torch.utils.data.DataLoader(dataset, batch_size=None, shuffle=False,
                                       num_workers=num_workers)


def evaluate_dataset(backbone: nn.Module, train_set: Sequence[dict | None] | None,
                     test_set: Sequence[dict | None], eval_cfg: EvalConfig, num_classes: int,
                     seed: int = 0, finetune_train_set: Sequence[dict | None] | None = None,
                     counts: VideoCounts | None = None, protocols: Sequence[str] = PROTOCOLS,
                     finetune_checkpoint: FinetuneCheckpoint | None = None
                     ) -> dict[str, dict[str, float]]:
    """``{"linear": {"top1"}, "finetune": {"top1"}, "retrieval": {"R@k"}}`` of ``backbone``.

    ``train_set`` / ``test_set`` yield eval-mode items ``{"clips": (K, C, T, H, W), "label"}``;
    ``finetune_train_set`` (default ``train_set``) yields the finetune's training items (e.g.
    ``mode="pretrain"``: random crops and flips). "finetune" is absent when
    ``eval_cfg.finetune_steps == 0``. ``protocols``: the ones to run (the train set's features
    are extracted only for the linear probe and retrieval; ``train_set`` may then be ``None``).
    Runs with ``eval_cfg.threads`` CPU threads. ``counts`` (optional) receives the videos scored
    and skipped per split (``train``, ``test``). ``finetune_checkpoint``: where the finetune
    saves and resumes itself (``finetune.train_classifier``).
    """
    unknown = set(protocols) - set(PROTOCOLS)
    if unknown or not protocols:
        raise ValueError(f"protocols must be among {PROTOCOLS}, got {tuple(protocols)}")
    with cpu_threads(eval_cfg.threads):
        return _evaluate_dataset(backbone, train_set, test_set, eval_cfg, num_classes, seed,
                                 finetune_train_set, counts or VideoCounts(), tuple(protocols),
                                 finetune_checkpoint)


def _evaluate_dataset(backbone, train_set, test_set, eval_cfg: EvalConfig, num_classes: int,
                      seed: int, finetune_train_set, counts: VideoCounts,
                      protocols: tuple[str, ...], finetune_checkpoint
                      ) -> dict[str, dict[str, float]]:
    device = resolve_device(eval_cfg.device)
    frozen = on_device(backbone, device)
    probes = "linear" in protocols or "retrieval" in protocols
    if probes:
        train_feats, train_labels = extract_dataset_features(
            frozen, counts.counted("train", iter_items(train_set, eval_cfg.num_workers)),
            eval_cfg.batch_size, device, total=len(train_set),
            amp_dtype=eval_cfg.amp_dtype)
        test_feats, test_labels = extract_dataset_features(
            frozen, counts.counted("test", iter_items(test_set, eval_cfg.num_workers)),
            eval_cfg.batch_size, device, total=len(test_set),
            amp_dtype=eval_cfg.amp_dtype)
    result = {}
    if "linear" in protocols:
        result["linear"] = {"top1": linear_probe(train_feats, train_labels,
                                                 {"test": (test_feats, test_labels)}, eval_cfg,
                                                 seed, num_classes)["test"]}
    if "finetune" in protocols and eval_cfg.finetune_steps > 0:
        test_items = iter_items(test_set, eval_cfg.num_workers)
        if not probes:  # the test videos are read here only: count them here
            test_items = counts.counted("test", test_items)
        tuned = finetune_dataset(backbone, finetune_train_set or train_set,
                                 {"test": test_items}, eval_cfg, num_classes, seed,
                                 finetune_checkpoint)
        result["finetune"] = {"top1": tuned["test"]}
    if "retrieval" in protocols:
        result["retrieval"] = retrieval(train_feats, train_labels, test_feats, test_labels,
                                        eval_cfg.retrieval_ks)
    return result


def evenly_spaced(count: int, kept: int) -> list[int]:
    """``kept`` of the indices ``0 .. count - 1`` (all when ``kept`` is 0 or ``>= count``),
    evenly spaced, each the middle of its stretch: deterministic, no random draw."""
    if not kept or kept >= count:
        return list(range(count))
    return [(2 * i + 1) * count // (2 * kept) for i in range(kept)]


def capped(dataset, max_videos: int):
    """``dataset`` (a ``VideoClipDataset``, built here for this evaluation) holding
    ``evenly_spaced`` ``max_videos`` of its listed videos (``EvalConfig.max_videos``; 0: all).
    The split lists run class by class, so a prefix would hold a few classes only."""
    keep = evenly_spaced(len(dataset.records), max_videos)
    if len(keep) < len(dataset.records):
        dataset.records = [dataset.records[i] for i in keep]
    return dataset


def evaluate_named_dataset(backbone: nn.Module, name: str, root: str, eval_cfg: EvalConfig,
                           seed: int = 0, fold: int = 1, size: int = 112,
                           counts: VideoCounts | None = None,
                           protocols: Sequence[str] = PROTOCOLS,
                           finetune_checkpoint: FinetuneCheckpoint | None = None, **dataset_kw
                           ) -> dict[str, dict[str, float]]:
    """``evaluate_dataset`` on ``fame_bench.data.video.build_dataset(name, root, ...)``: split
    ``fold``'s train and test lists, ``eval_cfg.num_clips`` clips of ``clip_len`` frames every
    ``stride`` frames; the finetune trains on the train list in ``mode="pretrain"`` (random
    resized crops, flips). Only the lists ``protocols`` read are opened. ``eval_cfg.max_videos``
    caps each list (``capped``: evenly spaced videos)."""
    if name not in NUM_CLASSES:
        raise ValueError(f"dataset must be one of {sorted(NUM_CLASSES)}, got {name!r}")
    common = dict(fold=fold, clip_len=eval_cfg.clip_len, stride=eval_cfg.stride, size=size,
                  **dataset_kw)
    probes = "linear" in protocols or "retrieval" in protocols
    cap = eval_cfg.max_videos
    train = capped(build_dataset(name, root, "train", mode="eval", num_clips=eval_cfg.num_clips,
                                 **common), cap) if probes else None
    test = capped(build_dataset(name, root, "test", mode="eval", num_clips=eval_cfg.num_clips,
                                **common), cap)
    tune = capped(build_dataset(name, root, "train", mode="pretrain", **common), cap) \
        if eval_cfg.finetune_steps > 0 and "finetune" in protocols else None
    return evaluate_dataset(backbone, train, test, eval_cfg, NUM_CLASSES[name], seed, tune,
                            counts, protocols, finetune_checkpoint)
