"""The timing loop: warm-up by count and by time, then timed calls until both a minimum
iteration count and a minimum duration are reached. Also peak and current RSS of a process.

Every call is timed alone with ``time.perf_counter_ns``; the loop's own wall time gives the
throughput. Runs inside the per-target child process (see worker.py), so the Python objects of
other targets never share its memory.
"""
from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from ..errors import BadInput

MODES = ("latency", "throughput")


@dataclass
class MeasureConfig:
    """How long to measure. Warm-up lasts until ``warmup`` calls AND ``warmup_time`` seconds
    are done; the timed phase until ``iterations`` calls AND ``duration`` seconds are done.

    ``mode`` "latency" leads the report with p50; "throughput" with samples per second, where
    each call processes ``batch`` samples (the inputs' leading dim, bound by --batch).
    """

    warmup: int = 5
    warmup_time: float = 0.2
    iterations: int = 20
    duration: float = 1.0
    mode: str = "latency"
    batch: int = 1

    def check(self) -> "MeasureConfig":
        if self.mode not in MODES:
            raise BadInput(f"unknown mode {self.mode!r}", hint="use --mode latency or throughput")
        for name in ("warmup", "iterations", "batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (1 if name != "warmup" else 0):
                flag = {"warmup": "--warm-up"}.get(name, f"--{name}")
                raise BadInput(f"{flag} must be a whole number >= "
                               f"{1 if name != 'warmup' else 0}, not {value!r}",
                               hint="see `dlgen bench --help`")
        for name in ("warmup_time", "duration"):
            if getattr(self, name) < 0:
                flag = {"warmup_time": "--warm-up-time"}.get(name, f"--{name}")
                raise BadInput(f"{flag} must be >= 0 seconds", hint="see `dlgen bench --help`")
        return self

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Measurement:
    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0          # timed phase, first call start to last call end
    warmup_calls: int = 0
    warmup_s: float = 0.0

    @property
    def iterations(self) -> int:
        return len(self.latencies_s)


Progress = Callable[[str, float], None]   # (phase "warm-up" | "measure", fraction 0..1)


def measure(call: Callable[[], object], config: MeasureConfig,
            progress: Progress | None = None) -> Measurement:
    """Warm up, then time ``call()`` until the iteration and duration minimums are both met."""
    report = progress or (lambda phase, fraction: None)
    clock = time.perf_counter_ns
    result = Measurement()
    start = clock()
    while (result.warmup_calls < config.warmup
           or (clock() - start) < config.warmup_time * 1e9):
        call()
        result.warmup_calls += 1
        report("warm-up", _fraction(result.warmup_calls, config.warmup,
                                    clock() - start, config.warmup_time))
    result.warmup_s = (clock() - start) / 1e9
    latencies = result.latencies_s
    begin = clock()
    last_report = begin
    while True:
        t0 = clock()
        call()
        t1 = clock()
        latencies.append((t1 - t0) / 1e9)
        if len(latencies) >= config.iterations and t1 - begin >= config.duration * 1e9:
            break
        if t1 - last_report > 1e8:          # at most ten progress events a second
            last_report = t1
            report("measure", _fraction(len(latencies), config.iterations, t1 - begin,
                                        config.duration))
    result.wall_s = (clock() - begin) / 1e9
    report("measure", 1.0)
    return result


def _fraction(done: int, want: int, elapsed_ns: int, want_s: float) -> float:
    """How far a phase is: the lagging one of its two minimums (count and time)."""
    by_count = done / want if want else 1.0
    by_time = elapsed_ns / (want_s * 1e9) if want_s else 1.0
    return max(0.0, min(1.0, by_count, by_time))


def peak_rss_bytes() -> int:
    """This process's peak resident set size.

    Linux: VmHWM of /proc/self/status, the high-water mark of this program's own address
    space. Not ``ru_maxrss``: Linux carries the pre-exec size of a forked child (a copy of its
    parent) into ``ru_maxrss``, so every child of a big parent would report the parent's size.
    Elsewhere ``ru_maxrss`` (bytes on macOS, KiB on other systems).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def current_rss_bytes() -> int | None:
    """This process's resident set size now (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
