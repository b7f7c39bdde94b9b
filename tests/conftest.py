"""Shared test setup: a per-run build cache, so compiled C is reused across tests and workers."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DLGEN_CACHE_DIR", str(ROOT / ".dlgen-cache"))


@pytest.fixture(params=["portable", "reference"])
def kernels(request, monkeypatch):
    """Run a test once with the fast and once with the reference C kernels (tests/oplib.py)."""
    import oplib

    monkeypatch.setattr(oplib, "KERNELS", request.param)
    return request.param


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)
