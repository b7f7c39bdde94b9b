"""What the example compare.py scripts share: ONNX Runtime set up and timed
the way the C apps run (batch 1, one intra-op thread by default), the C
app's output and predictions read back, and the printed comparison lines.

The compare.py scripts run as scripts; each puts this folder on sys.path.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import numpy as np
import onnxruntime as ort


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A parser whose --help shows doc as written."""
    return argparse.ArgumentParser(description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_ort_args(p) -> None:
    """--min-seconds and --ort-threads."""
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="minimum time spent timing ONNX Runtime (default: %(default)s)")
    p.add_argument("--ort-threads", type=int, default=1,
                   help="ONNX Runtime intra-op threads (default: %(default)s, like the C app)")


def load_test_set_bin(path: str):
    """test_set.bin: int32 count, int32 features, float32 images, int32 labels
    (little-endian); (images [count, features] float32, labels int64)."""
    raw = open(path, "rb").read()
    count, features = (int(v) for v in np.frombuffer(raw, dtype="<i4", count=2))
    if 8 + 4 * count * (features + 1) != len(raw):
        raise SystemExit(f"{path}: size does not match its header")
    images = np.frombuffer(raw, dtype="<f4", count=count * features, offset=8)
    labels = np.frombuffer(raw, dtype="<i4", count=count, offset=8 + 4 * count * features)
    return images.reshape(count, features).astype(np.float32), labels.astype(np.int64)


def ort_session(model: str, threads: int) -> ort.InferenceSession:
    """A CPU session with `threads` intra-op and one inter-op thread."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def ort_predict(sess, feeds) -> np.ndarray:
    """The argmax of the first output for each feed dict, one run per feed."""
    return np.array([int(np.argmax(sess.run(None, f)[0])) for f in feeds])


def median_latency_us(sess, feeds, min_seconds: float):
    """Times ONNX Runtime like the C apps time themselves: whole passes over
    feeds (at least 5, at least min_seconds), session.run per feed;
    (median per-feed microseconds, number of passes)."""
    per_item = []
    start = time.perf_counter()
    while len(per_item) < 5 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        for f in feeds:
            sess.run(None, f)
        per_item.append((time.perf_counter() - t0) / len(feeds) * 1e6)
    return statistics.median(per_item), len(per_item)


def parse_accuracy(text: str):
    """(correct, count) from the C app's "accuracy: ..." line, or (None, None)."""
    acc = re.search(r"^accuracy: [0-9.]+ \((\d+)/(\d+)\)$", text, re.M)
    return (int(acc.group(1)), int(acc.group(2))) if acc else (None, None)


def parse_latency(text: str, label: str, unit: str):
    """The microseconds of the line "<label>: median X us per <unit>", or None."""
    lat = re.search(rf"^{re.escape(label)}: median ([0-9.]+) us per {unit}$", text, re.M)
    return float(lat.group(1)) if lat else None


class Comparison:
    """The C app's predictions against ONNX Runtime's on one labelled test set.

    noun: what is counted ("images", "tweets"); where(i): how mismatch i is
    named; error: the prefix of the messages about malformed C output."""

    def __init__(self, labels, ort_pred, noun: str, where=lambda i: f"#{i}",
                 error: str = "error"):
        self.labels = labels
        self.ort_pred = ort_pred
        self.count = len(labels)
        self.ort_correct = int(np.sum(ort_pred == labels))
        self.noun = noun
        self.where = where
        self.error = error
        self.c_pred = None
        self.c_correct = None

    def read_c_predictions(self, path: str) -> bool:
        """Reads the C app's predictions (one label per line) and prints both
        accuracies; False (message printed) if their number is wrong."""
        c_pred = np.loadtxt(path, dtype=np.int64, ndmin=1)
        if c_pred.shape != self.ort_pred.shape:
            print(f"{self.error}: {path} has {c_pred.size} predictions, "
                  f"the test set {self.count} {self.noun}")
            return False
        self.c_pred = c_pred
        self.c_correct = int(np.sum(c_pred == self.labels))
        c, o, n = self.c_correct, self.ort_correct, self.count
        print(f"accuracy  C (dlgen):     {c / n:.4f} ({c}/{n})")
        print(f"accuracy  ONNX Runtime:  {o / n:.4f} ({o}/{n})")
        return True

    def check_reported(self, c_output_text: str) -> bool:
        """False (message printed) if the app's accuracy line disagrees with
        its predictions file."""
        out_correct, out_count = parse_accuracy(c_output_text)
        if out_correct is not None and (out_correct, out_count) != (self.c_correct, self.count):
            print(f"{self.error}: the C app reported {out_correct}/{out_count} but its "
                  f"predictions give {self.c_correct}/{self.count}")
            return False
        return True

    def verdict(self, status: int = 0) -> int:
        """Prints FAIL lines for differing accuracies / predictions, or the OK
        line if there are none and status is 0; the exit status."""
        if self.c_correct != self.ort_correct:
            print(f"FAIL: accuracies differ (C {self.c_correct}, "
                  f"ONNX Runtime {self.ort_correct})")
            status = 1
        mismatches = np.flatnonzero(self.c_pred != self.ort_pred)
        if mismatches.size:
            shown = ", ".join(f"{self.where(i)}: C {self.c_pred[i]} vs ORT {self.ort_pred[i]}"
                              for i in mismatches[:10])
            print(f"FAIL: {mismatches.size} predictions differ ({shown})")
            status = 1
        if status == 0:
            print(f"OK: C predictions identical to ONNX Runtime on all {self.count} {self.noun}")
        return status


def print_latencies(c_latency, ort_latency: float, unit: str, ratio_digits: int = 1,
                    c_extra: str = "") -> None:
    """The "C (dlgen):" (if c_latency is known), "ONNX Runtime:" and (if
    c_latency > 0) "ratio:" lines."""
    if c_latency is not None:
        print(f"C (dlgen):     median {c_latency:.3f} us/{unit}" + c_extra)
    print(f"ONNX Runtime:  median {ort_latency:.3f} us/{unit}")
    if c_latency is not None and c_latency > 0:
        print(f"ratio:         ONNX Runtime / C = {ort_latency / c_latency:.{ratio_digits}f}x")
