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

import argparse
import os
import re
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sentiment_data as data  # noqa: E402


def parse_c_output(path: str):
    """(correct, count, model latency us, latency with tokenization us)."""
    text = open(path).read()
    acc = re.search(r"^accuracy: [0-9.]+ \((\d+)/(\d+)\)$", text, re.M)
    lat = re.search(r"^latency: median ([0-9.]+) us per sentence$", text, re.M)
    tok = re.search(r"^latency with tokenization: median ([0-9.]+) us per sentence$",
                    text, re.M)
    return (int(acc.group(1)) if acc else None, int(acc.group(2)) if acc else None,
            float(lat.group(1)) if lat else None, float(tok.group(1)) if tok else None)


def main(argv=None) -> int:
    build = os.path.join(HERE, "build")
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(HERE, "model", "sentiment.onnx"))
    p.add_argument("--vocab", default=os.path.join(HERE, "model", "vocab.txt"))
    p.add_argument("--test-set", default=os.path.join(build, "test_set.tsv"))
    p.add_argument("--predictions", default=os.path.join(build, "predictions.txt"),
                   help="the C app's predicted label ids, one per line")
    p.add_argument("--c-ids", help="the output of sentiment_app --dump-ids on the test set")
    p.add_argument("--c-output", help="file with the C app's --eval stdout")
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="minimum time spent timing ONNX Runtime (default: %(default)s)")
    p.add_argument("--timing-sentences", type=int, default=200,
                   help="sentences per timing pass (default: %(default)s, like the C app)")
    p.add_argument("--ort-threads", type=int, default=1,
                   help="ONNX Runtime intra-op threads (default: %(default)s, like the C app)")
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

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.ort_threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(args.model, sess_options=opts,
                                providers=["CPUExecutionProvider"])
    input_name = sess.get_inputs()[0].name
    feeds = [{input_name: ids[i:i + 1]} for i in range(count)]
    ort_pred = np.array([int(np.argmax(sess.run(None, f)[0])) for f in feeds])
    ort_correct = int(np.sum(ort_pred == labels))

    c_pred = np.loadtxt(args.predictions, dtype=np.int64, ndmin=1)
    if c_pred.shape != ort_pred.shape:
        print(f"FAIL: {args.predictions} has {c_pred.size} predictions, "
              f"the test set {count} tweets")
        return 1
    c_correct = int(np.sum(c_pred == labels))
    mismatches = np.flatnonzero(c_pred != ort_pred)

    print(f"accuracy  C (dlgen):     {c_correct / count:.4f} ({c_correct}/{count})")
    print(f"accuracy  ONNX Runtime:  {ort_correct / count:.4f} ({ort_correct}/{count})")

    c_latency = c_tok_latency = None
    if args.c_output:
        out_correct, out_count, c_latency, c_tok_latency = parse_c_output(args.c_output)
        if out_correct is not None and (out_correct, out_count) != (c_correct, count):
            print(f"FAIL: the C app reported {out_correct}/{out_count} but its "
                  f"predictions give {c_correct}/{count}")
            status = 1

    timed = feeds[:args.timing_sentences]
    per_sentence = []
    start = time.perf_counter()
    while len(per_sentence) < 5 or time.perf_counter() - start < args.min_seconds:
        t0 = time.perf_counter()
        for f in timed:
            sess.run(None, f)
        per_sentence.append((time.perf_counter() - t0) / len(timed) * 1e6)
    ort_latency = statistics.median(per_sentence)

    if c_latency is not None:
        print(f"C (dlgen):     median {c_latency:.3f} us/sentence"
              + (f" ({c_tok_latency:.3f} with tokenization)" if c_tok_latency else ""))
    print(f"ONNX Runtime:  median {ort_latency:.3f} us/sentence")
    if c_latency:
        print(f"ratio:         ONNX Runtime / C = {ort_latency / c_latency:.1f}x")
    print(f"(batch 1, one sentence of {ids.shape[1]} token ids per call; ONNX Runtime: "
          f"InferenceSession.run with {args.ort_threads} intra-op thread(s), "
          f"{len(per_sentence)} passes over {len(timed)} sentences)")

    if c_correct != ort_correct:
        print(f"FAIL: accuracies differ (C {c_correct}, ONNX Runtime {ort_correct})")
        status = 1
    if mismatches.size:
        shown = ", ".join(f"line {i + 1}: C {c_pred[i]} vs ORT {ort_pred[i]}"
                          for i in mismatches[:10])
        print(f"FAIL: {mismatches.size} predictions differ ({shown})")
        status = 1
    if status == 0:
        print(f"OK: C predictions identical to ONNX Runtime on all {count} tweets")
    return status


if __name__ == "__main__":
    sys.exit(main())
