"""The Fashion-MNIST CNN example end to end: compile with dlgen, build the C app, compare with ORT.

Needs Debian's dataset-fashion-mnist package (the 10,000 held-out test images);
the committed model means no torch is needed.
"""
import re
from pathlib import Path

import pytest

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")


def _have_test_set() -> bool:
    return all((DATA_DIR / name).exists() or (DATA_DIR / (name + ".gz")).exists()
               for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))


@pytest.mark.skipif(not _have_test_set(),
                    reason=f"Fashion-MNIST test set not in {DATA_DIR} "
                           "(apt-get install dataset-fashion-mnist)")
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_fashion_example_matches_onnxruntime(cc, run_example):
    out = run_example("fashion_cnn", cc)
    accuracy = re.findall(r"^accuracy:\s+([0-9.]+) \((\d+)/10000\)$", out.stdout, re.M)
    assert accuracy and float(accuracy[0][0]) > 0.85
    assert "sample.pgm: Ankle boot (class 9)" in out.stdout
    assert "OK: C predictions identical to ONNX Runtime on all 10000 images" in out.stdout
