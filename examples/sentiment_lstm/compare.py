#!/usr/bin/env python3
"""Check the dlgen-compiled C app against ONNX Runtime on the held-out tweets.

* tokenizes every test tweet in Python (sentiment_data.encode with
  model/vocab.txt) and, given --c-ids (the output of
  `sentiment_app --dump-ids`), requires the C tokenizer's ids to be identical;
* runs ONNX Runtime on those ids, one sentence per call (batch 1, as the C
  app does), and computes its accuracy;
* reads the C app's predictions (one label id per line) and requires them to
  be identical to ONNX Runtime's, and the accuracies to be equal;
* times ONNX Runtime the way the C app times itself: passes over the first
  200 test sentences (--timing-sentences), session.run per sentence on
  pre-tokenized ids, for at least --min-seconds and 5 passes, reporting the
  median per-sentence time over the passes;
  prints the C app's latency next to it (--c-output: the app's stdout).

Exits 1 on any difference.
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "common"))

import compare_util as cu  # noqa: E402  (examples/common/compare_util.py)
import sentiment_data as data  # noqa: E402


def main(argv=None) -> int:
    build = os.path.join(HERE, "build")
    p = cu.argument_parser(__doc__)
    p.add_argument("--model", default=os.path.join(HERE, "model", "sentiment.onnx"))
    p.add_argument("--vocab", default=os.path.join(HERE, "model", "vocab.txt"))
    p.add_argument("--test-set", default=os.path.join(build, "test_set.tsv"))
    p.add_argument("--predictions", default=os.path.join(build, "predictions.txt"),
                   help="the C app's predicted label ids, one per line")
    p.add_argument("--c-ids", help="the output of sentiment_app --dump-ids on the test set")
    p.add_argument("--c-output", help="file with the C app's --eval stdout")
    p.add_argument("--timing-sentences", type=int, default=200,
                   help="sentences per timing pass (default: %(default)s, like the C app)")
    cu.add_ort_args(p)
    args = p.parse_args(argv)

    rows = data.read_tsv(args.test_set)
    vocab = data.read_vocab(args.vocab)
    labels = np.array([y for y, _ in rows], dtype=np.int64)
    ids = np.array([data.encode(t, vocab) for _, t in rows], dtype=np.int64)
    count = len(rows)
    status = 0

    if args.c_ids:
        c_ids = np.loadtxt(args.c_ids, dtype=np.int64, ndmin=2)
        if c_ids.shape != ids.shape:
            print(f"FAIL: {args.c_ids} has shape {c_ids.shape}, Python's ids {ids.shape}")
            return 1
        bad = np.flatnonzero(np.any(c_ids != ids, axis=1))
        if bad.size:
            i = bad[0]
            print(f"FAIL: C token ids differ from Python's on {bad.size} tweets; first, "
                  f"line {i + 1}: {rows[i][1]!r}\n  C:      {c_ids[i].tolist()}\n"
                  f"  Python: {ids[i].tolist()}")
            status = 1
        else:
            print(f"OK: C token ids identical to Python's on all {count} tweets")

    sess = cu.ort_session(args.model, args.ort_threads)
    input_name = sess.get_inputs()[0].name
    feeds = [{input_name: ids[i:i + 1]} for i in range(count)]

    cmp = cu.Comparison(labels, cu.ort_predict(sess, feeds), "tweets",
                        where=lambda i: f"line {i + 1}", error="FAIL")
    if not cmp.read_c_predictions(args.predictions):
        return 1

    c_latency = c_tok_latency = None
    if args.c_output:
        text = open(args.c_output).read()
        if not cmp.check_reported(text):
            status = 1
        c_latency = cu.parse_latency(text, "latency", "sentence")
        c_tok_latency = cu.parse_latency(text, "latency with tokenization", "sentence")

    timed = feeds[:args.timing_sentences]
    ort_latency, passes = cu.median_latency_us(sess, timed, args.min_seconds)

    cu.print_latencies(c_latency, ort_latency, "sentence",
                       c_extra=(f" ({c_tok_latency:.3f} with tokenization)"
                                if c_tok_latency else ""))
    print(f"(batch 1, one sentence of {ids.shape[1]} token ids per call; ONNX Runtime: "
          f"InferenceSession.run with {args.ort_threads} intra-op thread(s), "
          f"{passes} passes over {len(timed)} sentences)")
    return cmp.verdict(status)


if __name__ == "__main__":
    sys.exit(main())
