"""The benchmark harness behind `dlgen bench` and ``dlgen.bench()``.

Modules: specs (target specs ``c:kernels=cblas``), devices (where it runs; ``host``), worker
(the per-target child process), measure (the timing loop, RSS), stats (LoadGen percentiles),
environment (versions, CPU, compiler), harness (``bench()``), report (JSON, CSV, Markdown, rich
table, PNG), baseline (regression check).
"""
from .harness import BenchReport, bench
from .measure import MeasureConfig
from .specs import TargetSpec, parse_target_spec, parse_target_specs

__all__ = ["BenchReport", "MeasureConfig", "TargetSpec", "bench", "parse_target_spec",
           "parse_target_specs"]
