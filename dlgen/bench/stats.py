"""Latency statistics: percentiles the way MLPerf LoadGen computes them, and the summary block.

Percentile method (MLPerf LoadGen, loadgen/results.cc, ``PerformanceSummary::ProcessLatencies``):
sort the n samples ascending and take the sample at 0-based index ``floor(n * p)`` for
``0 <= p < 1`` (LoadGen indexes ``sorted[sample_count * percentile]``; the double is truncated
to size_t). No interpolation: every percentile is one measured sample. For example with
n = 4 and p = 0.5 the index is 2, the upper of the two middle samples; with n = 100 and
p = 0.99 it is 99, the largest sample. This is the "higher of the two neighbours" nearest-rank
variant; ``ceil(n * p) - 1`` would differ from it exactly when n * p is a whole number.
"""
from __future__ import annotations

import math
from typing import Sequence

PERCENTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
SUMMARY_KEYS = ("p50", "p90", "p95", "p99", "mean", "min", "max", "std")


def loadgen_index(n: int, p: float) -> int:
    """The 0-based index of percentile ``p`` (0 <= p < 1) among ``n`` sorted samples."""
    if n <= 0:
        raise ValueError("no samples")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"percentile {p} is outside [0, 1)")
    return min(int(n * p), n - 1)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Percentile ``p`` of already sorted samples (MLPerf LoadGen's method, see above)."""
    return float(sorted_values[loadgen_index(len(sorted_values), p)])


def summarize(values: Sequence[float]) -> dict[str, float]:
    """p50/p90/p95/p99 (LoadGen), mean, min, max and the population standard deviation
    (divide by n) of ``values``, in the values' unit."""
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("no samples")
    n = len(data)
    mean = math.fsum(data) / n
    var = math.fsum((v - mean) ** 2 for v in data) / n
    out = {key: percentile(data, p) for key, p in PERCENTILES.items()}
    out.update(mean=mean, min=data[0], max=data[-1], std=math.sqrt(var))
    return out


def geometric_mean(values: Sequence[float]) -> float:
    """Geometric mean of positive numbers (used for ratios over a set of models)."""
    vals = [float(v) for v in values]
    if not vals or any(v <= 0 for v in vals):
        raise ValueError("geometric mean needs positive values")
    return math.exp(math.fsum(math.log(v) for v in vals) / len(vals))
