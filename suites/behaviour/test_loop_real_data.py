"""The trainer on a real-video layout: a fake UCF101 tree with real encoded videos, one corrupt."""

from __future__ import annotations

import json
import math
import re
import warnings

import pytest

from fame_bench.data.fake_layouts import make_ucf101
from fame_bench.train.config import PretrainConfig
from fame_bench.train.loop import pretrain


def _config(root, out, method="moco", **kw) -> PretrainConfig:
    return PretrainConfig.preset(
        "ci", method=method, dataset="ucf101", data_root=str(root), out_dir=str(out),
        batch_size=4, queue_size=16, steps=3, num_workers=0, clip_len=4, frame_stride=1,
        crop_size=32, vthcl_slow_stride=2, ckpt_every=3, log_every=1, progress=False, **kw)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["moco", "vthcl"])
def test_pretrain_on_fake_ucf101_skips_a_corrupt_video(tmp_path, method):
    root = make_ucf101(tmp_path / "ucf", groups=(1, 8, 9, 10, 11))
    bad = next((root / "UCF-101").rglob("*g09_c01.avi"))
    bad.write_bytes(b"\x00not a video" * 40)
    extra = {"vthcl_num_negatives": 4} if method == "vthcl" else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = pretrain(_config(root, tmp_path / "run", method=method, **extra))
    assert summary["steps"] == 3
    assert all(math.isfinite(loss) for _, loss in summary["loss_curve"])
    assert any("unreadable" in str(w.message) for w in caught), "the bad video was not reported"
    # counted in the main process, in the metrics and the result: as many as the collate
    # dropped (every draw of the bad video)
    dropped = sum(int(m.group(1)) for w in caught
                  if (m := re.match(r"dropped (\d+) unreadable", str(w.message))))
    assert summary["skipped_videos"] == dropped >= 1 and summary["threads"] == 1
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert rows[-1]["skipped_videos"] == dropped


def test_wrong_data_root_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="UCF101 root: expected .*nowhere"):
        pretrain(_config(tmp_path / "nowhere", tmp_path / "run"))
