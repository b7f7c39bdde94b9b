"""The Fashion-MNIST CNN example end to end: compile with dlgen, build the C app, compare with ORT.

Needs Debian's dataset-fashion-mnist package (the 10,000 held-out test images);
the committed model means no torch is needed.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fashion_cnn"
DATA_DIR = Path("/usr/share/datasets/fashion-mnist")


def _have_test_set() -> bool:
    return all((DATA_DIR / name).exists() or (DATA_DIR / (name + ".gz")).exists()
               for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))


@pytest.mark.skipif(not _have_test_set(),
                    reason=f"Fashion-MNIST test set not in {DATA_DIR} "
                           "(apt-get install dataset-fashion-mnist)")
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_fashion_example_matches_onnxruntime(cc, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    dlgen = Path(sys.executable).with_name("dlgen")
    env = {**os.environ, "DLGEN_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run(["make", "-C", str(EXAMPLE), f"BUILD={tmp_path / 'build'}",
                          f"DLGEN={dlgen}", f"PYTHON={sys.executable}", f"CC={cc}"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    accuracy = re.findall(r"^accuracy:\s+([0-9.]+) \((\d+)/10000\)$", out.stdout, re.M)
    assert accuracy and float(accuracy[0][0]) > 0.85
    assert "sample.pgm: Ankle boot (class 9)" in out.stdout
    assert "OK: C predictions identical to ONNX Runtime on all 10000 images" in out.stdout
