"""The digits example end to end: train, compile with dlgen, build the C app, compare with ORT."""
import re

import pytest


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_digits_example_matches_onnxruntime(cc, run_example):
    out = run_example("digits_mlp", cc)
    accuracy = re.findall(r"accuracy:\s+([0-9.]+) \((\d+)/540\)", out.stdout)
    assert accuracy and float(accuracy[0][0]) > 0.9
    assert "OK: C predictions identical to ONNX Runtime on all 540 images" in out.stdout
