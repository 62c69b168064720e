"""Small fake dataset trees in the official layouts, holding real encoded videos (PyAV).

Used by the tests and by ``fame_bench.bench.data_throughput``. Frame ``t`` of a written video is
a flat grey of level ``frame_level(t)`` with a bright square moving right, so a decoded frame's
index can be read back from its mean level.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np


def frame_level(t: int) -> int:
    """Grey level of frame ``t`` (distinct for t < 40, robust to codec loss)."""
    return 20 + 5 * t


def synthetic_frames(num_frames: int, height: int = 32, width: int = 32) -> np.ndarray:
    """uint8 ``(T, H, W, 3)``: flat level per frame plus a moving square."""
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    side = max(2, height // 4)
    for t in range(num_frames):
        frames[t] = frame_level(t)
        left = (t * 2) % max(1, width - side)
        frames[t, :side, left : left + side] = 250
    return frames


def write_video(path: str | Path, frames: np.ndarray, fps: int = 25, codec: str | None = None):
    """Encode uint8 ``(T, H, W, 3)`` frames (``.avi``: mpeg4, ``.mp4``: libx264)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = codec or ("libx264" if path.suffix == ".mp4" else "mpeg4")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "ultrafast"}
        else:
            stream.options = {"qscale": "2"}
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def _video(path: Path, frames: int, size: int) -> None:
    write_video(path, synthetic_frames(frames, size, size))


def make_ucf101(root: Path, classes=("ApplyEyeMakeup", "HandstandPushups"), groups=(1, 8),
                frames: int = 24, size: int = 32) -> Path:
    """``UCF-101/<Class>/v_<Class>_gGG_c01.avi`` + ``ucfTrainTestlist``; the folder of class 2
    is spelled ``HandStandPushups`` as in the real release (list: ``HandstandPushups``)."""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text(
        "".join(f"{i + 1} {c}\n" for i, c in enumerate(classes))
    )
    folder_name = {c: ("HandStandPushups" if c == "HandstandPushups" else c) for c in classes}
    for fold in (1, 2, 3):
        train, test = [], []
        for cls in classes:
            for g in groups:
                rel = f"{cls}/v_{cls}_g{g:02d}_c01.avi"
                # Fold k: groups 1..7 test in fold 1; the other folds swap roles, enough to differ.
                is_test = (g <= 7) if fold == 1 else (g > 7)
                (test if is_test else train).append(rel)
                if fold == 1:
                    real = f"{folder_name[cls]}/v_{cls}_g{g:02d}_c01.avi"
                    _video(root / "UCF-101" / real, frames, size)
        (lists / f"trainlist0{fold}.txt").write_text(
            "".join(f"{r} {classes.index(r.split('/')[0]) + 1}\n" for r in train)
        )
        (lists / f"testlist0{fold}.txt").write_text("".join(f"{r}\n" for r in test))
    return root


def make_hmdb51(root: Path, classes=("brush_hair", "cartwheel"), per_class: int = 3,
                frames: int = 24, size: int = 32) -> Path:
    """``<class>/<name>.avi`` + ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt``
    (flags: video 0 train, 1 test, 2 unused in fold 1; rotated in folds 2, 3)."""
    split_dir = root / "testTrainMulti_7030_splits"
    split_dir.mkdir(parents=True, exist_ok=True)
    for cls in classes:
        names = [f"{cls}_video_{k}.avi" for k in range(per_class)]
        for name in names:
            _video(root / cls / name, frames, size)
        for fold in (1, 2, 3):
            flags = ["1", "2", "0"]
            flags = flags[fold - 1 :] + flags[: fold - 1]
            lines = [f"{n} {flags[k % 3]}\n" for k, n in enumerate(names)]
            (split_dir / f"{cls}_test_split{fold}.txt").write_text("".join(lines))
    return root


def make_diving48(root: Path, per_split: int = 3, frames: int = 24, size: int = 32) -> Path:
    """``rgb/<vid>.mp4`` + ``Diving48_V2_{train,test}.json`` + ``Diving48_vocab.json``."""
    for split in ("train", "test"):
        entries = []
        for k in range(per_split):
            vid = f"{split}_vid_{k:03d}"
            _video(root / "rgb" / f"{vid}.mp4", frames, size)
            entries.append({"vid_name": vid, "label": (k * 7) % 48, "start_frame": 0,
                            "end_frame": frames - 1})
        (root / f"Diving48_V2_{split}.json").write_text(json.dumps(entries))
    vocab = [["Back", "15som", "NoTwis", "PIKE"]] * 48
    (root / "Diving48_vocab.json").write_text(json.dumps(vocab))
    return root


def make_k400(root: Path, classes=("abseiling", "air drumming"), per_class: int = 2,
              frames: int = 24, size: int = 32, missing: int = 1) -> Path:
    """``kinetics400/{train,validate,test}.csv`` + ``<split>/<label>/<id>_<s:06d>_<e:06d>.mp4``;
    the last ``missing`` rows of train.csv have no video (as in real copies)."""
    ann = root / "kinetics400"
    ann.mkdir(parents=True, exist_ok=True)
    for part in ("train", "validate"):
        rows = []
        for cls in classes:
            for k in range(per_class):
                yid, start = f"{part[:2]}{cls[:3]}{k:05d}".replace(" ", "_"), 10 * k
                rows.append((cls, yid, start, start + 10))
        for n, (cls, yid, s, e) in enumerate(rows):
            if not (part == "train" and n >= len(rows) - missing):
                _video(root / part / cls / f"{yid}_{s:06d}_{e:06d}.mp4", frames, size)
        text = "label,youtube_id,time_start,time_end,split\n" + "".join(
            f"{c},{y},{s},{e},{part}\n" for c, y, s, e in rows
        )
        (ann / f"{part}.csv").write_text(text)
    (ann / "test.csv").write_text("youtube_id,time_start,time_end,split\n")
    return root
