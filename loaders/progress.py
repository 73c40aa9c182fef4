"""Progress of long steps: a bar on a terminal, plain timestamped lines otherwise.

The loader only calls ``start(total)``, ``step(label)`` (a context manager around one step)
and ``note(message)``; ``NullProgress`` is the silent default.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def step(self, label: str) -> Any: ...
    def note(self, message: str) -> None: ...


class NullProgress:
    """Reports nothing."""

    def start(self, total: int) -> None:
        pass

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        yield

    def note(self, message: str) -> None:
        pass


class StreamProgress:
    """Writes to a stream: redraws a bar on a TTY, one line per finished step otherwise."""

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.total = 0
        self.done = 0
        self.t0 = time.monotonic()

    def start(self, total: int) -> None:
        self.total, self.done, self.t0 = total, 0, time.monotonic()

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        began, cpu_began = time.monotonic(), time.process_time()
        if self.tty:
            self._bar(label)
        yield
        self.done += 1
        seconds, cpu = time.monotonic() - began, time.process_time() - cpu_began
        if self.tty:
            self._bar(label, seconds)
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            # CPU seconds (all threads) too: on a shared machine wall time measures neighbours.
            line = f"[{self.done}/{self.total}] {label} ({seconds:.1f} s, CPU {cpu:.1f} s)\n"
            self.stream.write(line)
        self.stream.flush()

    def note(self, message: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(message + "\n")
        self.stream.flush()

    def _bar(self, label: str, seconds: float | None = None) -> None:
        frac = self.done / self.total if self.total else 0.0
        filled = int(frac * self.WIDTH)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        elapsed = time.monotonic() - self.t0
        tail = f"{label} ({seconds:.1f} s)" if seconds is not None else f"{label} ..."
        self.stream.write(f"\r\033[K[{bar}] {self.done}/{self.total} {elapsed:5.0f}s {tail}")
        self.stream.flush()
