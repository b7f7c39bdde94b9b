#!/usr/bin/env python3
"""Check the dlgen-compiled C app against ONNX Runtime on the same test set.

* runs ONNX Runtime on every test image, one at a time (batch 1, as the C
  app does) and computes its accuracy;
* reads the C app's predictions (one label per line) and requires them to be
  identical to ONNX Runtime's;
* times ONNX Runtime the way the C app times itself: whole passes over the
  test set, session.run per image, for at least --min-seconds, reporting the
  median per-image time over the passes;
* prints both latencies side by side when the C app's latency is given
  (--c-latency-us, or --c-output: a file holding the app's stdout).

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


def load_test_set(path: str):
    """test_set.bin (int32 count, int32 features, float32 images, int32
    labels, little-endian) or test_set.npz (images, labels)."""
    if path.endswith(".npz"):
        data = np.load(path)
        return data["images"].astype(np.float32), data["labels"].astype(np.int64)
    raw = open(path, "rb").read()
    count, features = np.frombuffer(raw, dtype="<i4", count=2)
    images = np.frombuffer(raw, dtype="<f4", count=count * features, offset=8)
    labels = np.frombuffer(raw, dtype="<i4", count=count, offset=8 + 4 * count * features)
    if 8 + 4 * count * (features + 1) != len(raw):
        raise SystemExit(f"{path}: size does not match its header")
    return images.reshape(count, features).astype(np.float32), labels.astype(np.int64)


def parse_c_output(path: str):
    """(correct, count, latency_us) from the C app's stdout."""
    text = open(path).read()
    acc = re.search(r"^accuracy: [0-9.]+ \((\d+)/(\d+)\)$", text, re.M)
    lat = re.search(r"^latency: median ([0-9.]+) us per image$", text, re.M)
    return (int(acc.group(1)) if acc else None, int(acc.group(2)) if acc else None,
            float(lat.group(1)) if lat else None)


def main(argv=None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.path.join(here, "build")
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(build, "digits.onnx"))
    p.add_argument("--test-set", default=os.path.join(build, "test_set.bin"))
    p.add_argument("--predictions", default=os.path.join(build, "predictions.txt"),
                   help="the C app's predicted labels, one per line")
    p.add_argument("--c-output", help="file with the C app's stdout (accuracy and latency lines)")
    p.add_argument("--c-latency-us", type=float, help="the C app's median latency per image")
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="minimum time spent timing ONNX Runtime (default: %(default)s)")
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
    input_name = sess.get_inputs()[0].name
    feeds = [{input_name: images[i:i + 1]} for i in range(count)]

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

    c_latency = args.c_latency_us
    if args.c_output:
        out_correct, out_count, out_latency = parse_c_output(args.c_output)
        if out_correct is not None and (out_correct, out_count) != (c_correct, count):
            print(f"error: the C app reported {out_correct}/{out_count} but its "
                  f"predictions give {c_correct}/{count}")
            return 1
        if c_latency is None:
            c_latency = out_latency

    # Time ONNX Runtime like the C app times itself.
    per_image = []
    start = time.perf_counter()
    while len(per_image) < 5 or time.perf_counter() - start < args.min_seconds:
        t0 = time.perf_counter()
        for f in feeds:
            sess.run(None, f)
        per_image.append((time.perf_counter() - t0) / count * 1e6)
    ort_latency = statistics.median(per_image)

    if c_latency is not None:
        print(f"C (dlgen):     median {c_latency:.3f} us/image")
    print(f"ONNX Runtime:  median {ort_latency:.3f} us/image")
    if c_latency is not None and c_latency > 0:
        print(f"ratio:         ONNX Runtime / C = {ort_latency / c_latency:.1f}x")
    print(f"(batch 1, one image per call; ONNX Runtime: InferenceSession.run with "
          f"{args.ort_threads} intra-op thread(s), {len(per_image)} passes)")

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
