"""What FAME costs against the bare merge ``mask * x + (1 - mask) * y`` of the same tensors.

``python -m fame_bench.bench.augmentation_cost`` (nox session ``augmentation_cost``) writes
``reports/augmentation_cost.md``. Every figure is a ratio of medians measured interleaved in one
run (absolute milliseconds drift with the load of a shared machine and are shown only next to
their ratio): FAME (mask + merge) / bare merge on the CPU, NumPy reference / PyTorch CPU and a
``torch.compile`` variant. The report's GPU rows are measured by ``device_check`` on a CUDA machine
(``measure_device``, ``render_device_block``) and kept when the CPU rows are regenerated.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # OpenMP threads that spin while waiting turn every one of FAME's small map ops into a wait
    # for a descheduled sibling when the CPU is shared; must be set before torch loads libgomp.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from fame_bench.augment.fame import (  # noqa: E402
    PAPER_MASK_VARIANTS,  # the motion-compensated ones are costed in reports/beyond.md
    _foreground_mask,
    _select,
    compile_mask_stage,
    fame_with_stage,
    mask_stage,
)
from fame_bench.bench.report_sections import carry_over_gpu_block, placeholder_block  # noqa: E402
from fame_bench.bench.timing import (  # noqa: E402
    OverBudget,
    interleaved_medians,
    synchronise,
    time_limit,
)
from fame_bench.runtime import cpu_threads  # noqa: E402
from fame_bench.train.experiment import cpu_model  # noqa: E402
from reference import fame as reference_fame  # noqa: E402

BETA = 0.5
TARGET_RATIO = 1.5  # FAME (mask + merge) / bare merge, CPU and GPU (issue #2)
TARGET_STEP_SHARE = 0.01  # FAME, B = 8, 112², / an R(2+1)D-18 MoCo step in bf16, GPU (issue #15)
REPORT = Path("reports") / "augmentation_cost.md"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "uint8": torch.uint8}


def make_batch(batch: int, frames: int, size: int, device: str, seed: int,
               dtype: str = "float32"):
    """Clips ``(B, 3, T, S, S)`` in [0, 1] (uint8: 0..255) of ``dtype``, their rolled backgrounds
    and a binary mask ``(B, 1, 1, S, S)`` of the same dtype for the bare merge."""
    generator = torch.Generator().manual_seed(seed)
    clips = torch.rand(batch, 3, frames, size, size, generator=generator)
    keep = torch.rand(batch, 1, 1, size, size, generator=generator) < BETA
    clips = (clips * 255).round() if dtype == "uint8" else clips
    clips = clips.to(DTYPES[dtype]).to(device)
    background = clips.roll(1, dims=0)
    mask = keep.to(clips.dtype).to(device)
    return clips, background, mask


def bare_merge(mask: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The baseline: the merge formula as written, ``mask * x + (1 - mask) * y``."""
    return mask * x + (1 - mask) * y


def _environment(device: str) -> dict:
    return {
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if device.startswith("cuda")
        else cpu_model(),
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset (libgomp default)"),
    }


def fame_merge_ratio(batch: int = 16, frames: int = 16, size: int = 112, repeats: int = 7,
                     device: str = "cpu", seed: int = 0, stage=None, dtype: str = "float32",
                     variant: str = "fame", warmup: int = 1) -> dict:
    """Median FAME (mask + merge) time / median bare-merge time, interleaved, after a warm-up.

    ``stage``: the mask stage to time (default the eager ``mask_stage``; pass a compiled copy to
    time it). Returns ``fame_ms``, ``merge_ms``, ``ratio`` and the set-up (device, threads...),
    plus FAME's two parts timed alone in the same run: ``mask_share`` (mask stage / bare merge)
    and ``select_share`` (its one-pass merge / bare merge).
    """
    stage = mask_stage if stage is None else stage
    clips, background, mask = make_batch(batch, frames, size, device, seed, dtype)
    keep = mask.bool()
    with torch.no_grad():
        medians = interleaved_medians(
            {
                "merge": lambda: bare_merge(mask, clips, background),
                "fame": lambda: fame_with_stage(clips, BETA, None, variant, "code", stage),
                "mask": lambda: _foreground_mask(clips, BETA, variant, "code", stage),
                "select": lambda: _select(keep, clips, background),
            },
            repeats,
            device,
            warmup,
        )
    return {
        "fame_ms": medians["fame"],
        "merge_ms": medians["merge"],
        "ratio": medians["fame"] / medians["merge"],
        "mask_share": medians["mask"] / medians["merge"],
        "select_share": medians["select"] / medians["merge"],
        "batch": batch,
        "shape": (3, frames, size, size),
        "dtype": dtype,
        "variant": variant,
        "repeats": repeats,
        **_environment(device),
    }


#: The CPU FAME / bare-merge ratio that the CI gate, this report's CPU row and the benchmarks'
#: ``extra_info`` all read (``cpu_fame_merge_ratio``): B = 16 clips of 3x16x112² float32, one
#: torch thread, as the ci and cpu training runs use (with two OpenMP threads on a loaded 2-core
#: machine FAME's many small kernels stalled: 25x the merge, against 1.25x on one).
RATIO_SHAPE = {"batch": 16, "frames": 16, "size": 112}
RATIO_THREADS = 1


def cpu_fame_merge_ratio(repeats: int = 7, seed: int = 0, **shape) -> dict:
    """:func:`fame_merge_ratio` on the CPU at ``RATIO_SHAPE`` (``shape`` overrides it) with
    ``RATIO_THREADS`` torch threads (restored afterwards): the one timing path of the ratio."""
    with cpu_threads(RATIO_THREADS):
        return fame_merge_ratio(repeats=repeats, device="cpu", seed=seed,
                                **{**RATIO_SHAPE, **shape})


def numpy_torch_ratio(batch: int = 16, frames: int = 16, size: int = 112, repeats: int = 5,
                      seed: int = 0) -> dict:
    """Median NumPy-reference FAME / median PyTorch-CPU FAME (and each against the bare merge),
    interleaved in one run; also whether their masks agree."""
    clips, background, mask = make_batch(batch, frames, size, "cpu", seed)
    array = clips.numpy()
    with torch.no_grad():
        medians = interleaved_medians(
            {
                "merge": lambda: bare_merge(mask, clips, background),
                "torch": lambda: fame_with_stage(clips, BETA, None, "fame", "code", mask_stage),
                "numpy": lambda: reference_fame.fame(array, BETA),
            },
            repeats,
        )
        torch_mask = fame_with_stage(clips, BETA, None, "fame", "code", mask_stage)[1].numpy()
    agreement = float((torch_mask == reference_fame.fame(array, BETA)[1]).mean())
    return {
        "numpy_ms": medians["numpy"],
        "torch_ms": medians["torch"],
        "merge_ms": medians["merge"],
        "ratio": medians["numpy"] / medians["torch"],
        "numpy_vs_merge": medians["numpy"] / medians["merge"],
        "mask_agreement": agreement,
    }


def _error_text(error: BaseException) -> str:
    lines = str(error).splitlines() or [""]
    return f"{type(error).__name__}: {lines[0][:200]}"


def compiled_ratio(batch: int = 16, frames: int = 16, size: int = 112, repeats: int = 7,
                   device: str = "cpu", seed: int = 0, dtype: str = "float32",
                   variant: str = "fame", mode: str | None = None, backend: str = "inductor",
                   warmup: int = 1) -> dict:
    """``torch.compile`` of the mask stage: compile seconds, its FAME/merge ratio beside the
    eager one in the same run, and whether its masks equal the eager masks.

    Each call compiles cold (``torch._dynamo.reset()``): its compile time is the one a new input
    shape costs, and dynamo's recompile limit never turns a later case back into eager code
    unnoticed; ``graphs`` counts the graphs dynamo compiled. ``mode``: e.g. ``"reduce-overhead"``
    (CUDA graphs); ``backend="eager"`` traces without generating code (a quick smoke test).
    """
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    compiled = compile_mask_stage(mode, backend)
    clips, background, mask = make_batch(batch, frames, size, device, seed, dtype)
    start = time.perf_counter()
    try:
        with torch.no_grad():
            compiled_mask = fame_with_stage(clips, BETA, None, variant, "code", compiled)[1]
        synchronise(device)
    except OverBudget:
        raise
    except Exception as error:  # a missing compiler or backend must not sink the report
        return {"error": _error_text(error)}
    compile_s = time.perf_counter() - start
    graphs = int(counters["stats"]["unique_graphs"])
    with torch.no_grad():
        eager_mask = fame_with_stage(clips, BETA, None, variant, "code", mask_stage)[1]
        medians = interleaved_medians(
            {
                "merge": lambda: bare_merge(mask, clips, background),
                "eager": lambda: fame_with_stage(clips, BETA, None, variant, "code", mask_stage),
                "compiled": lambda: fame_with_stage(clips, BETA, None, variant, "code", compiled),
            },
            repeats,
            device,
            warmup,
        )
    return {
        "compile_s": compile_s,
        "graphs": graphs,
        "merge_ms": medians["merge"],
        "eager_ms": medians["eager"],
        "compiled_ms": medians["compiled"],
        "eager_ratio": medians["eager"] / medians["merge"],
        "compiled_ratio": medians["compiled"] / medians["merge"],
        "masks_equal": bool(torch.equal(compiled_mask, eager_mask)),
    }


def kernel_profile(batch: int = 8, frames: int = 16, size: int = 112, device: str = "cpu",
                   seed: int = 0, dtype: str = "float32", variant: str = "fame") -> dict:
    """One eager FAME call under ``torch.profiler`` after a warm-up: on CUDA the kernels it
    launches and their summed device time (far below the call's time: launch-bound); on the CPU
    the top-level aten ops it dispatches."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    clips, _, _ = make_batch(batch, frames, size, device, seed, dtype)
    cuda = torch.device(device).type == "cuda"

    def call():
        with torch.no_grad():
            fame_with_stage(clips, BETA, None, variant, "code", mask_stage)
        synchronise(device)

    call()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        call()
        wall_ms = (time.perf_counter() - start) * 1e3
    events = prof.events()
    if cuda:
        kernels = [e for e in events if e.device_type == DeviceType.CUDA]
        what = "CUDA kernels"
        if not kernels:
            return {"error": "the profiler recorded no CUDA kernel events"}
    else:
        kernels = [e for e in events if e.cpu_parent is None and e.name.startswith("aten::")]
        what = "top-level aten ops"
    return {
        "what": what,
        "count": len(kernels),
        "busy_ms": sum(e.time_range.elapsed_us() for e in kernels) / 1e3,
        "wall_ms": wall_ms,
        "batch": batch, "size": size, "frames": frames, "dtype": dtype, "variant": variant,
    }


# --- the report -------------------------------------------------------------------------------


def _verdict(ratio: float, what: str, why: str) -> str:
    if ratio <= TARGET_RATIO:
        return f"{what}: {ratio:.2f}x the bare merge, within the {TARGET_RATIO}x target."
    return f"{what}: {ratio:.2f}x the bare merge, **misses** the {TARGET_RATIO}x target: {why}"


def measure_all(repeats: int, compile_variant: bool, frames: int = 16, size: int = 112) -> dict:
    """Every measurement of the CPU report, as a dict (B = 16)."""
    shape = {"frames": frames, "size": size}
    results = {
        "cpu": cpu_fame_merge_ratio(repeats=repeats, **shape),
        "numpy": numpy_torch_ratio(repeats=max(3, repeats // 2), **shape),
        "load_average": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "numpy_version": np.__version__,
    }
    if compile_variant:
        results["compiled_cpu"] = compiled_ratio(repeats=repeats, **shape)
    return results


def render(results: dict) -> str:
    """The markdown report from ``measure_all``'s results."""
    cpu, ref = results["cpu"], results["numpy"]
    shape = "x".join(str(s) for s in cpu["shape"])
    load = ", ".join(f"{v:.1f}" for v in results["load_average"])
    lines = [
        "# Augmentation cost: FAME against the bare merge",
        "",
        "Generated by `nox -s augmentation_cost` (`python -m fame_bench.bench.augmentation_cost`)"
        " from measurements of this run; do not edit by hand.",
        "",
        "## Set-up",
        f"- Machine: {cpu_model()}, {results['cpu_count']} logical CPUs, torch threads "
        f"{cpu['threads']}, OpenMP wait policy {cpu['omp_wait_policy']}, load average "
        f"{load} (a shared machine: absolute times drift, ratios measured interleaved).",
        f"- torch {results['torch']}, NumPy {results['numpy_version']}, Python "
        f"{platform.python_version()}.",
        f"- Batch: B = {cpu['batch']} clips of {shape} float32, β = {BETA}, variant `fame`, "
        f"hue `code`; {cpu['repeats']} interleaved repeats after a warm-up, medians.",
        "- Baseline: the bare merge `mask * x + (1 - mask) * y` of the same tensors (mask "
        "(B, 1, 1, H, W) float32). FAME = mask (frame statistics, seed, colour statistics, "
        "top-β) + merge, default background (the batch rolled by one).",
        "",
        "## Results",
        "| measurement | device | ratio | ms (this run) |",
        "|---|---|---|---|",
        f"| FAME / bare merge | CPU | **{cpu['ratio']:.2f}** | {cpu['fame_ms']:.1f} / "
        f"{cpu['merge_ms']:.1f} |",
        f"| NumPy reference / PyTorch FAME | CPU | **{ref['ratio']:.2f}** | "
        f"{ref['numpy_ms']:.1f} / {ref['torch_ms']:.1f} |",
        f"| NumPy reference / bare merge | CPU | {ref['numpy_vs_merge']:.2f} | "
        f"{ref['numpy_ms']:.1f} / {ref['merge_ms']:.1f} |",
    ]
    compiled = results.get("compiled_cpu")
    if compiled and "error" not in compiled:
        lines.append(
            f"| FAME, `torch.compile` mask stage / bare merge | CPU | "
            f"**{compiled['compiled_ratio']:.2f}** (eager {compiled['eager_ratio']:.2f} in the "
            f"same run) | {compiled['compiled_ms']:.1f} / {compiled['merge_ms']:.1f} |"
        )
    lines += [
        "",
        f"NumPy and PyTorch masks agree on {100 * ref['mask_agreement']:.2f} % of pixels here.",
        "",
        "## Targets",
        f"- FAME (mask + merge) ≤ {TARGET_RATIO}x the bare merge on CPU and on GPU.",
        f"- GPU: FAME (β {BETA}, B = 8, 112²) ≤ {100 * TARGET_STEP_SHARE:.0f} % of an R(2+1)D-18 "
        "MoCo training step in bfloat16 at the same batch.",
        "- NumPy reference against PyTorch CPU: reported, no target.",
        "",
        "## Verdicts",
        "- " + _verdict(
            cpu["ratio"], "CPU",
            f"timed alone in the same run the mask stage costs {cpu['mask_share']:.2f}x the bare"
            f" merge and FAME's one-pass merge {cpu['select_share']:.2f}x; the mask stage reads"
            " the batch once, the rest is a few hundred small operations on (B, H, W) maps "
            "(blur taps, HSV, top-β, histograms) whose fixed costs dominate on few or shared "
            "threads.",
        ),
        f"- Parts, timed alone in the same run: mask stage {cpu['mask_share']:.2f}x the bare "
        f"merge, FAME's merge (one `torch.lerp`/`torch.where` pass) {cpu['select_share']:.2f}x.",
    ]
    if compiled is None:
        lines.append("- `torch.compile`: not tried in this run (`--no-compile`).")
    elif "error" in compiled:
        lines.append(f"- `torch.compile` failed here: {compiled['error']}.")
    else:
        gain = compiled["eager_ratio"] / compiled["compiled_ratio"]
        lines.append(
            f"- `torch.compile` of the mask stage: {compiled['compile_s']:.0f} s to compile (per "
            f"input shape), then {gain:.2f}x faster than eager FAME in the same run; masks "
            f"{'identical to' if compiled['masks_equal'] else 'DIFFERENT from'} the eager ones. "
            + _verdict(compiled["compiled_ratio"], "Compiled FAME on CPU",
                       "the remaining cost is the merge pass and the statistics pass.")
        )
    lines += ["", "## GPU", "", placeholder_block()]
    return "\n".join(lines) + "\n"


# --- on a CUDA device: the rows ``device_check`` measures ------------------------------------


@dataclass(frozen=True)
class OpCase:
    """One FAME measurement on a device: variant, input dtype, batch, side, and how it runs
    (eager, or ``torch.compile`` with ``mode``)."""

    variant: str
    dtype: str
    batch: int
    size: int
    frames: int = 16
    compiled: bool = False
    mode: str | None = None

    @property
    def how(self) -> str:
        if not self.compiled:
            return "eager"
        return "compiled" + (f", {self.mode}" if self.mode else "")


def device_cases(shapes: list[tuple[int, int]], frames: int = 16) -> list[OpCase]:
    """The op rows of issue #15 in the order they are measured (a time budget cuts the tail).

    ``shapes``: (batch, side) pairs, the first one the headline (B = 8, 112²). Every variant and
    input dtype eagerly first (cheap), then compiled: FAME float32 at each shape, CUDA graphs
    (``reduce-overhead``) at the headline shape, the other dtypes and variants at the headline
    shape, and then the rest.
    """
    dtypes = list(DTYPES)
    eager = [OpCase(v, d, b, s, frames)
             for b, s in shapes for d in dtypes for v in PAPER_MASK_VARIANTS]
    head_b, head_s = shapes[0]
    first = [OpCase("fame", "float32", b, s, frames, True) for b, s in shapes]
    first.insert(1, OpCase("fame", "float32", head_b, head_s, frames, True, "reduce-overhead"))
    first += [OpCase(v, d, head_b, head_s, frames, True)
              for d in dtypes for v in PAPER_MASK_VARIANTS]
    rest = [OpCase(v, d, b, s, frames, True)
            for b, s in shapes for d in dtypes for v in PAPER_MASK_VARIANTS]
    ordered: list[OpCase] = []
    for case in eager + first + rest:
        if case not in ordered:
            ordered.append(case)
    return ordered


# Seconds set aside before starting a case, for scheduling only (never reported): an eager case,
# and a compiled one until a first compile has been timed on this machine.
_EAGER_GUESS_S, _COMPILE_GUESS_S = 5.0, 60.0


def measure_device(device: str, cases: list[OpCase], deadline: float, repeats: int = 20,
                   warmup: int = 3, backend: str = "inductor", seed: int = 0) -> list[dict]:
    """Each case's measurement (``fame_merge_ratio`` or ``compiled_ratio``) with its case and a
    status: ``measured``, ``error`` (its message) or ``skipped`` (no time left before
    ``deadline``, a ``time.monotonic()`` value). A case running past the deadline is stopped."""
    entries, compile_s = [], 0.0
    for case in cases:
        entry = {"case": asdict(case), "how": case.how}
        guess = _EAGER_GUESS_S if not case.compiled else (
            2 * compile_s + _EAGER_GUESS_S if compile_s else _COMPILE_GUESS_S)
        left = deadline - time.monotonic()
        if left < guess:
            entries.append({**entry, "status": "skipped",
                            "note": f"time budget: {left:.0f} s left, needs about {guess:.0f} s"})
            continue
        shape = dict(batch=case.batch, frames=case.frames, size=case.size, device=device,
                     seed=seed, dtype=case.dtype, variant=case.variant, repeats=repeats,
                     warmup=warmup)
        try:
            with time_limit(left):
                if case.compiled:
                    result = compiled_ratio(mode=case.mode, backend=backend, **shape)
                else:
                    result = fame_merge_ratio(**shape)
        except OverBudget as error:
            entries.append({**entry, "status": "error", "error": f"time budget: {error}"})
            continue
        except Exception as error:  # one failing case must not lose the others
            result = {"error": _error_text(error)}
        if "error" in result:
            entries.append({**entry, "status": "error", "error": result["error"]})
            continue
        if case.compiled:
            compile_s = max(compile_s, result["compile_s"])
            result = {**result, "fame_ms": result["compiled_ms"],
                      "ratio": result["compiled_ratio"]}
        entries.append({**entry, "status": "measured", **result})
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
    return entries


_ROWS_HEAD = [
    "| variant | input | B | S | run | FAME (ms) | bare merge (ms) | FAME / merge | "
    "share of step | notes |",
    "|---|---|---|---|---|---|---|---|---|---|",
]


def _entry_rows(entries: list[dict], step_ms: dict[tuple[int, int], float]) -> list[str]:
    lines = []
    for e in entries:
        c = e["case"]
        head = f"| {c['variant']} | {c['dtype']} | {c['batch']} | {c['size']} | {e['how']} |"
        if e["status"] != "measured":
            lines.append(f"{head} — | — | — | — | {e['status']}: {e.get('error') or e['note']} |")
            continue
        notes = ""
        if "compile_s" in e:
            notes = (f"compile {e['compile_s']:.0f} s, {e['graphs']} graphs, eager "
                     f"{e['eager_ms']:.3f} ms in the same run, masks "
                     f"{'equal' if e['masks_equal'] else '**DIFFER**'}")
        lines.append(f"{head} {e['fame_ms']:.3f} | {e['merge_ms']:.3f} | **{e['ratio']:.1f}** | "
                     f"{_share_text(e, step_ms)} | {notes} |")
    return lines


def render_recheck_block(recheck: dict, step_ms: dict[tuple[int, int], float]) -> list[str]:
    """A later, shorter measurement of some op cases (``recheck``: ``entries`` from
    ``measure_device``, the ``commit`` of the code measured and the ``source`` file), e.g. the
    compiled cases whose masks differed, re-measured after a fix; its share of step divides by
    the main run's MoCo step."""
    entries = recheck["entries"]
    compiled = [e for e in entries if e["status"] == "measured" and "masks_equal" in e]
    equal = sum(e["masks_equal"] for e in compiled)
    return [
        "",
        f"Re-measured after the table above, on the same kind of device, with the code of "
        f"commit {recheck['commit']} (`{recheck['source']}`):",
        "",
        *_ROWS_HEAD,
        *_entry_rows(entries, step_ms),
        "",
        f"- Compiled masks equal to the eager ones in {equal} of {len(compiled)} re-measured "
        "cases.",
    ]


def _share_text(entry: dict, step_ms: dict[tuple[int, int], float]) -> str:
    step = step_ms.get((entry["case"]["batch"], entry["case"]["size"]))
    return f"{100 * entry['fame_ms'] / step:.2f} %" if step else "—"


def headline(entries: list[dict], how: str, batch: int, size: int) -> dict | None:
    """The measured FAME float32 entry at (batch, size) run ``how``, if any."""
    for e in entries:
        c = e["case"]
        if (e["status"] == "measured" and e["how"] == how and c["variant"] == "fame"
                and c["dtype"] == "float32" and (c["batch"], c["size"]) == (batch, size)):
            return e
    return None


def render_device_block(op: dict, step_ms: dict[tuple[int, int], float], where: str,
                        step_what: str) -> list[str]:
    """The GPU rows of the report (between the markers) from ``device_check``'s op stage.

    ``step_ms``: the plain MoCo step per (batch, side) from the same run, ``step_what`` its model
    and clips; ``where``: device name, versions, date. Verdicts at ``op["shapes"]``' first
    (batch, side), the headline (B = 8, 112²), and for the 1.5x target at its second (B = 64).
    """
    entries = op["entries"]
    (head_b, head_s), *others = [tuple(shape) for shape in op["shapes"]]
    lines = [
        f"Measured by `nox -s device_check` on {where}; every number below is in "
        f"`reports/device_check.json`. Clips (B, 3, {op['frames']}, S, S), β = {BETA}, hue "
        f"`code`; {op['timer']} medians of {op['repeats']} interleaved repeats after "
        f"{op['warmup']} warm-up rounds. Bare merge: `mask * x + (1 - mask) * y` of the same "
        "tensors in the input dtype. Share of step: FAME's time over one plain MoCo training "
        f"step ({step_what}, bfloat16 autocast) at the same batch and side, measured in the "
        "same run (a MoCo+FAME step calls FAME twice, once per clip of the pair).",
        "",
        *_ROWS_HEAD,
    ]
    lines += _entry_rows(entries, step_ms)
    lines += ["", "Verdicts:"]
    step = step_ms.get((head_b, head_s))
    what = f"FAME β {BETA}, B = {head_b}, {head_s}², float32"
    for how in ("eager", "compiled", "compiled, reduce-overhead"):
        e = headline(entries, how, head_b, head_s)
        if e is None:
            lines.append(f"- {what}, {how}: not measured in this run.")
        elif step is None:
            lines.append(f"- {what}, {how}: {e['fame_ms']:.3f} ms; no MoCo step at this batch "
                         "was measured in this run, so the 1 % target is untested.")
        else:
            share = e["fame_ms"] / step
            met = "meets" if share <= TARGET_STEP_SHARE else "**misses**"
            lines.append(f"- {what}, {how}: {e['fame_ms']:.3f} ms = {100 * share:.2f} % of the "
                         f"{step:.1f} ms MoCo step: {met} the {100 * TARGET_STEP_SHARE:.0f} % "
                         "target.")
    for batch, size in others[:1]:
        for how in ("eager", "compiled"):
            e = headline(entries, how, batch, size)
            if e is not None:
                lines.append("- " + _verdict(e["ratio"], f"B = {batch}, {size}², {how}",
                                             "see the kernel profile below."))
    profile = op.get("profile")
    if profile and "error" not in profile:
        lines.append(
            f"- Kernel profile of one eager FAME call (B = {profile['batch']}, "
            f"{profile['size']}², {profile['dtype']}): {profile['count']} {profile['what']}, "
            f"{profile['busy_ms']:.3f} ms of them busy in a {profile['wall_ms']:.3f} ms call under "
            f"the profiler ({100 * profile['busy_ms'] / profile['wall_ms']:.0f} % busy; the rest "
            "is launch overhead, host work and syncs).")
    elif profile:
        lines.append(f"- Kernel profile: {profile['error']}.")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    results = measure_all(args.repeats, not args.no_compile)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(carry_over_gpu_block(render(results), args.out))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
