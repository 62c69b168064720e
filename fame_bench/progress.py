"""Progress of a long stage (pretraining, feature extraction, linear probe, finetune).

On a terminal: a tqdm bar on stderr. Always: a log line (``fame_bench.progress``, INFO) each
time another ``every_percent`` of the stage is done, at most one per ``min_interval_s`` (short
stages log only their last line), with the elapsed time and an ETA; the run's log
(``fame_bench.train.runlog``) keeps them, and the CLI prints them on stderr when stderr is not a
terminal. ``BARS`` turns the bars off in a process (the parallel runner's workers share one
terminal).
"""

from __future__ import annotations

import logging
import sys
import time

LOG = logging.getLogger("fame_bench.progress")

#: False: no tqdm bars in this process (log lines only).
BARS = True


def fmt_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class StageProgress:
    """``total`` units (``unit``: their plural name) of one stage named ``desc``; call
    :meth:`update` as units finish and :meth:`close` at the end (or use it as a context
    manager)."""

    def __init__(self, total: int, desc: str, unit: str = "steps", enabled: bool = True,
                 every_percent: int = 10, min_interval_s: float = 5.0, initial: int = 0):
        self.total, self.desc, self.unit = max(0, int(total)), desc, unit
        self.enabled = enabled
        self.every, self.min_interval_s = every_percent, min_interval_s
        self.done = self.start_done = initial
        self.start = self.last_line = time.perf_counter()
        self.postfix = ""
        self.next_percent = self._percent(initial) // every_percent * every_percent + every_percent
        self.bar = None
        if enabled and BARS and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=initial, desc=desc, unit=unit, leave=False)

    def _percent(self, done: int) -> int:
        return 100 * done // self.total if self.total else 100

    def set_postfix(self, text: str) -> None:
        """A short status shown after the count (e.g. the loss)."""
        self.postfix = text
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if not self.enabled or self._percent(self.done) < self.next_percent:
            return
        self.next_percent = self._percent(self.done) // self.every * self.every + self.every
        now = time.perf_counter()
        if self.done < self.total and now - self.last_line < self.min_interval_s:
            return
        self.last_line = now
        LOG.info(self.line(now))

    def line(self, now: float | None = None) -> str:
        """``desc: done/total unit (p %), elapsed, ETA``."""
        elapsed = (now or time.perf_counter()) - self.start
        made = self.done - self.start_done
        left = self.total - self.done
        eta = f"ETA {fmt_seconds(elapsed / made * left)}" if made and left > 0 else "done"
        extra = f", {self.postfix}" if self.postfix else ""
        return (f"{self.desc}: {self.done}/{self.total} {self.unit} "
                f"({self._percent(self.done)} %), {fmt_seconds(elapsed)} elapsed, {eta}{extra}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
