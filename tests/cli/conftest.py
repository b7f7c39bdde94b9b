"""Fixtures for CLI tests: small models written with onnx.helper, and ways to run `dlgen`.

``dlgen`` runs the real entry point in a subprocess (``python -m dlgen.cli``), so exit codes,
stderr and the absence of tracebacks are what a user would see.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _model(nodes, inputs, outputs, inits=(), *, name="g", opsets=(("", OPSET),)):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])


class Models:
    """Writes small test models into a folder and returns their paths."""

    def __init__(self, root: Path):
        self.root = root
        self.rng = np.random.default_rng(0)

    def mlp(self, name: str = "mlp.onnx", batch: int | str = 2) -> Path:
        """x [batch, 4] -> Gemm (4x3) -> Relu -> y [batch, 3]."""
        w = numpy_helper.from_array(self.rng.standard_normal((4, 3)).astype(np.float32), "W")
        b = numpy_helper.from_array(self.rng.standard_normal(3).astype(np.float32), "B")
        model = _model(
            [helper.make_node("Gemm", ["x", "W", "B"], ["h"], name="fc"),
             helper.make_node("Relu", ["h"], ["y"], name="act")],
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])], [w, b])
        return _save(model, self.root / name)

    def dynamic(self, name: str = "dyn.onnx") -> Path:
        """The MLP with a dynamic batch dim named N."""
        return self.mlp(name, batch="N")

    def big_gemm(self, name: str = "big.onnx", k: int = 1000) -> Path:
        """x [4, k] @ W [k, 16]: long dot products, where float sums differ in the last bits."""
        w = numpy_helper.from_array(self.rng.standard_normal((k, 16)).astype(np.float32), "W")
        model = _model([helper.make_node("Gemm", ["x", "W"], ["y"], name="fc")],
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, k])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])], [w])
        return _save(model, self.root / name)

    def unsupported(self, name: str = "unsup.onnx", custom_name: str = "custom_node",
                    det_name: str = "det_node") -> Path:
        """One node from a custom domain (com.example::Foo) and one standard op the C target
        lacks (Det)."""
        model = _model(
            [helper.make_node("Foo", ["x"], ["a"], name=custom_name, domain="com.example"),
             helper.make_node("Det", ["x"], ["y"], name=det_name)],
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, []),
             helper.make_tensor_value_info("a", TensorProto.FLOAT, [3, 3])],
            opsets=(("", OPSET), ("com.example", 1)))
        return _save(model, self.root / name)

    def huge_initializer(self, name: str = "huge.onnx") -> Path:
        """An initializer declared with dims [1 << 40] (4 TiB of float) and no data."""
        big = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[1 << 40])
        model = _model([helper.make_node("Relu", ["W"], ["y"], name="act")], [],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1 << 40])], [big])
        return _save(model, self.root / name)

    def huge_input(self, name: str = "huge_input.onnx") -> Path:
        """A graph input of 2^20 x 2^20 floats (4 TiB)."""
        dims = [1 << 20, 1 << 20]
        model = _model([helper.make_node("Relu", ["x"], ["y"], name="act")],
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
        return _save(model, self.root / name)

    def external(self, location: str, folder: str = "model", data: Path | None = None) -> Path:
        """x [2, 4] @ W [4, 3] where W is external data at ``location`` (relative to the
        model's folder); the data file is written at ``data`` when given."""
        w = np.arange(12, dtype=np.float32).reshape(4, 3)
        if data is not None:
            data.parent.mkdir(parents=True, exist_ok=True)
            data.write_bytes(w.tobytes())
        tensor = numpy_helper.from_array(w, "W")
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", str(w.nbytes))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        model = _model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], [tensor])
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        return _save(model, self.root / folder / "ext.onnx")


@pytest.fixture
def models(tmp_path) -> Models:
    return Models(tmp_path)


def run_dlgen(*args, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m dlgen.cli ARGS`` and return the finished process (text output)."""
    return subprocess.run([sys.executable, "-m", "dlgen.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def dlgen():
    return run_dlgen


def assert_user_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit status 2, an ``error:`` line and a ``hint:`` line, no traceback; every needle is in
    stderr. Returns stderr."""
    err = proc.stderr
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{err}"
    assert "Traceback" not in err and "Traceback" not in proc.stdout, err
    assert err.startswith("error: "), err
    assert "\nhint: " in err, f"no hint line:\n{err}"
    for needle in needles:
        assert needle in err, f"{needle!r} not in stderr:\n{err}"
    return err


def assert_no_output(out: Path) -> None:
    """Nothing of a failed compile is left: not the output, nor temporary siblings."""
    assert not out.exists(), f"{out} was left behind"
    parent = out.parent
    if parent.exists():
        leftovers = [p.name for p in parent.iterdir()
                     if p.name.startswith((f".{out.name}.tmp-", f".{out.name}.old-"))]
        assert not leftovers, leftovers


def ort_outputs(model: Path, feeds: dict) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


@pytest.fixture
def user_error():
    return assert_user_error


@pytest.fixture
def no_output():
    return assert_no_output


@pytest.fixture
def ort():
    return ort_outputs
