"""Latency of the example apps: generated C against ONNX Runtime, measured in the same run.

    python benchmarks/examples.py [--out benchmarks/results/examples.json]

Runs `make` in each examples/<name> folder (train data prepared, model compiled with dlgen,
C app built with -O3 -march=native) and collects the figures its compare.py prints: accuracy of both, median
per-sample latency of the C app and of ONNX Runtime (Python `session.run`, one intra-op thread,
batch 1). Records the machine with them.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLES = ("digits_mlp", "fashion_cnn", "sentiment_lstm")
LATENCY = re.compile(r"^(C \(dlgen\)|ONNX Runtime):\s+median ([0-9.]+) us", re.M)
ACCURACY = re.compile(r"^accuracy\s+(C \(dlgen\)|ONNX Runtime):\s+([0-9.]+)", re.M)


def machine() -> dict:
    """The machine, from the benchmark harness's environment block (dlgen/bench)."""
    from dlgen.bench import environment

    env = environment.collect()
    return {"cpu": env["cpu"], "cores": env["cores"]["logical"], "os": env["os"],
            "cc": env["compiler"]["version"] or "", "cflags": CFLAGS,
            "onnxruntime": env["onnxruntime"]}


# The fastest host build, as the generated Makefiles suggest (the apps default to -O2).
CFLAGS = "-O3 -march=native"


def run_example(name: str, build: Path) -> dict:
    dlgen = Path(sys.executable).with_name("dlgen")
    out = subprocess.run(["make", "-s", "-C", str(ROOT / "examples" / name), f"BUILD={build}",
                          f"DLGEN={dlgen}", f"PYTHON={sys.executable}", f"CFLAGS={CFLAGS}"],
                         capture_output=True, text=True, check=True).stdout
    lat = {k: float(v) for k, v in LATENCY.findall(out)}
    acc = {k: float(v) for k, v in ACCURACY.findall(out)}
    c, ort = lat["C (dlgen)"], lat["ONNX Runtime"]
    return {"example": name, "c_median_us": c, "onnxruntime_median_us": ort,
            "ratio_ort_over_c": round(ort / c, 3), "accuracy_c": acc["C (dlgen)"],
            "accuracy_onnxruntime": acc["ONNX Runtime"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "examples.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_example(name, Path(tmp) / name) for name in EXAMPLES]
    result = {"machine": machine(), "results": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for r in rows:
        print(f"{r['example']:<16} C {r['c_median_us']:>9.1f} us  ONNX Runtime "
              f"{r['onnxruntime_median_us']:>9.1f} us  ratio {r['ratio_ort_over_c']:.2f}x")


if __name__ == "__main__":
    main()
