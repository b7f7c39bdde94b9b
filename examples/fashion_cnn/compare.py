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

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))

import compare_util as cu  # noqa: E402  (examples/common/compare_util.py)


def main(argv=None) -> int:
    build = os.path.join(HERE, "build")
    p = cu.argument_parser(__doc__)
    p.add_argument("--model", default=os.path.join(HERE, "model", "fashion.onnx"))
    p.add_argument("--test-set", default=os.path.join(build, "test_set.bin"))
    p.add_argument("--predictions", default=os.path.join(build, "predictions.txt"),
                   help="the C app's predicted labels, one per line")
    p.add_argument("--c-output", help="file with the C app's stdout (accuracy and latency lines)")
    p.add_argument("--latency-images", type=int, default=200,
                   help="time passes over the first N images, as the C app does "
                        "(default: %(default)s)")
    cu.add_ort_args(p)
    args = p.parse_args(argv)

    images, labels = cu.load_test_set_bin(args.test_set)
    count = len(labels)

    sess = cu.ort_session(args.model, args.ort_threads)
    inp = sess.get_inputs()[0]
    images = images.reshape((count,) + tuple(inp.shape[1:]))  # [n, 1, 28, 28]
    feeds = [{inp.name: images[i:i + 1]} for i in range(count)]

    cmp = cu.Comparison(labels, cu.ort_predict(sess, feeds), "images")
    if not cmp.read_c_predictions(args.predictions):
        return 1

    c_latency = None
    if args.c_output:
        text = open(args.c_output).read()
        if not cmp.check_reported(text):
            return 1
        c_latency = cu.parse_latency(text, "latency", "image")

    # Time ONNX Runtime like the C app times itself.
    timed = feeds[:max(1, args.latency_images)]
    ort_latency, passes = cu.median_latency_us(sess, timed, args.min_seconds)

    cu.print_latencies(c_latency, ort_latency, "image", ratio_digits=2)
    print(f"(batch 1, one image per call, passes over the first {len(timed)} images; "
          f"ONNX Runtime: InferenceSession.run with {args.ort_threads} intra-op thread(s), "
          f"{passes} passes)")
    return cmp.verdict()


if __name__ == "__main__":
    sys.exit(main())
