"""``fame-bench check-data``: every listed video probed, counts per split and fold, checksum
manifests (fake dataset layouts with a corrupt and a missing video)."""

from __future__ import annotations

import json

import pytest

from fame_bench.cli import main

fake = pytest.importorskip("fame_bench.data.fake_layouts")


def _check(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(["check-data", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err


def test_missing_and_undecodable_videos_are_counted_per_split_and_fold(tmp_path, capsys):
    root = fake.make_hmdb51(tmp_path / "hmdb", frames=8)
    code, report, _ = _check(capsys, "--dataset", "hmdb51", "--data-root", str(root))
    assert code == 0 and report["ok"] and report["videos"] == 6
    (root / "brush_hair" / "brush_hair_video_0.avi").write_bytes(b"not a video" * 50)
    (root / "cartwheel" / "cartwheel_video_1.avi").unlink()
    code, report, table = _check(capsys, "--dataset", "hmdb51", "--data-root",
                                 f"hmdb51={root}")
    assert code == 1 and not report["ok"]
    # fake_layouts' flags: fold 1 trains on video 0 and tests video 1; folds 2 and 3 rotate
    counts = {(r["split"], r["fold"]): (r["listed"], r["missing"], r["undecodable"])
              for r in report["splits"]}
    assert counts == {("train", 1): (2, 0, 1), ("test", 1): (2, 1, 0),
                      ("train", 2): (2, 0, 0), ("test", 2): (2, 0, 1),
                      ("train", 3): (2, 1, 0), ("test", 3): (2, 0, 0)}
    assert report["missing"] == ["cartwheel/cartwheel_video_1.avi"]
    assert list(report["undecodable"]) == ["brush_hair/brush_hair_video_0.avi"]
    assert "hmdb51 under" in table and "1 missing, 1 undecodable" in table


def test_a_manifest_is_written_and_a_changed_file_fails_verification(tmp_path, capsys):
    root = fake.make_diving48(tmp_path / "div", per_split=2, frames=8)
    manifest = tmp_path / "manifest.json"
    code, report, _ = _check(capsys, "--dataset", "diving48", "--data-root", str(root),
                             "--manifest", str(manifest))
    assert code == 0 and report["manifest"]["files"] == 4 + 3  # videos + split files
    written = json.loads(manifest.read_text())
    assert written["dataset"] == "diving48" and "Diving48_V2_train.json" in written["files"]
    code, report, _ = _check(capsys, "--dataset", "diving48", "--data-root", str(root),
                             "--verify-manifest", str(manifest))
    assert code == 0 and report["manifest"]["ok"]
    # another video under the same name: it decodes, but its bytes are not the manifest's
    fake.write_video(root / "rgb" / "test_vid_001.mp4", fake.synthetic_frames(9))
    code, report, table = _check(capsys, "--dataset", "diving48", "--data-root", str(root),
                                 "--verify-manifest", str(manifest))
    assert code == 1 and report["undecodable"] == {} and report["missing"] == []
    assert report["manifest"]["mismatched"] == ["rgb/test_vid_001.mp4"]
    assert "1 mismatched" in table


@pytest.mark.parametrize("content, says", [
    ("{ half", "is not valid JSON"),
    ('{"files": {}}', "is not a check-data manifest"),
    ('{"dataset": "ucf101", "algorithm": "sha256", "files": {}}', "not of 'diving48'"),
])
def test_user_errors_exit_2_with_one_line(content, says, tmp_path, capsys):
    root = fake.make_diving48(tmp_path / "div", per_split=1, frames=8)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, report, err = _check(capsys, "--dataset", "diving48", "--data-root", str(root),
                               "--verify-manifest", str(bad))
    assert code == 2 and report is None and says in err and err.count("\n") == 1, err
    code, _, err = _check(capsys, "--dataset", "diving48", "--data-root", str(tmp_path))
    assert code == 2 and "Diving48 video folder" in err, err
