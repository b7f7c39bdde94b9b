"""int8 against fp32 on real data: the Fashion-MNIST CNN of examples/fashion_cnn quantized by
`dlgen quantize` (onnxruntime.quantization), accuracy and latency measured in the same run.

    python benchmarks/quantize.py [--out benchmarks/results/quantize_fashion.json]
                                  [--calibration 1000] [--eval 10000]

Calibration: the first N of a fixed random draw (seed 0) of the 60,000 training images; eval:
the held-out test images with their labels. Latency: ONNX Runtime CPU, one intra-op thread,
one image per call, p50 over 7 alternating rounds of 30 calls of each model (quantize.py).
Needs Debian's dataset-fashion-mnist package (see examples/fashion_cnn/README.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples" / "fashion_cnn"))
MODEL = ROOT / "examples" / "fashion_cnn" / "model" / "fashion.onnx"
CONFIGS = [
    {"mode": "dynamic"},
    {"mode": "static", "fmt": "qdq"},
    {"mode": "static", "fmt": "qoperator"},
    {"mode": "static", "fmt": "qdq", "per_channel": True, "reduce_range": True},
    {"mode": "static", "fmt": "qoperator", "per_channel": True, "reduce_range": True},
]


def main(argv=None) -> int:
    import idx
    from benchmarks.examples import machine
    from dlgen.targets.onnxruntime.quantize import quantize

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "quantize_fashion.json"))
    p.add_argument("--calibration", type=int, default=1000)
    p.add_argument("--eval", type=int, default=10000)
    args = p.parse_args(argv)
    train_x, _ = idx.load("train")
    test_x, test_y = idx.load("t10k")
    pick = np.random.default_rng(0).permutation(len(train_x))[:args.calibration]
    calib = {"image": (train_x[pick].astype(np.float32) / 255)[:, None, None]}
    evals = {"image": (test_x[:args.eval].astype(np.float32) / 255)[:, None, None],
             "labels": test_y[:args.eval]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, config in enumerate(CONFIGS):
            report = quantize(MODEL, Path(tmp) / f"q{i}.onnx", calibration=calib if
                              config["mode"] == "static" else None, eval_set=evals, **config)
            row = report.to_dict()
            row.pop("output")
            rows.append(row)
            ev = report.sets[-1]
            print(f"{config}: accuracy fp32 {ev.accuracy_fp32:.4f} int8 {ev.accuracy_int8:.4f} "
                  f"({-ev.accuracy_drop_points:+.2f} points), p50 fp32 {report.fp32_p50_ms:.4f} "
                  f"ms int8 {report.int8_p50_ms:.4f} ms, ratio {report.speed_ratio:.2f}")
    result = {"model": str(MODEL.relative_to(ROOT)), "calibration_images": args.calibration,
              "eval_images": args.eval, "machine": machine(), "results": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
