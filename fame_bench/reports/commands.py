"""The command line of a reproduction: ``--seeds`` and ``--set`` parsing, and the full command
that regenerates a report (printed in every report and in the index)."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

DEFAULT_SEEDS = 5


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: a count (``"3"``: seeds 0, 1, 2) or a comma list (``"0,2,5"``; one seed:
    ``"5,"``)."""
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise ValueError
            return list(range(count))
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(
            f"expected a count >= 1 (seeds 0..n-1) or a comma list of distinct seeds >= 0 "
            f"(e.g. 0,2,5; one seed: 5,), got {text!r}")
    return seeds


def seeds_argument(seeds: list[int]) -> str:
    """``--seeds`` for ``seeds``, as :func:`parse_seeds` reads it back."""
    if seeds == list(range(len(seeds))):
        return str(len(seeds))
    return ",".join(map(str, seeds)) + ("," if len(seeds) == 1 else "")


def parse_assignments(items: list[str] | None) -> dict:
    """``["steps=10", "jitter=[0.4,0.4,0.4,0]"]`` → ``{"steps": 10, "jitter": (0.4, ...)}``;
    values are JSON where they parse (lists become tuples), else strings."""
    out = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected FIELD=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out[key.strip().replace("-", "_")] = tuple(value) if isinstance(value, list) else value
    return out


def _assignment(option: str, field: str, value) -> str:
    """``--set field=value`` as it would be typed (``parse_assignments`` reads it back)."""
    if isinstance(value, str):
        try:
            json.loads(value)
            text = json.dumps(value)  # a string that JSON would read as something else
        except json.JSONDecodeError:
            text = value
    else:
        text = json.dumps(list(value) if isinstance(value, tuple) else value)
    return f" {option} {shlex.quote(f'{field}={text}')}"


def regeneration_command(table: str, preset: str, seeds: int | list[int], reports_dir: Path,
                         runs_dir: Path = Path("runs"), data_root: str | None = None,
                         pretrain_set: dict | None = None, eval_set: dict | None = None) -> str:
    """The full command that regenerates report ``table`` (``all``: every table and the index),
    with every option that differs from its default; ``seeds``: a count (seeds 0..n-1) or the
    list of seeds."""
    parts = [f"nox -s reproduce_{table} -- --preset {preset}"]
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if seeds != list(range(DEFAULT_SEEDS)):
        parts.append(f" --seeds {seeds_argument(seeds)}")
    if Path(runs_dir) != Path("runs"):
        parts.append(f" --runs-dir {shlex.quote(str(runs_dir))}")
    if Path(reports_dir) != Path("reports"):
        parts.append(f" --reports-dir {shlex.quote(str(reports_dir))}")
    if data_root:
        parts.append(f" --data-root {shlex.quote(str(data_root))}")
    parts += [_assignment("--set", k, v) for k, v in (pretrain_set or {}).items()]
    parts += [_assignment("--eval-set", k, v) for k, v in (eval_set or {}).items()]
    return "".join(parts)
