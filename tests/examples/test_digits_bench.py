"""`make demo` ends with `make -C examples/digits_mlp bench`: one table, C and ONNX Runtime."""
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_digits_bench_table(tmp_path):
    dlgen = Path(sys.executable).with_name("dlgen")
    fast = "--iterations 3 --duration 0 --warm-up 0 --warm-up-time 0"
    out = subprocess.run(["make", "-C", str(EXAMPLES / "digits_mlp"), "bench",
                          f"BUILD={tmp_path / 'build'}", f"DLGEN={dlgen}",
                          f"PYTHON={sys.executable}", f"BENCH_ARGS={fast}"],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "DLGEN_CACHE_DIR": str(tmp_path / "cache")})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "dlgen bench: digits" in out.stdout
    table = (tmp_path / "build" / "bench.md").read_text()
    assert "| c | host |" in table and "| onnxruntime | host |" in table
