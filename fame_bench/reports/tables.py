"""Markdown tables from the measurement frame (``reports.data``) and the papers' data (in separate
tables); the run header and the learnability checks."""

from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from fame_bench.reports.data import frame_stat, seed_count, values
from fame_bench.reports.paper import PaperNumber
from fame_bench.reports.stats import stat
from fame_bench.reports.validity import Check
from fame_bench.reports.verdicts import Verdict

SPLIT_COLUMNS = (
    ("test_biased", "biased"),
    ("test_swapped", "swapped"),
    ("test_background_only", "background-only"),
    ("motion_probe_swapped", "motion probe (swapped)"),
    ("bias_gap", "bias gap"),
    ("background_reliance", "background reliance"),
    ("top1", "top-1 (real dataset)"),
)
RETRIEVAL_COLUMNS = ("R@1", "R@5", "R@10", "R@20", "R@50")


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def results_table(frame: pd.DataFrame, rows: list[tuple[str, str]], protocol: str) -> str:
    """Accuracy (%) per split, mean ± std over seeds; ``rows`` are ``(label, name)``."""
    present = [(key, title) for key, title in SPLIT_COLUMNS
               if ((frame["protocol"] == protocol) & (frame["metric"] == key)).any()]
    columns = present or list(SPLIT_COLUMNS[:-1])
    headers = ["row", "seeds", *(title for _, title in columns)]
    body = []
    for label, name in rows:
        cells = [frame_stat(frame, name, protocol, key).fmt() for key, _ in columns]
        body.append([label, str(seed_count(frame, name)), *cells])
    return markdown_table(headers, body)


def retrieval_table(frame: pd.DataFrame, rows: list[tuple[str, str]],
                    chance: dict[str, float] | None = None) -> str:
    """R@k (%) per row; ``chance``: R@k of a feature that knows nothing, as a last line."""
    headers = ["row", "seeds", *RETRIEVAL_COLUMNS]
    body = []
    for label, name in rows:
        body.append([label, str(seed_count(frame, name)),
                     *(frame_stat(frame, name, "retrieval", k).fmt() for k in RETRIEVAL_COLUMNS)])
    if chance:
        body.append(["_chance_", "", *(f"{100 * chance[k]:.1f}" if k in chance else "—"
                                        for k in RETRIEVAL_COLUMNS)])
    return markdown_table(headers, body)


def cost_table(frame: pd.DataFrame, rows: list[tuple[str, str]]) -> str:
    """Per pretrained row: augmentation ms per batch, step ms, share of the step, steps, the
    loss at the end of the run (mean of its last 10 %) and the loss at chance."""
    headers = ["row", "augmentation ms / batch", "training step ms", "augmentation share of step",
               "pretrain steps", "loss, last 10 % of steps", "loss at chance"]
    body = []
    for label, name in rows:
        if not values(frame, name, "pretrain", "step_ms"):
            continue
        figure = {m: frame_stat(frame, name, "pretrain", m)
                  for m in ("augment_ms", "step_ms", "augment_share", "loss_tail", "loss_chance")}
        steps = sorted({int(v) for v in values(frame, name, "pretrain", "steps")})
        body.append([label, figure["augment_ms"].fmt(1.0, 2), figure["step_ms"].fmt(1.0, 1),
                     figure["augment_share"].fmt(100.0, 1) + " %",
                     "/".join(str(s) for s in steps), figure["loss_tail"].fmt(1.0, 3),
                     figure["loss_chance"].fmt(1.0, 3)])
    if not body:
        return "_No pretrained rows._"
    return markdown_table(headers, body)


def paper_table(numbers: list[PaperNumber]) -> str:
    """The papers' numbers, labelled with their source (never mixed with ours)."""
    if not numbers:
        return "_The papers give only shapes for this table (checked in the verdicts below)._"
    headers = ["source", "row", "pretrain", "evaluation", "value"]
    body = [[n.source, n.row, n.pretrain, n.evaluation, f"{n.value:g} {n.unit}"]
            for n in numbers]
    return markdown_table(headers, body)


def verdict_list(verdicts: list[Verdict]) -> str:
    if not verdicts:
        return "_No claims to check._"
    return "\n".join(f"- {v.sentence()}" for v in verdicts)


def check_list(checks: list[Check]) -> str:
    """The learnability checks, one line each: ✓ passed, ✗ failed, – not evaluated (why)."""
    return "\n".join(f"- {c.line()}" for c in checks)


def mask_iou_table(iou: dict) -> str:
    """``iou``: ``{"variants": {row: {"beta": b, "iou": [per seed], "recall": [per seed]}}}``."""
    headers = ["mask", "β", "IoU vs ground truth", "recall of the ground truth"]
    body = []
    for label, entry in iou["variants"].items():
        body.append([label, f"{entry['beta']:g}", stat(entry["iou"]).fmt(1.0, 3),
                     stat(entry["recall"]).fmt(1.0, 3)])
    return markdown_table(headers, body) + "\n\n(mean ± std over the per-seed means)"


def header_block(records: list[dict], preset: str, seeds: list[int],
                 wall_time_s: float) -> str:
    """What was run: preset, dataset, backbone, clip shape, steps, β, seeds, env."""
    def values(getter) -> str:
        found = []
        for r in records:
            try:
                v = getter(r)
            except (KeyError, TypeError):
                continue
            if v is not None and v not in found:
                found.append(v)
        return ", ".join(str(v) for v in found) if found else "—"

    pre = lambda r: r["config"]["pretrain"]  # noqa: E731
    data = lambda r: r["config"]["data"]  # noqa: E731
    ev = lambda r: r["config"].get("eval") or {}  # noqa: E731
    devices = values(lambda r: f"{r['env']['device']} ({r['env']['device_name']})")
    cuda_note = "" if "cuda" in devices else " — no CUDA device in this run"
    lines = [
        f"- **preset**: `{preset}` (a {preset}-scale run: it reproduces the *shape* of the "
        "papers' results, not their numbers)",
        f"- **datasets** (pretraining → evaluation): {values(_datasets)}",
        f"- **backbone**: {values(lambda r: pre(r).get('backbone'))}",
        f"- **synthetic videos (C, T, H, W)**: {values(lambda r: _clip_shape(data(r)))}",
        f"- **training clips**: {values(lambda r: pre(r).get('clip_len'))} frames at stride "
        f"{values(lambda r: pre(r).get('frame_stride'))}",
        f"- **pretraining steps**: {values(lambda r: (r.get('pretrain') or {}).get('steps'))}; "
        f"batch size {values(lambda r: pre(r).get('batch_size'))}; lr "
        f"{values(lambda r: pre(r).get('lr'))}; MoCo queue "
        f"{values(lambda r: pre(r).get('queue_size'))}",
        f"- **evaluation**: linear probe {values(lambda r: ev(r).get('linear_epochs'))} epochs; "
        f"finetune {values(lambda r: ev(r).get('finetune_steps'))} steps; "
        f"{values(lambda r: ev(r).get('num_clips'))} clip(s) of "
        f"{values(lambda r: ev(r).get('clip_len'))} frames per test video",
        f"- **FAME β**: {values(lambda r: r['augment']['beta'] if r['augment']['kind'] == 'fame' else None)}",  # noqa: E501
        f"- **FAME/BE applied to** (`fame_on`, docs/moco.md): {fame_on_block(records)}",
        f"- **MoCo queue update** (`moco_enqueue`): "
        f"{values(lambda r: pre(r).get('moco_enqueue') if r['method'] == 'moco' else None)} "
        "(`each_direction`: the first direction's keys enter the queue before the second "
        "direction reads it, as the FAME code)",
        f"- **view augmentation**: colour jitter {values(lambda r: _listed(pre(r).get('jitter')))}"
        f" (p {values(lambda r: pre(r).get('jitter_p'))}), grayscale p "
        f"{values(lambda r: pre(r).get('grayscale_p'))}, Gaussian blur p "
        f"{values(lambda r: pre(r).get('blur_p'))} with σ ~ U"
        f"{values(lambda r: _listed(pre(r).get('blur_sigma')))} per clip (pretraining views; "
        "supervised training has no blur, as the code's finetune augmentation)",
        f"- **seeds**: {', '.join(str(s) for s in seeds)} (mean ± sample std over seeds)",
        f"- **environment**: torch {values(lambda r: r['env']['torch'])}, device {devices}"
        f"{cuda_note}, CPU {values(lambda r: r['env'].get('cpu'))}, python "
        f"{values(lambda r: r['env']['python'])}, torch threads {values(threads_used)}",
        f"- **commit(s) of the runs**: {values(lambda r: r['env']['commit'])}",
        f"- **wall time**: {wall_time_s:.0f} s for this report (runs reused from the cache cost "
        f"nothing); sum of the runs' own wall times "
        f"{sum(float(r.get('wall_time_s') or 0) for r in records):.0f} s",
    ]
    return "\n".join(lines)


def _datasets(record: dict) -> str:
    """``pretraining → evaluation`` set of a record (one name when they are the same)."""
    evaluated = record.get("eval_dataset") or record["dataset"]
    return record["dataset"] if evaluated == record["dataset"] else \
        f"{record['dataset']} → {evaluated}"


def threads_used(record: dict) -> str | None:
    """The torch thread counts a run used, e.g. ``"1 pretraining / 1 evaluation"``.

    Records of schema 2 measured them during each stage. Older ones hold the process's count
    when the record was written (``env.threads``, an int); the run itself used the configs'
    ``threads`` where set (the loop and the evaluation set them), else that count."""
    env = record.get("env") or {}
    recorded = env.get("threads")
    if isinstance(recorded, dict):
        pretrain, evaluation = recorded.get("pretrain"), recorded.get("eval")
    else:
        config = record.get("config") or {}
        pretrain = None if record.get("pretrain") is None else \
            ((config.get("pretrain") or {}).get("threads") or recorded)
        evaluation = (config.get("eval") or {}).get("threads") or recorded
    parts = [f"{pretrain} pretraining"] if pretrain is not None else []
    parts += [f"{evaluation} evaluation"] if evaluation is not None else []
    return " / ".join(parts) or None


#: What each ``fame_on`` mode means, for the report's header.
FAME_ON_MEANING = {
    "first": "the first clip of each pair, merged once: the query in one direction of the "
             "symmetric loss and the key in the other, as the authors' code",
    "queries": "each clip only where it is the query (keys stay raw)",
    "both": "both clips of each pair, each merged once (the paper's 'both branches' row)",
}


def fame_on_block(records: list[dict]) -> str:
    """Which ``fame_on`` mode each MoCo row ran, e.g. ``"first" (...): moco, moco_be``."""
    rows: dict[str, list[str]] = {}
    for r in records:
        if r.get("method") != "moco":
            continue
        mode = ((r.get("config") or {}).get("pretrain") or {}).get("fame_on")
        key = str(mode) if mode else "not recorded (a run older than `fame_on`)"
        if r["name"] not in rows.setdefault(key, []):
            rows[key].append(r["name"])
    if not rows:
        return "— (no MoCo row)"
    return "; ".join(f"`{mode}` ({FAME_ON_MEANING.get(mode, 'see docs/moco.md')}): "
                     f"{', '.join(names)}" for mode, names in rows.items())


def _listed(value) -> str | None:
    """A config tuple as ``(a, b)``; JSON records hold lists."""
    return None if value is None else "(" + ", ".join(str(v) for v in value) + ")"


def _clip_shape(data_cfg: dict) -> str | None:
    """``(3, T, H, W)`` of a synthetic config; ``None`` for a real dataset's (no ``frames``)."""
    frames, size = data_cfg.get("frames"), data_cfg.get("size")
    if frames is None or size is None:
        return None
    return f"(3, {frames}, {size}, {size})"
