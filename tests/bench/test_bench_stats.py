"""Percentiles (MLPerf LoadGen's method), the summary block and the geometric mean, on
hand-computed cases."""
from __future__ import annotations

import math

import pytest

from dlgen.bench.stats import geometric_mean, loadgen_index, percentile, summarize


def test_index_is_floor_of_n_times_p():
    # LoadGen: sorted[sample_count * percentile], the double truncated to an index.
    assert loadgen_index(4, 0.5) == 2          # the upper of the two middle samples
    assert loadgen_index(5, 0.5) == 2          # the middle one
    assert loadgen_index(100, 0.99) == 99      # the largest
    assert loadgen_index(100, 0.90) == 90
    assert loadgen_index(10, 0.95) == 9
    assert loadgen_index(1, 0.99) == 0
    assert loadgen_index(1000, 0.99) == 990
    assert loadgen_index(3, 0.0) == 0


@pytest.mark.parametrize("n, p", [(0, 0.5), (3, 1.0), (3, -0.1)])
def test_index_refuses_bad_arguments(n, p):
    with pytest.raises(ValueError):
        loadgen_index(n, p)


def test_percentiles_of_one_to_ten():
    values = [float(v) for v in range(1, 11)]          # 1..10
    assert percentile(values, 0.5) == 6.0              # index 5
    assert percentile(values, 0.9) == 10.0             # index 9
    assert percentile(values, 0.95) == 10.0            # index 9 (9.5 truncated)
    assert percentile(values, 0.0) == 1.0


def test_summary_hand_computed():
    # Unsorted on purpose; sorted: 1, 2, 3, 4, 10.
    s = summarize([4.0, 1.0, 10.0, 3.0, 2.0])
    assert s["p50"] == 3.0                              # index floor(2.5) = 2
    assert s["p90"] == 10.0                             # index floor(4.5) = 4
    assert s["p95"] == 10.0 and s["p99"] == 10.0
    assert s["mean"] == 4.0 and s["min"] == 1.0 and s["max"] == 10.0
    # population std: deviations -3,-2,-1,0,6 -> squares 9+4+1+0+36 = 50, /5 = 10
    assert s["std"] == pytest.approx(math.sqrt(10.0))
    assert list(s) == ["p50", "p90", "p95", "p99", "mean", "min", "max", "std"]


def test_summary_of_a_hundred_samples():
    s = summarize([float(v) for v in range(100, 0, -1)])   # 100..1
    assert (s["p50"], s["p90"], s["p95"], s["p99"]) == (51.0, 91.0, 96.0, 100.0)
    assert s["mean"] == 50.5


def test_summary_needs_samples():
    with pytest.raises(ValueError):
        summarize([])


def test_geometric_mean():
    assert geometric_mean([2.0, 8.0]) == pytest.approx(4.0)
    assert geometric_mean([0.5, 2.0, 1.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        geometric_mean([1.0, 0.0])
