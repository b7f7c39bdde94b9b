#!/usr/bin/env python3
"""Check the dlgen-compiled C app against ONNX Runtime on the same test set.

* runs ONNX Runtime on every test image, one at a time (batch 1, as the C
  app does) and computes its accuracy;
* reads the C app's predictions (one label per line) and requires them to be
  identical to ONNX Runtime's;
* times ONNX Runtime the way the C app times itself: whole passes over the
  first --latency-images images, session.run per image, for at least
  --min-seconds, reporting the median per-image time over the passes;
* prints both latencies side by side when the C app's output is given
  (--c-output: a file holding the app's stdout).

Exits 1 if the accuracies or the predictions differ.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))


def load_test_set(path: str):
    """test_set.bin: int32 count, int32 features, float32 images, int32 labels."""
    raw = open(path, "rb").read()
    count, features = (int(v) for v in np.frombuffer(raw, dtype="<i4", count=2))
    if 8 + 4 * count * (features + 1) != len(raw):
        raise SystemExit(f"{path}: size does not match its header")
    images = np.frombuffer(raw, dtype="<f4", count=count * features, offset=8)
    labels = np.frombuffer(raw, dtype="<i4", count=count, offset=8 + 4 * count * features)
    return images.reshape(count, features).astype(np.float32), labels.astype(np.int64)


def parse_c_output(path: str):
    """(correct, count, latency_us) from the C app's stdout."""
    text = open(path).read()
    acc = re.search(r"^accuracy: [0-9.]+ \((\d+)/(\d+)\)$", text, re.M)
    lat = re.search(r"^latency: median ([0-9.]+) us per image$", text, re.M)
    return (int(acc.group(1)) if acc else None, int(acc.group(2)) if acc else None,
            float(lat.group(1)) if lat else None)


def main(argv=None) -> int:
    build = os.path.join(HERE, "build")
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(HERE, "model", "fashion.onnx"))
    p.add_argument("--test-set", default=os.path.join(build, "test_set.bin"))
    p.add_argument("--predictions", default=os.path.join(build, "predictions.txt"),
                   help="the C app's predicted labels, one per line")
    p.add_argument("--c-output", help="file with the C app's stdout (accuracy and latency lines)")
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="minimum time spent timing ONNX Runtime (default: %(default)s)")
    p.add_argument("--latency-images", type=int, default=200,
                   help="time passes over the first N images, as the C app does "
                        "(default: %(default)s)")
    p.add_argument("--ort-threads", type=int, default=1,
                   help="ONNX Runtime intra-op threads (default: %(default)s, like the C app)")
    args = p.parse_args(argv)

    images, labels = load_test_set(args.test_set)
    count = len(labels)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.ort_threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(args.model, sess_options=opts,
                                providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    images = images.reshape((count,) + tuple(inp.shape[1:]))  # [n, 1, 28, 28]
    feeds = [{inp.name: images[i:i + 1]} for i in range(count)]

    ort_pred = np.array([int(np.argmax(sess.run(None, f)[0])) for f in feeds])
    ort_correct = int(np.sum(ort_pred == labels))

    c_pred = np.loadtxt(args.predictions, dtype=np.int64, ndmin=1)
    if c_pred.shape != ort_pred.shape:
        print(f"error: {args.predictions} has {c_pred.size} predictions, "
              f"the test set {count} images")
        return 1
    c_correct = int(np.sum(c_pred == labels))
    mismatches = np.flatnonzero(c_pred != ort_pred)

    print(f"accuracy  C (dlgen):     {c_correct / count:.4f} ({c_correct}/{count})")
    print(f"accuracy  ONNX Runtime:  {ort_correct / count:.4f} ({ort_correct}/{count})")

    c_latency = None
    if args.c_output:
        out_correct, out_count, c_latency = parse_c_output(args.c_output)
        if out_correct is not None and (out_correct, out_count) != (c_correct, count):
            print(f"error: the C app reported {out_correct}/{out_count} but its "
                  f"predictions give {c_correct}/{count}")
            return 1

    # Time ONNX Runtime like the C app times itself.
    timed = feeds[:max(1, args.latency_images)]
    per_image = []
    start = time.perf_counter()
    while len(per_image) < 5 or time.perf_counter() - start < args.min_seconds:
        t0 = time.perf_counter()
        for f in timed:
            sess.run(None, f)
        per_image.append((time.perf_counter() - t0) / len(timed) * 1e6)
    ort_latency = statistics.median(per_image)

    if c_latency is not None:
        print(f"C (dlgen):     median {c_latency:.3f} us/image")
    print(f"ONNX Runtime:  median {ort_latency:.3f} us/image")
    if c_latency:
        print(f"ratio:         ONNX Runtime / C = {ort_latency / c_latency:.2f}x")
    print(f"(batch 1, one image per call, passes over the first {len(timed)} images; "
          f"ONNX Runtime: InferenceSession.run with {args.ort_threads} intra-op thread(s), "
          f"{len(per_image)} passes)")

    status = 0
    if c_correct != ort_correct:
        print(f"FAIL: accuracies differ (C {c_correct}, ONNX Runtime {ort_correct})")
        status = 1
    if mismatches.size:
        shown = ", ".join(f"#{i}: C {c_pred[i]} vs ORT {ort_pred[i]}" for i in mismatches[:10])
        print(f"FAIL: {mismatches.size} predictions differ ({shown})")
        status = 1
    if status == 0:
        print(f"OK: C predictions identical to ONNX Runtime on all {count} images")
    return status


if __name__ == "__main__":
    sys.exit(main())
