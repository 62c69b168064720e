"""Real-video loaders on small fake trees in each official layout, with real encoded videos."""

from __future__ import annotations

import logging

import av
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fame_bench.data.decode import VideoDecodeError, decode_frames, probe, torchcodec_available
from fame_bench.data.fake_layouts import (
    frame_level,
    make_diving48,
    make_hmdb51,
    make_k400,
    make_ucf101,
    synthetic_frames,
    write_video,
)
from fame_bench.data.video import (
    DatasetLayoutError,
    SkipCollate,
    build_dataset,
    collate_skip,
    hmdb51_records,
    k400_records,
    ucf101_records,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("layouts")
    return {
        "ucf101": make_ucf101(base / "ucf"),
        "hmdb51": make_hmdb51(base / "hmdb"),
        "diving48": make_diving48(base / "diving"),
        "k400": make_k400(base / "k400"),
    }


def _background_level(frames: torch.Tensor) -> torch.Tensor:
    """Mean of the bottom-right corner (never covered by the moving square), per frame."""
    return frames[:, :, -6:, -6:].float().mean((1, 2, 3))


def _decode_all(path) -> torch.Tensor:
    with av.open(str(path)) as container:
        images = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_decode_seeks_to_the_requested_frames(tmp_path, suffix):
    path = write_video(tmp_path / f"v{suffix}", synthetic_frames(40))
    assert probe(path).num_frames == 40
    wanted = [31, 3, 17, 17, 39, 12]
    frames = decode_frames(path, wanted)
    assert frames.shape == (6, 3, 32, 32) and frames.dtype == torch.uint8
    every = _decode_all(path)  # sequential decode, no seeking: the reference
    assert torch.equal(frames, every[wanted])
    expected = torch.tensor([frame_level(i) for i in wanted], dtype=torch.float32)
    assert (_background_level(frames) - expected).abs().max() < 6
    small = decode_frames(path, [0, 1], short_side=16)
    assert small.shape == (2, 3, 16, 16)


@pytest.mark.skipif(not torchcodec_available(), reason="torchcodec (or system FFmpeg) missing")
@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_torchcodec_backend_agrees_with_pyav(tmp_path, suffix):
    path = write_video(tmp_path / f"v{suffix}", synthetic_frames(40))
    wanted = [31, 3, 17, 39, 45]  # 45: past the end, repeats the last frame
    ours = decode_frames(path, wanted, backend="torchcodec")
    theirs = decode_frames(path, wanted, backend="pyav")
    assert ours.shape == theirs.shape == (5, 3, 32, 32)
    assert (ours.int() - theirs.int()).abs().float().mean() < 2
    with pytest.raises(VideoDecodeError, match="missing"):
        decode_frames(tmp_path / "nope.avi", [0], backend="torchcodec")


def test_ucf101_labels_case_and_folds(trees):
    train = ucf101_records(trees["ucf101"], "train", 1)
    test = ucf101_records(trees["ucf101"], "test", 1)
    assert [r.label for r in train] == [0, 1] and [r.label for r in test] == [0, 1]
    assert all("_g08_" in r.path.name for r in train) and all("_g01_" in r.path.name for r in test)
    # The list says HandstandPushups, the folder HandStandPushups: matched without case.
    assert test[1].path.parent.name == "HandStandPushups" and test[1].path.is_file()
    assert {r.path.name for r in ucf101_records(trees["ucf101"], "train", 2)} == {
        r.path.name for r in test
    }


def test_hmdb51_flags_per_fold(trees):
    root = trees["hmdb51"]
    train1 = hmdb51_records(root, "train", 1)
    test1 = hmdb51_records(root, "test", 1)
    assert [r.path.name for r in train1] == ["brush_hair_video_0.avi", "cartwheel_video_0.avi"]
    assert [r.label for r in train1] == [0, 1]
    assert [r.path.name for r in test1] == ["brush_hair_video_1.avi", "cartwheel_video_1.avi"]
    assert hmdb51_records(root, "train", 2)[0].path.name == "brush_hair_video_2.avi"


def test_k400_labels_and_missing_videos_are_counted(trees, caplog):
    records = k400_records(trees["k400"], "train")
    assert [r.label for r in records] == [0, 0, 1, 1]
    with caplog.at_level(logging.WARNING, logger="fame_bench.data"):
        dataset = build_dataset("k400", trees["k400"], "train", mode="eval", clip_len=4,
                                stride=2, size=16, num_clips=2)
    assert "1 of 4 listed videos are missing" in caplog.text
    assert dataset[3] is None and dataset.num_skipped == 1
    assert "air drumming" in next(iter(dataset.skipped))
    assert len(k400_records(trees["k400"], "test")) == 4  # validate.csv


@pytest.mark.parametrize("name", ["ucf101", "hmdb51", "diving48", "k400"])
def test_pretrain_items_have_two_clips(trees, name):
    dataset = build_dataset(name, trees[name], "train", mode="pretrain", clip_len=8, stride=2,
                            size=24, seed=1)
    item = dataset[0]
    assert item["clips"].shape == (2, 3, 8, 24, 24) and item["clips"].dtype == torch.uint8
    assert item["index"] == 0 and isinstance(item["label"], int)
    again = build_dataset(name, trees[name], "train", mode="pretrain", clip_len=8, stride=2,
                          size=24, seed=1)[0]
    assert torch.equal(item["clips"], again["clips"]), "same seed, same clips"


def test_epochs_draw_new_clips(trees):
    dataset = build_dataset("ucf101", trees["ucf101"], "train", mode="pretrain", clip_len=4,
                            stride=1, size=24, seed=0)
    dataset.set_epoch(0)
    first = dataset[0]["clips"]
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[0]["clips"])
    dataset.set_epoch(0)
    assert torch.equal(first, dataset[0]["clips"])


def test_vthcl_and_eval_items(trees):
    root = trees["diving48"]
    vthcl = build_dataset("diving48", root, "test", mode="vthcl", clip_len=4, stride=4,
                          size=16, alpha=4)[1]
    assert vthcl["slow"].shape == (3, 4, 16, 16) and vthcl["fast"].shape == (3, 16, 16, 16)
    assert vthcl["label"] == 7
    ev = build_dataset("diving48", root, "test", mode="eval", clip_len=4, stride=2, size=16,
                       num_clips=3, num_crops=3)[0]
    assert ev["clips"].shape == (9, 3, 4, 16, 16)
    # Uniform clips: the first starts at frame 0, the last ends at the last frame (23).
    first = _background_level(ev["clips"][0].permute(1, 0, 2, 3))[0]
    last = _background_level(ev["clips"][-1].permute(1, 0, 2, 3))[-1]
    assert abs(first - frame_level(0)) < 5 and abs(last - frame_level(23)) < 5


def test_bad_videos_are_skipped_counted_and_named(trees, tmp_path, caplog):
    root = make_ucf101(tmp_path / "ucf", groups=(1, 8, 9, 10))
    videos = sorted((root / "UCF-101").rglob("*_g0[89]_*.avi")) + sorted(
        (root / "UCF-101").rglob("*_g10_*.avi")
    )
    videos[0].write_bytes(b"")  # empty
    good = videos[1].read_bytes()
    videos[1].write_bytes(good[: len(good) // 3])  # truncated
    videos[2].write_bytes(b"\x00garbage" * 50)  # corrupt
    videos[3].unlink()  # missing
    dataset = build_dataset("ucf101", root, "train", mode="pretrain", clip_len=4, stride=2,
                            size=16)
    collate = SkipCollate()
    loader = DataLoader(dataset, batch_size=3, collate_fn=collate, num_workers=0)
    with caplog.at_level(logging.WARNING, logger="fame_bench.data"):
        batches = [b for b in loader if b is not None]
    kept = sum(b["clips"].shape[0] for b in batches)
    assert kept + collate.count == len(dataset) == 6
    assert 3 <= collate.count <= 4  # a truncated file may still decode its first frames
    assert dataset.num_skipped == collate.count
    for path in (videos[0], videos[2], videos[3]):
        assert str(path) in dataset.skipped and str(path) in caplog.text
    assert collate_skip([None, None]) is None


def test_wrong_root_or_missing_split_file_is_a_clear_error(trees, tmp_path):
    with pytest.raises(DatasetLayoutError, match="ucfTrainTestlist"):
        build_dataset("ucf101", tmp_path, "train")
    with pytest.raises(DatasetLayoutError, match="Diving48_V2_train.json"):
        (tmp_path / "rgb").mkdir()
        build_dataset("diving48", tmp_path, "train")
    with pytest.raises(DatasetLayoutError, match="does_not_exist"):
        build_dataset("hmdb51", tmp_path / "does_not_exist", "train")
    with pytest.raises(ValueError, match="dataset must be one of"):
        build_dataset("ucf999", tmp_path)
    with pytest.raises(ValueError, match="fold"):
        build_dataset("ucf101", trees["ucf101"], "train", fold=4)
    with pytest.raises(VideoDecodeError, match="missing"):
        probe(tmp_path / "nope.mp4")


def test_k400_video_folder_named_after_the_split_column(tmp_path):
    root = make_k400(tmp_path / "k400", per_class=1)
    csv_file = root / "kinetics400" / "validate.csv"
    csv_file.write_text(csv_file.read_text().replace(",validate\n", ",val\n"))
    (root / "validate").rename(root / "val")
    records = k400_records(root, "test")
    assert len(records) == 2 and all(r.path.is_file() and r.path.parts[-3] == "val"
                                     for r in records)


@pytest.mark.parametrize("name", ["ucf101", "diving48"])  # mpeg4 .avi and H.264 .mp4
def test_eval_items_decode_a_video_once_and_match_a_seek_per_clip(trees, name, monkeypatch):
    import fame_bench.data.video as video_module
    from fame_bench.data.sampling import uniform_clip_indices
    from fame_bench.data.transforms import eval_crops

    dataset = build_dataset(name, trees[name], "test", mode="eval", clip_len=4, stride=2,
                            size=16, num_clips=4, num_crops=3)
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return decode_frames(*args, **kwargs)

    monkeypatch.setattr(video_module, "decode_frames", counting)
    item = dataset[0]
    assert len(calls) == 1 and item["clips"].shape == (12, 3, 4, 16, 16)
    # The previous way: one seek and decode per clip, then the same crops.
    path = dataset.records[0].path
    indices = uniform_clip_indices(probe(path).num_frames, 4, 2, 4)
    per_clip = torch.cat([eval_crops(decode_frames(path, idx, 128), 16, 3) for idx in indices])
    assert torch.equal(item["clips"], per_clip)
