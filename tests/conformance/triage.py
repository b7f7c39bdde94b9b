"""Rewrite expected_failures.txt from a conformance run, and print the pass counts.

    python tests/conformance/triage.py            # runs the suite (-n 2), then rewrites the list
    python tests/conformance/triage.py run.xml    # uses an existing pytest --junitxml report
    python tests/conformance/triage.py --fresh    # runs every test plainly; all reasons anew

Tests that pass leave the list; new failures join it with a reason taken from the error
(kept reasons are never overwritten unless --fresh: edit them by hand to say more).
"""
from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIST = HERE / "expected_failures.txt"
sys.path.insert(0, str(HERE))

HEADER = """\
# ONNX backend tests expected to fail on the C target, one per line: test name # reason.
# Kept true by tests/conformance/test_onnx_backend.py (a listed test that passes fails CI).
# Regenerate with `python tests/conformance/triage.py`; reasons of kept lines are preserved.
"""


def run_suite(fresh: bool) -> Path:
    xml = Path(tempfile.mkdtemp()) / "conformance.xml"
    env = {**os.environ, **({"DLGEN_CONFORMANCE_IGNORE_LIST": "1"} if fresh else {})}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
                    "-k", "not _cuda", str(HERE / "test_onnx_backend.py"), f"--junitxml={xml}"],
                   cwd=HERE.parent.parent, env=env)
    return xml


def reason_from(message: str) -> str:
    text = " ".join(message.split())
    m = re.search(r"cannot lower \d+ node\(s\) using ([^:]+):", text)
    if m:
        return f"C target: no lowering for {m.group(1).strip()}"
    m = re.search(r"(Unsupported|ShapeError|BadModel|BuildError|DlgenError|BadInput)\s*:\s*(.*)",
                  text)
    if m:
        return f"{m.group(1)}: {m.group(2)[:160]}"
    if "Mismatch" in text or "Not equal to tolerance" in text:
        return "numerics differ from the reference outputs"
    return text[:160] or "fails"


def results(xml: Path) -> dict[str, tuple[str, str]]:
    """test name -> (status, message); status is passed|failed|skipped|xfailed|xpassed."""
    out = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = case.get("name", "")
        if not name.endswith("_cpu"):
            continue
        name = name[: -len("_cpu")]
        status, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
                message = child.get("message") or ""
                if "Unexpected success" in message:
                    status = "xpassed"
            elif child.tag == "skipped":
                status = "xfailed" if "xfail" in (child.get("type") or "") else "skipped"
        out[name] = (status, message)
    return out


def main() -> None:
    from test_onnx_backend import load_expected_failures

    args = [a for a in sys.argv[1:] if a != "--fresh"]
    fresh = "--fresh" in sys.argv[1:]
    xml = Path(args[0]) if args else run_suite(fresh)
    old = {} if fresh else load_expected_failures(LIST)
    res = results(xml)
    lines = []
    for name, (status, message) in sorted(res.items()):
        if status == "failed" or status == "xfailed":
            lines.append(f"{name}  # {old.get(name) or reason_from(message)}")
    LIST.write_text(HEADER + "\n".join(lines) + "\n")
    counts = collections.Counter(s for s, _ in res.values())
    print(f"{len(res)} tests: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"wrote {len(lines)} expected failures to {LIST}")


if __name__ == "__main__":
    main()
