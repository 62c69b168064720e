"""The synthetic background-bias benchmark ("motion-bias"), ``docs/synthetic_benchmark.md``.

A clip is one textured object moving over a static textured background. The **class is the
object's motion** (move right/left/up/down, circle cw/ccw, grow/shrink, oscillate h/v); the
object's shape, colour, texture, size, speed, phase and start are drawn at random, independently
of the class. The background comes from one of ``K = num_classes`` *families* (a palette and a
texture kind); in ``pretrain``/``train``/``test_biased`` the family equals the class with
probability ``rho``, in ``test_swapped`` it never does. The fine-grained variant (the Diving48
stand-in) draws every background from one shared distribution and its classes differ only in the
order of two motion segments (e.g. right-then-up versus up-then-right).

Every clip is a pure function of ``(config, seed, split, index)``: its random draws come from a
``numpy`` generator seeded with ``SeedSequence([seed, split, index, variant])``, so clip ``i`` is
the same whatever the split size, and a split can be rendered in any order or in part
(:func:`render_clips`). Rendering is vectorised over clips, frames and pixels (NumPy, float32).

Training on these clips must **not** use horizontal flips: a flip turns "move right" into "move
left" (and swaps cw/ccw circles), i.e. it changes the label. Use per-clip colour jitter instead, or
instances can be told apart by colour alone.

Layouts: videos uint8 ``(N, C, T, H, W)``, masks bool ``(N, T, H, W)`` (per-frame ground truth of
the foreground object; the distractor and the background are never foreground).

Modules: :mod:`.config` (the configuration and vocabulary), :mod:`.render` (the clips),
:mod:`.cache` (whole splits, cached on disk), :mod:`.dataset` (lazy per-clip access).
"""

from fame_bench.data.synthetic.cache import (
    NoRoomError,
    available_memory_bytes,
    cache_key,
    check_room,
    make_split,
    split_bytes,
)
from fame_bench.data.synthetic.config import (
    DATASET_VARIANTS,
    FINEGRAINED_MOTIONS,
    LATER_FIELDS,
    MOTIONS,
    SENSOR_NOISE,
    SPLITS,
    SyntheticConfig,
)
from fame_bench.data.synthetic.dataset import SyntheticClipDataset
from fame_bench.data.synthetic.render import (
    BG_KINDS,
    FG_TEXTURES,
    SHAPES,
    SyntheticSplit,
    render_clips,
)

__all__ = [
    "BG_KINDS", "DATASET_VARIANTS", "FG_TEXTURES", "FINEGRAINED_MOTIONS", "LATER_FIELDS",
    "MOTIONS", "SENSOR_NOISE", "SHAPES", "SPLITS", "NoRoomError", "SyntheticClipDataset",
    "SyntheticConfig",
    "SyntheticSplit", "available_memory_bytes", "cache_key", "check_room", "make_split",
    "render_clips", "split_bytes",
]
