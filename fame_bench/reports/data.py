"""Results as data: every table's measurements in one long frame, written as JSON and CSV.

One row per (table row × seed × metric), columns ``COLUMNS``. ``protocol`` is the run record's
evaluation block (``linear``, ``finetune``, ``retrieval``) or ``pretrain`` for the run's own
figures (steps, timings, ``loss_tail``: mean of the last 10 % of the loss curve,
``loss_chance``: the loss of a model that knows nothing). The Markdown tables are rendered from
this frame; ``reports/<table>.json`` also holds the verdicts and the learnability checks as dicts.
``commit`` is the commit that made the run (its record); ``dirty`` says whether the working tree
had uncommitted changes when the report was generated.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from fame_bench.atomic import write_atomic
from fame_bench.reports.stats import Stat, stat
from fame_bench.reports.validity import chance_loss, tail_loss

COLUMNS = ("table", "row", "label", "seed", "protocol", "metric", "value", "spec_hash", "commit",
           "dirty", "preset")
PRETRAIN_METRICS = ("steps", "step_ms", "augment_ms", "augment_share")


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def record_metrics(record: dict) -> list[tuple[str, str, float]]:
    """``(protocol, metric, value)`` of one run record: every numeric evaluation figure and the
    pretraining figures (none for a random-init row)."""
    out = []
    for protocol, block in (record.get("eval") or {}).items():
        for metric, value in (block or {}).items():
            if (number := _number(value)) is not None:
                out.append((protocol, metric, number))
    pretrain = record.get("pretrain")
    if pretrain:
        figures = {k: pretrain.get(k) for k in PRETRAIN_METRICS}
        figures["loss_tail"] = tail_loss(record)
        figures["loss_chance"] = chance_loss(record)
        out += [("pretrain", k, n) for k, v in figures.items() if (n := _number(v)) is not None]
    return out


def measurements(records: list[dict], table: str, labels: dict[str, str], preset: str,
                 dirty: bool | None) -> pd.DataFrame:
    """The long frame of ``records`` (``labels``: experiment name → row label)."""
    rows = []
    for record in records:
        name = record["name"]
        common = {"table": table, "row": name, "label": labels.get(name, name),
                  "seed": int(record["seed"]), "spec_hash": record.get("spec_hash", ""),
                  "commit": (record.get("env") or {}).get("commit", "unknown"),
                  "dirty": dirty, "preset": preset}
        rows += [{**common, "protocol": p, "metric": m, "value": v}
                 for p, m, v in record_metrics(record)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def values(frame: pd.DataFrame, row: str, protocol: str, metric: str) -> list[float]:
    """The per-seed values of one (row, protocol, metric), in seed order."""
    picked = frame[(frame["row"] == row) & (frame["protocol"] == protocol)
                   & (frame["metric"] == metric)].sort_values("seed")
    return [float(v) for v in picked["value"]]


def frame_stat(frame: pd.DataFrame, row: str, protocol: str, metric: str) -> Stat:
    return stat(values(frame, row, protocol, metric))


def seed_count(frame: pd.DataFrame, row: str) -> int:
    return int(frame.loc[frame["row"] == row, "seed"].nunique())


def has_protocol(frame: pd.DataFrame, protocol: str) -> bool:
    return bool((frame["protocol"] == protocol).any())


def write_data(reports_dir: Path, table: str, frame: pd.DataFrame, meta: dict,
               verdicts: list[dict], checks: list[dict]) -> tuple[Path, Path]:
    """``<table>.csv`` (the frame) and ``<table>.json`` (``meta``, the frame's rows, verdicts
    and checks), each written whole to a temporary file first, then renamed into place."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = reports_dir / f"{table}.csv", reports_dir / f"{table}.json"
    payload = {**meta, "columns": list(COLUMNS),
               "measurements": json.loads(frame.to_json(orient="records")),
               "verdicts": verdicts, "checks": checks}
    write_atomic(csv_path, frame.to_csv(index=False))
    write_atomic(json_path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    return json_path, csv_path


def load_data(path: Path) -> dict:
    """A ``<table>.json`` written by :func:`write_data`; a file that is not one is refused."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: expected a report data file (JSON), could not read it: "
                         f"{err}") from err
    missing = [k for k in ("table", "measurements", "verdicts", "checks") if k not in payload]
    if missing:
        raise ValueError(f"{path}: expected a report data file with keys table, measurements, "
                         f"verdicts, checks; missing {missing}")
    return payload
