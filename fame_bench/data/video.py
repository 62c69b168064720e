"""Real video datasets in their official layouts, from a local root
(``docs/synthetic_benchmark.md``, "Real datasets").

``build_dataset(name, root, split, fold, mode, ...)`` reads the split files of UCF101 (folds 1-3),
HMDB51 (folds 1-3), Diving48 V2 or Kinetics-400 and returns a :class:`VideoClipDataset` whose
items are dicts (``mode``):

- ``"pretrain"``: ``{"clips": uint8 (2, C, T, S, S), "index", "label"}`` — two clips from random
  timestamps (MoCo / FAME query and key), each with its own random resized crop and flip.
- ``"vthcl"``: ``{"slow": uint8 (C, T, S, S), "fast": uint8 (C, α·T or T, S, S), "index",
  "label"}`` — one instance at tempo ratio α.
- ``"eval"``: ``{"clips": uint8 (N, C, T, S, S), "label", "index"}`` — ``num_clips`` uniformly
  spaced clips × ``num_crops`` crops (N = clips × crops, clip-major), all cut from one decoding
  pass over the video.

Which frames make each clip: ``fame_bench.data.sampling`` (the rules shared with training and
feature extraction).

A missing, empty, truncated or corrupt video yields ``None``: the epoch goes on. The dataset
names it in a warning and in the ``fame_bench.data`` log and keeps ``skipped`` (path → reason,
in the process that decoded it); :class:`SkipCollate` (or :func:`collate_skip`) drops the ``None``
items of a batch and counts them in the main process. A wrong root or a missing split file is a
:class:`DatasetLayoutError` when the dataset is built, naming the file that was expected.
"""

from __future__ import annotations

import csv
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset, default_collate

from fame_bench.data.decode import VideoDecodeError, decode_frames, probe
from fame_bench.data.sampling import slow_fast_indices, two_clip_indices, uniform_clip_indices
from fame_bench.data.transforms import ClipTransform, eval_crops
from fame_bench.names import REAL_DATASETS

LOG = logging.getLogger("fame_bench.data")
MODES = ("pretrain", "vthcl", "eval")


class DatasetLayoutError(FileNotFoundError):
    """The root or a split file is not where the dataset's official layout puts it."""


@dataclass(frozen=True)
class VideoRecord:
    path: Path
    label: int  # 0-based; -1 when the split has no labels


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise DatasetLayoutError(f"{what}: expected {path} (check --data-root)")
    return path


def _check_fold(fold: int, name: str) -> None:
    if fold not in (1, 2, 3):
        raise ValueError(f"{name} has folds 1, 2, 3; got fold={fold}")


def _check_split(split: str, allowed: tuple[str, ...], name: str) -> None:
    if split not in allowed:
        raise ValueError(f"{name} split must be one of {allowed}, got {split!r}")


class SplitFileError(ValueError):
    """A line or entry of a split file that does not follow the dataset's format."""


def _inside(base: Path, relative: str, file: Path, where: str) -> Path:
    """``base / relative``, refusing a name from a split file that would leave ``base`` (an
    absolute path or a ``..`` component): the dataset root bounds what is read."""
    parts = Path(relative).parts
    if not relative or Path(relative).is_absolute() or ".." in parts:
        raise SplitFileError(f"{file}, {where}: {relative!r} is not a path inside the dataset "
                             f"root {base}")
    return base / relative


# ----------------------------------------------------------------------------- split files


def ucf101_records(root: str | Path, split: str = "train", fold: int = 1) -> list[VideoRecord]:
    """``root/UCF-101/<Class>/v_*.avi`` and ``root/ucfTrainTestlist/{classInd,trainlist0k,
    testlist0k}.txt``; class names are matched without case (folder vs list differ)."""
    _check_split(split, ("train", "test"), "ucf101")
    _check_fold(fold, "ucf101")
    root = _require(Path(root), "UCF101 root")
    lists = _require(root / "ucfTrainTestlist", "UCF101 split folder")
    videos = _require(root / "UCF-101", "UCF101 video folder")
    class_index = {}
    class_file = _require(lists / "classInd.txt", "UCF101 class list")
    for number_line, line in enumerate(class_file.read_text().splitlines(), start=1):
        if line.strip():
            tokens = line.split()
            if len(tokens) != 2 or not tokens[0].isdigit() or int(tokens[0]) < 1:
                raise SplitFileError(f"{class_file}, line {number_line}: expected '<class "
                                     f"number from 1> <ClassName>', got {line.strip()!r}")
            class_index[tokens[1].lower()] = int(tokens[0]) - 1
    list_file = _require(lists / f"{split}list0{fold}.txt", f"UCF101 {split} list, fold {fold}")
    # The real folder of each class, whatever the list's spelling (HandStandPushups ...).
    folders = {p.name.lower(): p for p in videos.iterdir() if p.is_dir()}
    records = []
    for number_line, line in enumerate(list_file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        rel = line.split()[0]
        _inside(videos, rel, list_file, f"line {number_line}")
        if rel.count("/") != 1:
            raise SplitFileError(f"{list_file}, line {number_line}: expected '<Class>/<video>', "
                                 f"got {rel!r}")
        folder, file_name = rel.split("/")
        if folder.lower() not in class_index:
            raise SplitFileError(f"{list_file}, line {number_line}: class {folder!r} of {rel!r} "
                                 f"is not in classInd.txt")
        directory = folders.get(folder.lower(), videos / folder)
        records.append(VideoRecord(directory / file_name, class_index[folder.lower()]))
    return records


def hmdb51_records(root: str | Path, split: str = "train", fold: int = 1) -> list[VideoRecord]:
    """``root/<class>/<video>.avi`` and ``root/testTrainMulti_7030_splits/<class>_test_split<k>
    .txt`` with flags 1 = train, 2 = test, 0 = unused; labels = classes in sorted order."""
    _check_split(split, ("train", "test"), "hmdb51")
    _check_fold(fold, "hmdb51")
    root = _require(Path(root), "HMDB51 root")
    split_dir = _require(root / "testTrainMulti_7030_splits", "HMDB51 split folder")
    suffix = f"_test_split{fold}.txt"
    files = sorted(split_dir.glob(f"*{suffix}"))
    if not files:
        raise DatasetLayoutError(f"HMDB51 split files: expected {split_dir}/<class>{suffix}")
    flag = "1" if split == "train" else "2"
    records = []
    for label, file in enumerate(files):
        cls = file.name[: -len(suffix)]
        for number_line, line in enumerate(file.read_text().splitlines(), start=1):
            parts = line.split()
            if len(parts) == 2 and parts[1] == flag:
                records.append(VideoRecord(
                    _inside(root / cls, parts[0], file, f"line {number_line}"), label))
    return records


def diving48_records(root: str | Path, split: str = "train", fold: int = 1) -> list[VideoRecord]:
    """``root/rgb/<vid_name>.mp4`` and ``root/Diving48_V2_{train,test}.json`` (0-based labels)."""
    _check_split(split, ("train", "test"), "diving48")
    root = _require(Path(root), "Diving48 root")
    videos = _require(root / "rgb", "Diving48 video folder")
    file = _require(root / f"Diving48_V2_{split}.json", f"Diving48 V2 {split} annotations")
    try:
        entries = json.loads(file.read_text())
    except json.JSONDecodeError as err:
        raise SplitFileError(f"{file} is not valid JSON: {err}") from err
    if not isinstance(entries, list):
        raise SplitFileError(f"{file}: expected a JSON list of entries, got "
                             f"{type(entries).__name__}")
    records = []
    for number, entry in enumerate(entries):
        try:
            name, label = entry["vid_name"], int(entry["label"])
            if not isinstance(name, str) or isinstance(entry["label"], bool):
                raise TypeError("vid_name must be a string, label an integer")
        except (KeyError, TypeError, ValueError) as err:
            raise SplitFileError(f"{file}, entry {number}: expected an object with 'vid_name' "
                                 f"and an integer 'label' ({type(err).__name__}: {err})") from None
        records.append(VideoRecord(_inside(videos, f"{name}.mp4", file, f"entry {number}"),
                                   label))
    return records


def k400_records(root: str | Path, split: str = "train", fold: int = 1) -> list[VideoRecord]:
    """``root/kinetics400/{train,validate}.csv`` (``label,youtube_id,time_start,time_end,split``)
    and ``root/<train|validate|val>/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4`` (the folder
    named after the csv, or after its ``split`` column). ``split="test"``
    reads ``validate`` (the official test csv has no labels). Labels: sorted train classes."""
    _check_split(split, ("train", "val", "validate", "test"), "k400")
    root = _require(Path(root), "Kinetics-400 root")
    ann = _require(root / "kinetics400", "Kinetics-400 annotation folder")
    part = "train" if split == "train" else "validate"
    train_csv = _require(ann / "train.csv", "Kinetics-400 train annotations")
    split_csv = _require(ann / f"{part}.csv", f"Kinetics-400 {part} annotations")
    with train_csv.open(newline="") as f:
        reader = csv.DictReader(f)
        if "label" not in (reader.fieldnames or ()):
            raise SplitFileError(f"{train_csv}, line 1: expected a header with a 'label' "
                                 f"column, got {reader.fieldnames}")
        classes = sorted({row["label"] for row in reader})
    index = {name: i for i, name in enumerate(classes)}
    with split_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    # Copies name the video folder after the csv (``validate``) or its split column (``val``).
    folders = [root / part] + [_inside(root, n, split_csv, "column 'split'")
                               for n in sorted({r.get("split") or part for r in rows})]
    video_dir = next((d for d in folders if d.is_dir()), root / part)
    records = []
    for number_line, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            name = (f"{row['youtube_id']}_{int(row['time_start']):06d}_"
                    f"{int(row['time_end']):06d}")
            label = row["label"]
        except (KeyError, TypeError, ValueError) as err:
            raise SplitFileError(
                f"{split_csv}, line {number_line}: expected the columns label, youtube_id, "
                f"time_start, time_end (integers) ({type(err).__name__}: {err})") from None
        path = _inside(video_dir, f"{label}/{name}.mp4", split_csv, f"line {number_line}")
        records.append(VideoRecord(path, index.get(label, -1)))
    return records


RECORD_READERS = {
    "ucf101": ucf101_records,
    "hmdb51": hmdb51_records,
    "diving48": diving48_records,
    "k400": k400_records,
}


# ----------------------------------------------------------------------------- dataset


class VideoClipDataset(Dataset):
    """Clips of the videos in ``records`` (see the module docstring for items and modes).

    Randomness: item ``i`` of epoch ``e`` draws from a ``torch.Generator`` seeded with
    ``(seed, e, i)`` — reproducible whatever the worker; call :meth:`set_epoch` each epoch.
    Until it is called, ``e`` is ``torch.initial_seed()`` of the decoding process: in a
    DataLoader worker that seed is drawn afresh each epoch from the loader's generator, so
    epochs still differ (and repeat when the loader's generator is seeded).
    """

    def __init__(
        self,
        records: list[VideoRecord],
        mode: str = "pretrain",
        clip_len: int = 16,
        stride: int = 2,
        size: int = 112,
        short_side: int | None = 128,
        num_clips: int = 10,
        num_crops: int = 1,
        alpha: int = 4,
        same_span: bool = True,
        crop_scale: tuple[float, float] = (0.2, 1.0),
        flip_p: float = 0.5,
        color: bool = False,
        seed: int = 0,
        name: str = "",
        backend: str = "pyav",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.records, self.mode, self.name = records, mode, name
        self.clip_len, self.stride, self.size, self.short_side = clip_len, stride, size, short_side
        self.num_clips, self.num_crops = num_clips, num_crops
        self.alpha, self.same_span, self.seed = alpha, same_span, seed
        self.epoch: int | None = None
        self.backend = backend
        self.transform = ClipTransform(size=size, scale=crop_scale, flip_p=flip_p, color=color)
        self.skipped: dict[str, str] = {}
        self._frame_counts: dict[Path, int] = {}

    def __len__(self) -> int:
        return len(self.records)

    @property
    def num_skipped(self) -> int:
        return len(self.skipped)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _generator(self, index: int) -> torch.Generator:
        epoch = self.epoch if self.epoch is not None else torch.initial_seed() % (1 << 31)
        return torch.Generator().manual_seed(
            ((self.seed * 1_000_003 + epoch) * 10_000_019 + index) % (1 << 63)
        )

    def _num_frames(self, path: Path) -> int:
        if path not in self._frame_counts:
            self._frame_counts[path] = probe(path).num_frames
        return self._frame_counts[path]

    def _clip(self, path: Path, indices: torch.Tensor, generator) -> torch.Tensor:
        frames = decode_frames(path, indices, self.short_side, self.backend)  # (T, C, H, W)
        return self.transform(frames, generator)  # (C, T, S, S)

    def __getitem__(self, index: int) -> dict | None:
        record = self.records[index]
        try:
            return self._item(index, record)
        except (VideoDecodeError, OSError, ValueError, RuntimeError) as err:
            reason = f"{type(err).__name__}: {err}"
            self.skipped[str(record.path)] = reason
            message = f"skipped video {record.path} ({reason})"
            LOG.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            return None

    def _item(self, index: int, record: VideoRecord) -> dict:
        generator = self._generator(index)
        num_frames = self._num_frames(record.path)
        base = {"index": index, "label": record.label}
        if self.mode == "pretrain":
            first, second = two_clip_indices(num_frames, self.clip_len, self.stride, generator)
            clips = [self._clip(record.path, idx, generator) for idx in (first, second)]
            return {"clips": torch.stack(clips), **base}
        if self.mode == "vthcl":
            slow, fast = slow_fast_indices(
                num_frames, self.clip_len, self.stride, self.alpha, generator, self.same_span
            )
            return {
                "slow": self._clip(record.path, slow, generator),
                "fast": self._clip(record.path, fast, generator),
                **base,
            }
        indices = uniform_clip_indices(num_frames, self.clip_len, self.stride, self.num_clips)
        size = self.short_side or self.size
        # One pass over the video for all its clips: one seek and one forward decode instead of
        # a seek per clip, which for 10 clips costs more than decoding the whole video.
        frames = decode_frames(record.path, indices.reshape(-1), size, self.backend)
        clips = frames.unflatten(0, indices.shape)  # (num_clips, T, C, H, W)
        crops = [eval_crops(clip, self.size, self.num_crops) for clip in clips]
        return {"clips": torch.cat(crops), **base}  # (num_clips * num_crops, C, T, S, S)


class SkipCollate:
    """``collate_fn`` that drops ``None`` items (bad videos), counts them in ``count`` and warns.
    Returns ``None`` for a batch with no good item."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, batch: list):
        good = [item for item in batch if item is not None]
        dropped = len(batch) - len(good)
        if dropped:
            self.count += dropped
            message = f"dropped {dropped} unreadable video(s) from a batch ({self.count} so far)"
            LOG.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        return default_collate(good) if good else None


def collate_skip(batch: list):
    """Stateless :class:`SkipCollate` (warns; use an instance to keep the running count)."""
    return SkipCollate()(batch)


def build_dataset(
    name: str,
    root: str | Path,
    split: str = "train",
    fold: int = 1,
    mode: str = "pretrain",
    clip_len: int = 16,
    stride: int = 2,
    size: int = 112,
    num_clips: int = 10,
    **kwargs,
) -> VideoClipDataset:
    """The dataset ``name`` (``ucf101 | hmdb51 | diving48 | k400``) read from ``root`` in its
    official layout; ``kwargs`` go to :class:`VideoClipDataset` (``num_crops``, ``alpha``,
    ``short_side``, ``flip_p``, ``color``, ``seed`` ...). Missing videos listed in the split are
    counted in one warning here and skipped when drawn."""
    if name not in RECORD_READERS:
        raise ValueError(f"dataset must be one of {REAL_DATASETS}, got {name!r}")
    records = RECORD_READERS[name](root, split, fold)
    if not records:
        raise ValueError(f"{name} {split} fold {fold} under {root}: the split lists no video")
    missing = [r.path for r in records if not r.path.is_file()]
    if missing:
        message = (f"{name} {split}: {len(missing)} of {len(records)} listed videos are missing "
                   f"(first: {missing[0]}); they will be skipped")
        LOG.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return VideoClipDataset(
        records, mode=mode, clip_len=clip_len, stride=stride, size=size, num_clips=num_clips,
        name=name, **kwargs,
    )
