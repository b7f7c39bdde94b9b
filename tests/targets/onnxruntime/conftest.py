"""Fixtures of the onnxruntime target tests: small models and the `dlgen` entry point."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ort_models import mlp_model, save


@pytest.fixture
def mlp(tmp_path, rng) -> Path:
    return save(mlp_model(rng), tmp_path / "mlp.onnx")


@pytest.fixture
def dlgen_cli():
    """dlgen_cli(*args, python=sys.executable, env=None): the real entry point in a subprocess."""

    def run(*args, python=sys.executable, env=None, cwd=None):
        return subprocess.run([str(python), "-m", "dlgen.cli", *map(str, args)],
                              capture_output=True, text=True, env=env, cwd=cwd, timeout=600)

    return run
