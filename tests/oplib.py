"""Helpers for op tests: build a one-node (or small) ONNX model, run it through a dlgen target
and through ONNX Runtime, and compare.

    check_op("Gemm", {"A": a, "B": b}, attrs={"transB": 1}, consts={"C": c})

``inputs`` become graph inputs (fed at run time); ``consts`` become initializers.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

import dlgen
from dlgen.targets.onnxruntime import OrtRunner


def make_model(op_type: str, inputs: dict, *, consts: dict | None = None, attrs: dict | None = None,
               outputs: int | list[str] = 1, opset: int = 17, input_order: list[str] | None = None,
               domain: str = "") -> onnx.ModelProto:
    """A model with a single node; ``input_order`` lists the node's inputs ("" = omitted)."""
    consts = consts or {}
    names = input_order or list(inputs) + list(consts)
    out_names = [f"y{i}" for i in range(outputs)] if isinstance(outputs, int) else outputs
    node = helper.make_node(op_type, names, out_names, name=f"{op_type.lower()}_node",
                            domain=domain or None, **(attrs or {}))
    graph_inputs = [helper.make_tensor_value_info(
        k, helper.np_dtype_to_tensor_dtype(np.asarray(v).dtype), list(np.shape(v)))
        for k, v in inputs.items()]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()]
    graph_outputs = [helper.make_tensor_value_info(n, 0, None) for n in out_names if n]
    graph = helper.make_graph([node], f"test_{op_type}", graph_inputs, graph_outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    # Output types come from inference, so the model is complete for ORT.
    inferred = {v.name: v for v in model.graph.value_info}
    for out in model.graph.output:
        if out.name in inferred:
            out.CopyFrom(inferred[out.name])
    return model


def ort_outputs(model: onnx.ModelProto, feeds: dict) -> dict[str, np.ndarray]:
    with OrtRunner(model) as ref:
        return ref.run(feeds)


# The C kernels the op tests use; the `kernels` fixture (tests/conftest.py) runs a test module
# once per kernel set, so the fast and the reference kernels pass the same tests.
KERNELS: str | None = None


def dlgen_outputs(model: onnx.ModelProto, feeds: dict, *, target: str = "c",
                  options: dict | None = None) -> dict[str, np.ndarray]:
    if target == "c" and KERNELS is not None:
        options = {"kernels": KERNELS, **(options or {})}
    with tempfile.TemporaryDirectory() as tmp:
        art = dlgen.compile(model, target, Path(tmp) / "out", name="m", options=options)
        with art.runner() as runner:
            return runner.run(feeds)


def assert_close(got: dict, want: dict, *, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    assert set(got) == set(want), (sorted(got), sorted(want))
    for name in want:
        g, w = np.asarray(got[name]), np.asarray(want[name])
        assert g.shape == w.shape, f"{name}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"{name}: dtype {g.dtype} != {w.dtype}"
        np.testing.assert_allclose(g, w, atol=atol, rtol=rtol, err_msg=name)


def check_op(op_type: str, inputs: dict, *, consts: dict | None = None, attrs: dict | None = None,
             outputs: int | list[str] = 1, opset: int = 17, input_order: list[str] | None = None,
             atol: float = 1e-5, rtol: float = 1e-4, options: dict | None = None) -> dict:
    """Compile a one-node model to C, run it, and compare every output with ONNX Runtime."""
    model = make_model(op_type, inputs, consts=consts, attrs=attrs, outputs=outputs, opset=opset,
                       input_order=input_order)
    want = ort_outputs(model, inputs)
    got = dlgen_outputs(model, inputs, options=options)
    assert_close(got, want, atol=atol, rtol=rtol)
    return got


def random_data(rng, shape, dtype=np.float32) -> np.ndarray:
    """Test data of any dtype: bools, small non-negative integers, or normal floats."""
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def has_cblas() -> bool:
    """Whether a CBLAS library links here (--kernels cblas)."""
    from dlgen.errors import TargetUnavailable
    from dlgen.targets.c.build import build_config

    try:
        build_config("cblas", 1)
    except TargetUnavailable:
        return False
    return True


def i64(*values) -> np.ndarray:
    return np.array(values, np.int64)
