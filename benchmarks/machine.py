"""What the benchmark reports say about the machine and the run, shared by the scripts."""

from __future__ import annotations

import os
import platform
import threading
import time
from importlib import metadata


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(packages: list[str]) -> str:
    """Python's version and each package's installed version."""
    found = []
    for name in packages:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return f"Python {platform.python_version()}; " + ", ".join(found)


def last_line(text: str) -> str:
    """The last non-empty line of a worker's output (what a failed row shows)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all processes), from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class PauseWatch:
    """Seconds this process was stopped (SIGSTOP, a suspended job): a thread that wakes every
    0.2 s sees a gap of over 2 s only when the whole process did not run. A timing with a
    pause in it measures the pause, not the contender."""

    TICK = 0.2

    def __init__(self) -> None:
        self.paused = 0.0
        self._last = time.monotonic()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            if now - self._last > 2.0:
                self.paused += now - self._last - self.TICK
            self._last = now
