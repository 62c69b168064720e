"""The GPU part of a generated report: a marked block that ``device_check`` fills on a CUDA
machine and that a CPU regeneration of the report carries over unchanged.

A report is generated whole on the CPU; its GPU rows come from another machine and another run.
Keeping them between two markers lets each writer replace only its own part.
"""

from __future__ import annotations

from pathlib import Path

BEGIN = "<!-- gpu-rows begin: written by `nox -s device_check`; do not edit by hand -->"
END = "<!-- gpu-rows end -->"
NOT_MEASURED = (
    "Not measured: no CUDA device in this run. On a CUDA machine `nox -s device_check` "
    "(`python -m fame_bench.bench.device_check`) measures and writes these rows."
)


def gpu_block(lines: list[str]) -> str:
    """``lines`` between the two markers."""
    return "\n".join([BEGIN, *lines, END])


def placeholder_block() -> str:
    return gpu_block([NOT_MEASURED])


def find_gpu_block(text: str) -> str | None:
    """The marked block of ``text`` (markers included), or None when it has none."""
    start = text.find(BEGIN)
    end = text.find(END, start + len(BEGIN)) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    return text[start:end + len(END)]


def replace_gpu_block(text: str, block: str, heading: str = "## GPU") -> str:
    """``text`` with its marked block replaced by ``block`` (appended under ``heading`` when the
    report predates the markers)."""
    old = find_gpu_block(text)
    if old is None:
        return text.rstrip("\n") + f"\n\n{heading}\n\n{block}\n"
    return text.replace(old, block, 1)


def carry_over_gpu_block(new_text: str, path: Path) -> str:
    """``new_text`` (a fresh CPU render) with the GPU block the report at ``path`` already holds:
    regenerating the CPU rows must not erase rows measured on a GPU."""
    try:
        old = find_gpu_block(Path(path).read_text())
    except OSError:
        return new_text
    return new_text if old is None else replace_gpu_block(new_text, old)
