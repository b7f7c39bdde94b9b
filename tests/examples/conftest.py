"""Shared by the example tests: build and run an example with its Makefile."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def run_example(tmp_path):
    """run_example(name, cc, timeout=600): `make -C examples/<name>` with
    BUILD in tmp_path, this venv's dlgen and Python, and CC=cc (skipped if cc
    is not installed); asserts that make succeeded and returns the completed
    process (text stdout / stderr)."""

    def run(name: str, cc: str, timeout: int = 600) -> subprocess.CompletedProcess:
        if shutil.which(cc) is None:
            pytest.skip(f"{cc} not installed")
        dlgen = Path(sys.executable).with_name("dlgen")
        env = {**os.environ, "DLGEN_CACHE_DIR": str(tmp_path / "cache")}
        out = subprocess.run(["make", "-C", str(EXAMPLES / name), f"BUILD={tmp_path / 'build'}",
                              f"DLGEN={dlgen}", f"PYTHON={sys.executable}", f"CC={cc}"],
                             capture_output=True, text=True, env=env, timeout=timeout)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out

    return run
