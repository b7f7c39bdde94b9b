"""Shared builders for pass tests: tiny ONNX models, their dlgen graphs, and numeric checks.

Tests get them through the ``kit`` fixture::

    model = kit.model([helper.make_node("Relu", ["x"], ["y"])], inputs={"x": (F32, [2, 3])},
                      outputs={"y": F32})
    graph = kit.graph(model)                  # shape inference + dlgen.ir.from_onnx
    kit.assert_matches_ort(RemoveIdentity()(graph), model)
"""
from __future__ import annotations

import logging

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from dlgen.ir import Graph, from_onnx
from dlgen.ir.dtypes import from_onnx as dtype_from_onnx
from dlgen.ir.evaluate import evaluate

F32 = TensorProto.FLOAT
I64 = TensorProto.INT64


def make_model(nodes, inputs, outputs, initializers=None, opset=17, value_info=()):
    """A checked, shape-inferred model.

    ``inputs``: {name: (elem_type, shape)}; ``outputs``: {name: elem_type or (elem_type, shape)};
    ``initializers``: {name: array}.
    """
    ins = [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs.items()]
    outs = []
    for name, spec in outputs.items():
        elem, shape = spec if isinstance(spec, tuple) else (spec, None)
        outs.append(helper.make_tensor_value_info(name, elem, shape))
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in (initializers or {}).items()]
    graph = helper.make_graph(nodes, "test", ins, outs, inits, value_info=list(value_info))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    return model


def to_graph(model: onnx.ModelProto) -> Graph:
    return from_onnx(onnx.shape_inference.infer_shapes(model))


def random_feeds(model: onnx.ModelProto, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random data for every graph input (static shapes only)."""
    rng = np.random.default_rng(seed)
    init_names = {i.name for i in model.graph.initializer}
    feeds = {}
    for info in model.graph.input:
        if info.name in init_names:
            continue
        dtype = dtype_from_onnx(info.type.tensor_type.elem_type)
        shape = [d.dim_value for d in info.type.tensor_type.shape.dim]
        if dtype.kind == "f":
            feeds[info.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[info.name] = rng.integers(0, 5, shape).astype(dtype)
    return feeds


def run_ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def assert_matches_ort(graph: Graph, model: onnx.ModelProto, *, rtol=1e-5, atol=1e-5,
                       seed=0, feeds=None) -> None:
    """evaluate(graph) equals ONNX Runtime on the original ``model`` for seeded random inputs."""
    feeds = random_feeds(model, seed) if feeds is None else feeds
    expected = run_ort(model, feeds)
    got = evaluate(graph, feeds)
    assert list(got) == list(expected), "graph outputs changed"
    for name, want in expected.items():
        assert got[name].dtype == want.dtype, name
        np.testing.assert_allclose(got[name], want, rtol=rtol, atol=atol, err_msg=name)


def op_types(graph: Graph) -> list[str]:
    return [n.op_type for n in graph.nodes]


class Kit:
    """The helpers above, as one fixture object."""

    F32 = F32
    I64 = I64
    model = staticmethod(make_model)
    graph = staticmethod(to_graph)
    feeds = staticmethod(random_feeds)
    ort = staticmethod(run_ort)
    assert_matches_ort = staticmethod(assert_matches_ort)
    op_types = staticmethod(op_types)
    node = staticmethod(helper.make_node)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
def pass_log(caplog):
    """caplog capturing dlgen.passes at debug level."""
    caplog.set_level(logging.DEBUG, logger="dlgen.passes")
    return caplog
