"""A non-editable install ships templates/ and runtime_c/ inside the package and works."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import sys, numpy as np, onnx
from onnx import helper, numpy_helper
import dlgen, dlgen.resources as r
assert 'site' in str(r.templates_dir()) or 'pkg' in str(r.templates_dir()), r.templates_dir()
w = numpy_helper.from_array(np.ones((3, 4), np.float32), 'w')
g = helper.make_graph([helper.make_node('Gemm', ['x', 'w'], ['y'], transB=1)], 'g',
                      [helper.make_tensor_value_info('x', 1, [2, 4])],
                      [helper.make_tensor_value_info('y', 1, [2, 3])], [w])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
report = dlgen.verify(m, 'c')
assert report.ok, report
print(dlgen.__file__, r.templates_dir(), r.runtime_dir())
"""


def test_wheel_install_is_self_contained(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                    str(ROOT)], check=True, capture_output=True)
    wheel = next(wheels.glob("dlgen-*.whl"))
    site = tmp_path / "pkg"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)
    assert (site / "dlgen" / "templates" / "c" / "model.c.j2").is_file()
    assert (site / "dlgen" / "runtime_c" / "include" / "dlgen" / "runtime.h").is_file()
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert str(site) in out.stdout
