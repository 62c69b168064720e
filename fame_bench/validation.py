"""Field validation for the config dataclasses: declared types, finiteness and ranges by table.

Each config keeps a table ``{field: Interval}``; :func:`check_fields` checks every field of the
dataclass against its annotation (``int``, ``float``, ``bool``, ``str``, ``tuple[...]``, and a
number-or-string union such as ``float | str``, whose strings the owner checks), refuses
NaN and inf in any number, and applies the table's interval where there is one (to each element
of a tuple). A field added to a config is type-checked without further work; giving it a range
is one line in its table.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Integral, Real


@dataclass(frozen=True)
class Interval:
    """A range of allowed values; bounds are inclusive unless ``open_low`` / ``open_high``."""

    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>' if self.open_low else '>='} {self.low:g}"
        if self.low == -math.inf:
            return f"{'<' if self.open_high else '<='} {self.high:g}"
        return (f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.open_high else ']'}")


def at_least(low: float) -> Interval:
    return Interval(low)


POSITIVE = Interval(0.0, open_low=True)  # > 0
UNIT = Interval(0.0, 1.0)  # [0, 1], probabilities and momenta


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _check_number(owner: str, name: str, value, kind: str, interval: Interval | None) -> None:
    if kind == "int" and not _is_int(value):
        raise ValueError(f"{owner}.{name} must be an integer, got {value!r}")
    if kind == "float" and not _is_real(value):
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be finite, got {value!r}")
    if interval is not None and value not in interval:
        raise ValueError(f"{owner}.{name} must be {interval}, got {value!r}")


def check_fields(config, ranges: dict[str, Interval]) -> None:
    """Raise a one-line ``ValueError`` naming the first field of ``config`` (a dataclass with
    ``from __future__ import annotations``) whose value does not fit its type or range."""
    owner = type(config).__name__
    names = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(ranges) - names)
    if unknown:  # a typo in a table would silently check nothing
        raise KeyError(f"range table of {owner} names unknown fields {unknown}")
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        annotation = str(f.type).replace(" ", "")
        base = annotation.split("[")[0]
        interval = ranges.get(f.name)
        if "|" in base:  # a union such as ``float | str``: the owner checks what a string means
            kinds = base.split("|")
            if isinstance(value, str) and "str" in kinds:
                continue
            base = next((k for k in kinds if k in ("int", "float")), base)
        if base in ("int", "float"):
            _check_number(owner, f.name, value, base, interval)
        elif base == "bool" and not isinstance(value, bool):
            raise ValueError(f"{owner}.{f.name} must be true or false, got {value!r}")
        elif base == "str" and not isinstance(value, str):
            raise ValueError(f"{owner}.{f.name} must be a string, got {value!r}")
        elif base == "tuple":
            if not isinstance(value, (tuple, list)):
                raise ValueError(f"{owner}.{f.name} must be a sequence, got {value!r}")
            element = annotation[len("tuple["):].split(",")[0] if "[" in annotation else ""
            for item in value:
                if element in ("int", "float") or (interval is not None) or _is_real(item):
                    _check_number(owner, f.name, item, element or "float", interval)
