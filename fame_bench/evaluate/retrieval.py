"""Nearest-neighbour video retrieval, R@k (``docs/synthetic_benchmark.md``).

Each test video queries the train set by cosine similarity; a query is a hit at k when any of its
k nearest train videos has the query's class (the protocol of VCOP / CoCLR-style video SSL papers
on UCF101 / HMDB51). A video's feature is the mean of its clips' features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from fame_bench.evaluate.linear import as_clip_feats, as_labels


def video_embeddings(feats: torch.Tensor, what: str) -> torch.Tensor:
    """``(N, D)`` or ``(N, K, D)`` → L2-normalised clip-averaged features ``(N, D)``."""
    return F.normalize(as_clip_feats(feats, what).mean(dim=1), dim=-1)


def retrieval(train_feats: torch.Tensor, train_labels: torch.Tensor, test_feats: torch.Tensor,
              test_labels: torch.Tensor, ks: Sequence[int] = (1, 5, 10, 20, 50),
              chunk: int = 1024) -> dict[str, float]:
    """R@k for each k in ``ks``: the fraction of test queries with a same-class train video among
    their k most cosine-similar train videos.

    A k above the gallery size uses the whole gallery. Ties in similarity are broken by
    ``torch.topk`` (deterministic on CPU).
    """
    gallery = video_embeddings(train_feats, "train_feats")
    queries = video_embeddings(test_feats, "test_feats")
    gallery_labels = as_labels(train_labels, gallery.shape[0], "train_labels")
    query_labels = as_labels(test_labels, queries.shape[0], "test_labels")
    if gallery.shape[1] != queries.shape[1]:
        raise ValueError(f"train and test features differ in D: {gallery.shape[1]} vs "
                         f"{queries.shape[1]}")
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive integers, got {tuple(ks)}")
    k_max = min(max(ks), gallery.shape[0])
    # first_hit[i] = rank (0-based) of the first same-class neighbour, k_max when none in reach
    first_hit = torch.empty(queries.shape[0], dtype=torch.long)
    for lo in range(0, queries.shape[0], chunk):
        sims = queries[lo:lo + chunk] @ gallery.T
        nearest = sims.topk(k_max, dim=1).indices  # (q, k_max), most similar first
        same = gallery_labels[nearest] == query_labels[lo:lo + chunk, None]
        ranks = torch.where(same, torch.arange(k_max), torch.full_like(nearest, k_max))
        first_hit[lo:lo + chunk] = ranks.min(dim=1).values
    return {f"R@{k}": (first_hit < min(k, k_max)).float().mean().item() for k in ks}


def retrieval_chance(num_classes: int, ks: Sequence[int] = (1, 5, 10, 20, 50)
                     ) -> dict[str, float]:
    """R@k of a feature that knows nothing, for balanced classes and a large gallery:
    ``1 − (1 − 1/K)^k`` (the floor a table's retrieval column is read against)."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return {f"R@{k}": 1.0 - (1.0 - 1.0 / num_classes) ** k for k in ks}
