"""A dataset copy checked before a long run (``fame-bench check-data``).

Every video the split files list (every split and fold) is opened and its first frame decoded;
the counts of missing and undecodable videos are kept per split and fold. A checksum manifest
(SHA-256 of each listed video and of the split files, paths relative to the root) can be written,
and a copy verified against one: a file whose bytes differ, one the manifest does not cover and
one it names that is gone are each reported.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fame_bench.data.decode import decode_frames, probe
from fame_bench.data.video import RECORD_READERS
from fame_bench.progress import StageProgress

MANIFEST_VERSION = 1

#: (split, fold) lists of each dataset: the three official folds of UCF101 and HMDB51, the one
#: split of Diving48 and Kinetics-400 (whose labelled held-out list is ``validate``).
SPLITS = {
    "ucf101": [(s, f) for f in (1, 2, 3) for s in ("train", "test")],
    "hmdb51": [(s, f) for f in (1, 2, 3) for s in ("train", "test")],
    "diving48": [("train", None), ("test", None)],
    "k400": [("train", None), ("validate", None)],
}
#: The split and annotation files each reader (``data.video``) opens, relative to the root.
SPLIT_FILES = {
    "ucf101": ("ucfTrainTestlist/*.txt",),
    "hmdb51": ("testTrainMulti_7030_splits/*.txt",),
    "diving48": ("Diving48_V2_*.json", "Diving48_vocab.json"),
    "k400": ("kinetics400/*.csv",),
}


def listed_videos(dataset: str, root: str | Path) -> dict[tuple[str, int | None], list[Path]]:
    """The videos each ``(split, fold)`` of ``dataset`` lists (a wrong root or a missing split
    file: ``DatasetLayoutError``)."""
    if dataset not in SPLITS:
        raise ValueError(f"dataset must be one of {tuple(SPLITS)}, got {dataset!r}")
    return {(split, fold): [r.path for r in RECORD_READERS[dataset](root, split, fold or 1)]
            for split, fold in SPLITS[dataset]}


def video_problem(path: Path) -> str | None:
    """``None`` when the video opens and its first frame decodes, else ``"missing"`` or the
    reason it does not decode."""
    if not path.is_file():
        return "missing"
    try:
        probe(path)
        decode_frames(path, [0])
    except Exception as err:  # noqa: BLE001 - whatever a corrupt file raises is its verdict
        return f"{type(err).__name__}: {' '.join(str(err).split())}"
    return None


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _mapped(function: Callable, paths: list[Path], workers: int, desc: str) -> list:
    """``function`` of each path, in order, on ``workers`` threads, with progress lines."""
    with StageProgress(len(paths), desc, unit="files") as progress, \
            ThreadPoolExecutor(max(1, workers)) as pool:
        out = []
        for value in pool.map(function, paths):
            out.append(value)
            progress.update()
    return out


def check_dataset(dataset: str, root: str | Path, workers: int = 1) -> dict:
    """Every listed video probed: ``{"dataset", "root", "videos", "splits": [{"split", "fold",
    "listed", "missing", "undecodable"}], "missing": [...], "undecodable": {path: reason},
    "ok"}`` (paths relative to ``root``; each video probed once, whatever lists it)."""
    root = Path(root)
    lists = listed_videos(dataset, root)
    paths = sorted({p for listed in lists.values() for p in listed})
    problems = dict(zip(paths, _mapped(video_problem, paths, workers, "check-data: videos"),
                        strict=True))
    splits = []
    for (split, fold), listed in lists.items():
        found = [problems[p] for p in listed]
        splits.append({"split": split, "fold": fold, "listed": len(listed),
                       "missing": sum(f == "missing" for f in found),
                       "undecodable": sum(f not in (None, "missing") for f in found)})
    missing = [_relative(p, root) for p in paths if problems[p] == "missing"]
    undecodable = {_relative(p, root): why for p, why in problems.items()
                   if why not in (None, "missing")}
    return {"dataset": dataset, "root": str(root), "videos": len(paths), "splits": splits,
            "missing": missing, "undecodable": undecodable,
            "ok": not missing and not undecodable}


def manifest_files(dataset: str, root: str | Path) -> list[Path]:
    """The files a manifest covers: the split files and every listed video that exists."""
    root = Path(root)
    split_files = sorted(p for pattern in SPLIT_FILES[dataset] for p in root.glob(pattern))
    videos = sorted({p for listed in listed_videos(dataset, root).values() for p in listed
                     if p.is_file()})
    return split_files + videos


def make_manifest(dataset: str, root: str | Path, workers: int = 1) -> dict:
    """``{"schema_version", "dataset", "algorithm": "sha256", "files": {path: hex}}``."""
    root = Path(root)
    files = manifest_files(dataset, root)
    digests = _mapped(sha256_of, files, workers, "check-data: sha256")
    return {"schema_version": MANIFEST_VERSION, "dataset": dataset, "algorithm": "sha256",
            "files": {_relative(p, root): d for p, d in zip(files, digests, strict=True)}}


def check_manifest(manifest: object, dataset: str, source: str) -> dict[str, str]:
    """The manifest's ``{path: sha256}``; a ``ValueError`` naming ``source`` when it is not a
    manifest of ``dataset``."""
    if not (isinstance(manifest, dict) and manifest.get("algorithm") == "sha256"
            and isinstance(manifest.get("files"), dict)
            and all(isinstance(k, str) and isinstance(v, str)
                    for k, v in manifest["files"].items())):
        raise ValueError(f"{source} is not a check-data manifest (expected 'algorithm': "
                         f"'sha256' and 'files': {{path: sha256}})")
    if manifest.get("dataset") != dataset:
        raise ValueError(f"{source} is a manifest of {manifest.get('dataset')!r}, not of "
                         f"{dataset!r}")
    return manifest["files"]


def verify_manifest(expected: dict[str, str], dataset: str, root: str | Path,
                    workers: int = 1) -> dict:
    """The copy under ``root`` against ``expected`` (``{path: sha256}``): ``{"files",
    "mismatched", "not_in_manifest", "gone", "ok"}``; ``gone``: named by the manifest, not on
    disk."""
    root = Path(root)
    present = {_relative(p, root): p for p in manifest_files(dataset, root)}
    covered = [rel for rel in present if rel in expected]
    digests = _mapped(sha256_of, [present[rel] for rel in covered], workers,
                      "check-data: sha256")
    mismatched = [rel for rel, d in zip(covered, digests, strict=True) if d != expected[rel]]
    not_in_manifest = [rel for rel in present if rel not in expected]
    gone = sorted(rel for rel in expected if not (root / rel).is_file())
    return {"files": len(expected), "mismatched": mismatched, "not_in_manifest": not_in_manifest,
            "gone": gone, "ok": not (mismatched or not_in_manifest or gone)}


def table(report: dict, shown: int = 10) -> str:
    """The report as a small text table, then the first ``shown`` problem files of each kind."""
    lines = [f"{report['dataset']} under {report['root']}: {report['videos']} videos, "
             f"{len(report['missing'])} missing, {len(report['undecodable'])} undecodable",
             f"{'split':<9} {'fold':>4} {'listed':>7} {'missing':>8} {'undecodable':>12}"]
    for row in report["splits"]:
        fold = "-" if row["fold"] is None else row["fold"]
        lines.append(f"{row['split']:<9} {fold:>4} {row['listed']:>7} {row['missing']:>8} "
                     f"{row['undecodable']:>12}")
    kinds: list[tuple[str, Iterable[str]]] = [
        ("missing", report["missing"]),
        ("undecodable", (f"{p} ({why})" for p, why in report["undecodable"].items()))]
    manifest = report.get("manifest", {})
    if "verified" in manifest:
        lines.append(f"manifest {manifest['verified']}: {manifest['files']} files, "
                     f"{len(manifest['mismatched'])} mismatched, "
                     f"{len(manifest['not_in_manifest'])} not in it, {len(manifest['gone'])} "
                     f"gone")
        kinds += [(k, manifest[k]) for k in ("mismatched", "not_in_manifest", "gone")]
    elif "written" in manifest:
        lines.append(f"manifest written: {manifest['written']} ({manifest['files']} files)")
    for kind, items in kinds:
        items = list(items)
        for item in items[:shown]:
            lines.append(f"  {kind}: {item}")
        if len(items) > shown:
            lines.append(f"  {kind}: ... {len(items) - shown} more (in the JSON)")
    return "\n".join(lines)
