"""Generated C must match the committed snapshots (regenerate with `make golden`)."""
import difflib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import regen  # noqa: E402


@pytest.mark.parametrize("case", sorted(regen.CASES))
def test_generated_c_matches_snapshot(case, tmp_path):
    built = regen.generate(case, tmp_path)
    for name in regen.snapshot_files(case):
        want = (regen.HERE / case / name).read_text()
        got = (built / name).read_text()
        if got != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                f"golden/{case}/{name}", f"generated/{name}"))
            pytest.fail(f"generated {name} differs from the snapshot; if intended, run "
                        f"`make golden`\n{diff[:4000]}")
