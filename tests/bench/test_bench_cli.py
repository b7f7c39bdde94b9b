"""`dlgen bench` end to end on a tiny model with the C and ONNX Runtime targets: the JSON
schema (keys and types), CSV/Markdown/PNG files, artifact folders, refusals and the baseline
regression exit code. No assertion on speed: figures belong to benchmarks/."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

import dlgen
from dlgen.bench.baseline import compare_baseline
from dlgen.bench.report import to_markdown

pytestmark = [pytest.mark.cc,
              pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")]

LATENCY_KEYS = {"p50", "p90", "p95", "p99", "mean", "min", "max", "std"}
NUMBER = (int, float)


@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory, dlgen_module, fast_module):
    """One `dlgen bench` run writing every file format; (process, folder)."""
    out = tmp_path_factory.mktemp("bench")
    proc = dlgen_module("bench", tiny, "-t", "c", "-t", "onnxruntime", "--batch", "2",
                        *fast_module, "--json", out / "r.json", "--csv", out / "r.csv",
                        "--markdown", out / "r.md", "--plot", out / "r.png")
    return proc, out


def test_exit_status_and_table(run):
    proc, _ = run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "dlgen bench: tiny" in proc.stdout
    for needle in ("p50 ms", "c", "onnxruntime", "host", "wrote"):
        assert needle in proc.stdout


def test_json_schema(run):
    _, out = run
    report = json.loads((out / "r.json").read_text())
    assert set(report) >= {"environment", "model", "results"}
    env = report["environment"]
    for key in ("dlgen", "onnx", "onnxruntime", "compiler", "cpu", "cores", "os",
                "onnxruntime_providers_available"):
        assert key in env, key
    assert isinstance(env["compiler"]["flags"], list) and env["cores"]["logical"] >= 1
    model = report["model"]
    assert model["name"] == "tiny" and model["batch"] == 2
    assert model["inputs"] == [{"name": "x", "dtype": "float32", "shape": [2, 4]}]
    rows = {r["target"]: r for r in report["results"]}
    assert set(rows) == {"c", "onnxruntime"}
    for row in rows.values():
        assert row["device"] == "host" and row["error"] is None
        assert set(row["latency_ms"]) == LATENCY_KEYS
        assert all(isinstance(v, float) and v > 0 for v in row["latency_ms"].values()
                   if v is not row["latency_ms"]["std"])
        lat = row["latency_ms"]
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert isinstance(row["throughput_per_s"], float) and row["throughput_per_s"] > 0
        assert isinstance(row["iterations"], int) and row["iterations"] >= 2
        assert isinstance(row["peak_rss_bytes"], int) and row["peak_rss_bytes"] > 1 << 20
        acc = row["accuracy"]
        assert isinstance(acc["max_abs_err"], NUMBER) and isinstance(acc["max_rel_err"], NUMBER)
        assert acc["max_abs_err"] < 1e-4 and acc["within_tolerance"]
        assert set(acc["outputs"]) == {"y"}
    assert isinstance(rows["c"]["arena_bytes"], int)
    assert rows["onnxruntime"]["arena_bytes"] is None
    assert rows["c"]["options"] == {"kernels": "portable", "threads": 1}
    assert rows["onnxruntime"]["providers"] == ["CPUExecutionProvider"]


def test_csv_markdown_png(run):
    _, out = run
    with open(out / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["target"] for r in rows] == ["c", "onnxruntime"]
    assert float(rows[0]["p50_ms"]) > 0 and float(rows[1]["ratio_vs_onnxruntime"]) == 1.0
    md = (out / "r.md").read_text()
    assert "| target | device | p50 ms |" in md and "| onnxruntime | host |" in md
    assert "LoadGen" in md
    png = (out / "r.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_python_api_and_artifact_folder(tiny, tmp_path):
    art = dlgen.compile(tiny, "c", tmp_path / "art", input_shapes={"x": (3, 4)})
    report = dlgen.bench(tmp_path / "art", iterations=2, duration=0, warmup=0, warmup_time=0)
    data = report.to_dict()
    assert [r["target"] for r in data["results"]] == ["c"]
    assert data["model"]["artifact"] is True
    assert data["results"][0]["arena_bytes"] == art.manifest["arena_bytes"]
    assert data["results"][0]["accuracy"] is None          # no ONNX model to compare with
    assert "none" in data["model"]["reference"]
    assert "| c | host |" in to_markdown(data)
    feeds = {"x": np.ones((3, 4), np.float32)}
    again = dlgen.bench(tiny, ["onnxruntime:threads=2"], inputs=feeds, input_shapes=["x=3x4"],
                        iterations=2, duration=0, warmup=0, warmup_time=0)
    assert again.results[0]["target"] == "onnxruntime:threads=2"
    assert again.model["inputs_source"] == "given"


@pytest.mark.parametrize("args, needle", [
    (["-t", "onnxruntime:openvino"], "is not in the installed onnxruntime"),
    (["-t", "c:kernels=mkl"], "unknown kernels"),
    (["-t", "c:threads=0"], "threads must be a whole number"),
    (["--device", "qemu-aarch64", "-t", "onnxruntime"], "only the C target runs"),
    (["--device", "ssh://pi@127.0.0.1", "-t", "c", "-t", "ort"], "only the C target runs"),
    (["--device", "gpu0"], "unknown --device"),
    (["--max-regression", "5"], "--max-regression needs --baseline"),
    (["--batch", "0"], "--batch must be a whole number"),
])
def test_refusals_exit_2(tiny, dlgen, args, needle):
    proc = dlgen("bench", tiny, *args, "--iterations", "1", "--duration", "0")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and "\nhint: " in proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_fixed_batch_dim_refuses_another_batch(tmp_path, dlgen, make_tiny):
    model = make_tiny(tmp_path / "fixed.onnx", batch=1)
    proc = dlgen("bench", model, "--batch", "4", "--iterations", "1")
    assert proc.returncode == 2 and "fixed leading dim of 1" in proc.stderr


def test_baseline_regression_exit_code(run, tiny, tmp_path, dlgen, fast):
    _, out = run
    baseline = json.loads((out / "r.json").read_text())
    for row in baseline["results"]:
        row["latency_ms"]["p50"] = 1e-9          # an impossibly fast earlier run
    (tmp_path / "old.json").write_text(json.dumps(baseline))
    proc = dlgen("bench", tiny, "-t", "c", "--batch", "2", *fast,
                 "--baseline", tmp_path / "old.json", "--max-regression", "10")
    assert proc.returncode == 1, proc.stderr
    assert "REGRESSION" in proc.stdout and "regressed by more than 10%" in proc.stderr


def test_baseline_comparison_logic():
    def report(p50s):
        return {"results": [{"target": t, "device": "host", "latency_ms": {"p50": v}}
                            for t, v in p50s.items()]}

    rows = compare_baseline(report({"c": 1.05, "onnxruntime": 2.0, "c:threads=2": 1.0}),
                            report({"c": 1.0, "onnxruntime": 1.0}), 10.0)
    by = {r["target"]: r for r in rows}
    assert by["c"]["change_pct"] == pytest.approx(5.0) and not by["c"]["regressed"]
    assert by["onnxruntime"]["regressed"] and by["onnxruntime"]["change_pct"] == pytest.approx(100)
    assert by["c:threads=2"]["change_pct"] is None and not by["c:threads=2"]["regressed"]


def test_bad_baseline_file(tiny, tmp_path, dlgen):
    (tmp_path / "bad.json").write_text("{}")
    proc = dlgen("bench", tiny, "--baseline", tmp_path / "bad.json")
    assert proc.returncode == 2 and "has no results list" in proc.stderr
