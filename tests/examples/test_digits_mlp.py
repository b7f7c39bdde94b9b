"""The digits example end to end: train, compile with dlgen, build the C app, compare with ORT."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_mlp"


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_digits_example_matches_onnxruntime(cc, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    dlgen = Path(sys.executable).with_name("dlgen")
    env = {**os.environ, "DLGEN_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run(["make", "-C", str(EXAMPLE), f"BUILD={tmp_path / 'build'}",
                          f"DLGEN={dlgen}", f"PYTHON={sys.executable}", f"CC={cc}"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    accuracy = re.findall(r"accuracy:\s+([0-9.]+) \((\d+)/540\)", out.stdout)
    assert accuracy and float(accuracy[0][0]) > 0.9
    assert "OK: C predictions identical to ONNX Runtime on all 540 images" in out.stdout
