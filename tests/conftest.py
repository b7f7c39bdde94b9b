"""Shared test setup: a per-run build cache, so compiled C is reused across tests and workers."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DLGEN_CACHE_DIR", str(ROOT / ".dlgen-cache"))


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)
