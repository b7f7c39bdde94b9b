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

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))

import compare_util as cu  # noqa: E402  (examples/common/compare_util.py)


def load_test_set(path: str):
    """test_set.bin (int32 count, int32 features, float32 images, int32
    labels, little-endian) or test_set.npz (images, labels)."""
    if path.endswith(".npz"):
        data = np.load(path)
        return data["images"].astype(np.float32), data["labels"].astype(np.int64)
    return cu.load_test_set_bin(path)


def main(argv=None) -> int:
    build = os.path.join(HERE, "build")
    p = cu.argument_parser(__doc__)
    p.add_argument("--model", default=os.path.join(build, "digits.onnx"))
    p.add_argument("--test-set", default=os.path.join(build, "test_set.bin"))
    p.add_argument("--predictions", default=os.path.join(build, "predictions.txt"),
                   help="the C app's predicted labels, one per line")
    p.add_argument("--c-output", help="file with the C app's stdout (accuracy and latency lines)")
    p.add_argument("--c-latency-us", type=float, help="the C app's median latency per image")
    cu.add_ort_args(p)
    args = p.parse_args(argv)

    images, labels = load_test_set(args.test_set)
    count = len(labels)

    sess = cu.ort_session(args.model, args.ort_threads)
    input_name = sess.get_inputs()[0].name
    feeds = [{input_name: images[i:i + 1]} for i in range(count)]

    cmp = cu.Comparison(labels, cu.ort_predict(sess, feeds), "images")
    if not cmp.read_c_predictions(args.predictions):
        return 1

    c_latency = args.c_latency_us
    if args.c_output:
        text = open(args.c_output).read()
        if not cmp.check_reported(text):
            return 1
        if c_latency is None:
            c_latency = cu.parse_latency(text, "latency", "image")

    # Time ONNX Runtime like the C app times itself.
    ort_latency, passes = cu.median_latency_us(sess, feeds, args.min_seconds)

    cu.print_latencies(c_latency, ort_latency, "image")
    print(f"(batch 1, one image per call; ONNX Runtime: InferenceSession.run with "
          f"{args.ort_threads} intra-op thread(s), {passes} passes)")
    return cmp.verdict()


if __name__ == "__main__":
    sys.exit(main())
