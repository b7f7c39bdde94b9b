"""The official ONNX backend test suite on the C target.

Every test runs: ``expected_failures.txt`` lists the ones known to fail, one per line with the
reason. A listed test that passes fails the run ("unexpected success"), so the list stays true
and only shrinks; an unlisted failure fails the run too. Regenerate candidates with
``python tests/conformance/triage.py`` after a change, then edit the reasons.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import onnx.backend.test

from dlgen.backend import DlgenBackend

HERE = Path(__file__).resolve().parent


def load_expected_failures(path: Path = HERE / "expected_failures.txt") -> dict[str, str]:
    """``test_name  # reason`` lines; blank lines and lines starting with # are ignored."""
    expected = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, reason = line.partition("#")
        if not sep or not reason.strip():
            raise ValueError(f"{path.name}:{lineno}: every expected failure needs a reason")
        expected[name.strip()] = reason.strip()
    return expected


# DLGEN_CONFORMANCE_IGNORE_LIST=1 runs every test as a plain test (handy while adding ops).
EXPECTED_FAILURES = ({} if os.environ.get("DLGEN_CONFORMANCE_IGNORE_LIST")
                     else load_expected_failures())

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the case generators overflow on purpose
    backend_test = onnx.backend.test.BackendTest(DlgenBackend, __name__)

backend_test.include(r".*_cpu$")
for _name in EXPECTED_FAILURES:
    backend_test.xfail(rf"^{re.escape(_name)}_cpu$")

globals().update(backend_test.test_cases)
