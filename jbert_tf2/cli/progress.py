"""What the streaming commands (`jbert-extract-features`, and ``--do_predict`` of
`jbert-run-classifier` and `jbert-run-ner`) share: their input in chunks, a progress count on
stderr while they run, and at the end one warning for all the inputs cut to
``--max_seq_length``."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterable, Iterator


def chunks(items: Iterable, size: int) -> Iterator[list]:
    """Lists of ``size`` consecutive items (the last one shorter), taken as they are needed."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """``PROG: 12,345/1,000,000 lines (1%, 850 lines/s, 14 s, about 19 min 20 s left)``.

    On a terminal the line is rewritten in place (``\\r``, at most five times a second) and
    ended by `finish`. Anywhere else (a log file, a pipe, a notebook) plain lines, no ``\\r``
    and no escape codes: one at every tenth of the total, one at least every ``interval``
    seconds in between, and the last count at `finish`.
    """

    def __init__(
        self, prog: str, total: int, unit: str = "lines", enabled: bool = True, interval=60.0
    ):
        self.prog, self.total, self.unit, self.enabled = prog, total, unit, enabled
        self.in_place = enabled and _is_terminal(sys.stderr)
        self.interval = 0.2 if self.in_place else interval
        self.start = self.shown_at = time.monotonic()
        self.done = self.shown = 0
        self.tenth = 0
        self.width = 0

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        tenth = done * 10 // self.total if self.total else 10
        if self.in_place:
            due = now - self.shown_at >= self.interval
        else:
            due = tenth > self.tenth or now - self.shown_at >= self.interval
        if due:
            self.tenth = tenth
            self._show(now)

    def finish(self) -> None:
        """The last count (when not shown yet); on a terminal, the end of the line."""
        if not self.enabled:
            return
        if self.done != self.shown or (self.in_place and not self.width):
            self._show(time.monotonic())
        if self.in_place:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.width = 0

    def line(self, now: float) -> str:
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        percent = f"{100 * self.done // self.total}%, " if self.total else ""
        text = (
            f"{self.prog}: {self.done:,}/{self.total:,} {self.unit} ({percent}"
            f"{rate:,.0f} {self.unit}/s, {_duration(elapsed)}"
        )
        if rate > 0 and 0 < self.done < self.total:
            text += f", about {_duration((self.total - self.done) / rate)} left"
        return text + ")"

    def _show(self, now: float) -> None:
        self.shown_at, self.shown = now, self.done
        text = self.line(now)
        if self.in_place:
            sys.stderr.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


class Truncations:
    """Counts the inputs cut to ``--max_seq_length`` (Google's truncation: a single text loses
    its end; of a pair, the longer text loses one token at a time), for one warning at the end
    of the run instead of one per input."""

    def __init__(self, prog: str, unit: str, max_seq_length: int):
        self.prog, self.unit, self.max_seq_length = prog, unit, max_seq_length
        self.count = 0
        self.first: str | None = None

    def add(self, where: str) -> None:
        """One more truncated input; ``where`` names it (``line 17``, ``test.tsv line 17``)."""
        self.count += 1
        if self.first is None:
            self.first = where

    def warn(self, total: int) -> None:
        """The warning (nothing when no input was truncated)."""
        if self.count:
            print(
                f"{self.prog}: warning: {self.count:,} of {total:,} {self.unit} were longer than "
                f"--max_seq_length={self.max_seq_length} tokens and were truncated "
                f"(first: {self.first})",
                file=sys.stderr,
            )
