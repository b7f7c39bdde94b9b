"""`--baseline old.json --max-regression PCT`: compare p50 latency with an earlier run, per target.

A target regressed when its p50 is more than PCT percent above the baseline's p50 for the same
target label and device. Targets missing from either run are listed, never counted as
regressions.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import BadInput
from ..text import quote


def load_baseline(path) -> dict:
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise BadInput(f"--baseline file {quote(str(path))} does not exist",
                       hint="pass a JSON file written by `dlgen bench --json`") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read --baseline file {quote(str(path))}: {exc}",
                       hint="pass a JSON file written by `dlgen bench --json`") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise BadInput(f"--baseline file {quote(str(path))} has no results list",
                       hint="pass a JSON file written by `dlgen bench --json`")
    return data


def _p50(row: dict) -> float | None:
    lat = row.get("latency_ms") if isinstance(row, dict) else None
    value = lat.get("p50") if isinstance(lat, dict) else None
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def compare_baseline(report: dict, baseline: dict, max_regression: float) -> list[dict]:
    """One entry per target of ``report``: p50 now and before, change in percent, regressed."""
    before = {(r.get("target"), r.get("device", "host")): _p50(r)
              for r in baseline["results"] if isinstance(r, dict)}
    out = []
    for row in report["results"]:
        now, old = _p50(row), before.get((row["target"], row["device"]))
        entry = {"target": row["target"], "device": row["device"], "p50_ms": now,
                 "baseline_p50_ms": old, "change_pct": None, "regressed": False}
        if now is not None and old is not None:
            entry["change_pct"] = (now / old - 1.0) * 100.0
            entry["regressed"] = entry["change_pct"] > max_regression
        out.append(entry)
    return out
