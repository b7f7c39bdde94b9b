"""benchmarks/suite.py in --quick mode on one tiny model: per-model JSON, summary JSON, PNG
and README table are written. Figures are not checked (speed belongs to benchmarks/)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.cc, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")]


def test_suite_quick(tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "suite.py"), "--quick",
                           "--models", "mlp_784_30_10", "--threads", "1", "--out", str(out),
                           "--readme", str(tmp_path / "README.md")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "$ dlgen bench " in proc.stdout            # the command, for users to rerun
    report = json.loads((out / "mlp_784_30_10.json").read_text())
    targets = {r["target"] for r in report["results"]}
    assert {"c", "onnxruntime"} <= targets
    assert report["codegen"]["seconds"] > 0 and report["codegen"]["peak_rss_bytes"] > 0
    # at least the parameters; packed kernel layouts may pad them
    assert report["codegen"]["weights_bytes"] >= (784 * 30 + 30 + 30 * 10 + 10) * 4
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] is True
    row = next(r for r in summary["rows"] if r["target"] == "c")
    assert row["ratio"] > 0 and row["onnxruntime_p50_ms"] > 0
    assert "portable, 1 thread" in summary["geomean"]["tiny"]
    if "c:kernels=cblas" not in targets:
        assert summary["skipped"]                       # with the reason
    assert (out / "summary.png").read_bytes().startswith(b"\x89PNG")
    readme = (tmp_path / "README.md").read_text()
    assert "| mlp_784_30_10 | portable, 1 thread |" in readme and "summary.png" in readme
