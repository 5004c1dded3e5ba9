"""Progress of a long job: a live bar on a terminal, plain log lines elsewhere.

A bar's carriage returns turn a log file or a CI console into noise, so when
standard error is not a terminal the job prints one line every
``every_s`` seconds instead, with the same figures.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import IO

__all__ = ["Progress", "format_rate"]


class Progress:
    """Rows done of ``total`` (``done`` of them by earlier runs), rows/s and ETA."""

    def __init__(self, total: int, done: int = 0, *, stream: IO[str] | None = None, every_s: float = 30.0,
                 enabled: bool = True) -> None:
        self.total, self.done, self.start_done = total, done, done
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.enabled = enabled
        self.started = self.last_line = time.monotonic()
        self._bar = None
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, unit="rows", unit_scale=True, file=self.stream, dynamic_ncols=True)

    def update(self, rows: int) -> None:
        self.done += rows
        if self._bar is not None:
            self._bar.update(rows)
        elif self.enabled and time.monotonic() - self.last_line >= self.every_s:
            self.last_line = time.monotonic()
            print(f"zeroclass batch: {self.line()}", file=self.stream, flush=True)

    @property
    def rows_per_s(self) -> float:
        elapsed = time.monotonic() - self.started
        return (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        rate = self.rows_per_s
        eta = timedelta(seconds=round((self.total - self.done) / rate)) if rate > 0 else "?"
        share = 100 * self.done / self.total if self.total else 100.0
        return f"{self.done:,}/{self.total:,} rows ({share:.1f}%), {format_rate(rate)} rows/s, ETA {eta}"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def format_rate(per_s: float) -> str:
    """``per_s`` with whole units from 10 up and two significant digits below, so a slow or tiny job never reads "0"."""
    return f"{per_s:,.0f}" if per_s >= 10 else f"{per_s:.2g}"
