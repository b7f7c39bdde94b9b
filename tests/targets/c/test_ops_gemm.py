"""Gemm and MatMul (and their fused forms) against ONNX Runtime."""
import itertools

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from oplib import assert_close, check_op, dlgen_outputs, ort_outputs

# Every test runs with the fast (portable) and the reference kernels.
pytestmark = pytest.mark.usefixtures("kernels")

M, N, K = 5, 7, 6


@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([0, 1], [0, 1])))
@pytest.mark.parametrize("c_shape", [None, (), (N,), (1, N), (M, 1), (M, N)])
def test_gemm(trans_a, trans_b, c_shape, rng):
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(np.float32)
    consts = {"B": b}
    if c_shape is not None:
        consts["C"] = rng.standard_normal(c_shape).astype(np.float32)
    check_op("Gemm", {"A": a}, consts=consts,
             attrs={"transA": trans_a, "transB": trans_b, "alpha": 0.7, "beta": 1.3})


def test_gemm_runtime_operands(rng):
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    c = rng.standard_normal((N,)).astype(np.float32)
    check_op("Gemm", {"A": a, "B": b, "C": c})


@pytest.mark.parametrize("a_shape,b_shape", [
    ((4, 3), (3, 5)),
    ((3,), (3, 5)),          # 1-D promoted on the left
    ((4, 3), (3,)),          # 1-D promoted on the right
    ((3,), (3,)),            # dot product
    ((2, 4, 3), (3, 5)),     # batch times matrix
    ((2, 4, 3), (2, 3, 5)),  # batched
    ((2, 1, 4, 3), (3, 3, 5)),  # broadcast batch dims
    ((1, 4, 3), (2, 3, 5)),
])
def test_matmul(a_shape, b_shape, rng):
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    check_op("MatMul", {"a": a, "b": b})


def _two_node(op, act, act_attrs, consts, rng, act_inputs=()):
    x = rng.standard_normal((3, 6)).astype(np.float32)
    nodes = [helper.make_node(op, ["x", *consts], ["h"], name="base"),
             helper.make_node(act, ["h", *act_inputs], ["y"], name="act", **act_attrs)]
    inits = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    graph = helper.make_graph(nodes, "fused", [helper.make_tensor_value_info("x", 1, x.shape)],
                              [helper.make_tensor_value_info("y", 1, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model), {"x": x}


ACTIVATIONS = [("Relu", {}), ("LeakyRelu", {"alpha": 0.3}), ("Sigmoid", {}), ("Tanh", {}),
               ("HardSigmoid", {"alpha": 0.3, "beta": 0.6}), ("HardSwish", {})]


@pytest.mark.parametrize("op", ["Gemm", "MatMul"])
@pytest.mark.parametrize("act,attrs", ACTIVATIONS)
def test_fused_epilogue(op, act, attrs, rng):
    w = {"w": rng.standard_normal((6, 4)).astype(np.float32)}
    model, feeds = _two_node(op, act, attrs, w, rng)
    assert_close(dlgen_outputs(model, feeds), ort_outputs(model, feeds), atol=1e-5, rtol=1e-4)


def test_fused_clip(rng):
    w = {"w": rng.standard_normal((6, 4)).astype(np.float32),
         "lo": np.array(-0.2, np.float32), "hi": np.array(0.4, np.float32)}
    x = rng.standard_normal((3, 6)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("Clip", ["h", "lo", "hi"], ["y"])]
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    graph = helper.make_graph(nodes, "clip", [helper.make_tensor_value_info("x", 1, x.shape)],
                              [helper.make_tensor_value_info("y", 1, None)], inits)
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8))
    assert_close(dlgen_outputs(model, {"x": x}), ort_outputs(model, {"x": x}))
