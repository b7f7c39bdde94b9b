"""`dlgen verify --per-node`: compare every intermediate value and name the first divergence."""
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen

MODELS = Path(__file__).resolve().parent / "fixtures" / "models"


def test_per_node_all_match_on_a_cnn():
    report = dlgen.verify(MODELS / "lenet_bn_dynamo.onnx", "c", per_node=True)
    assert report.ok and report.first_divergence is None
    assert report.nodes_compared >= 6


def test_per_node_names_the_first_diverging_node():
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((64, 4000)).astype(np.float32), "w")
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="first_relu"),
             helper.make_node("Gemm", ["r", "w"], ["g"], name="big_gemm", transB=1),
             helper.make_node("Neg", ["g"], ["y"], name="negate")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [8, 4000])],
                              [helper.make_tensor_value_info("y", 1, [8, 64])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    report = dlgen.verify(model, "c", per_node=True, atol=0.0, rtol=0.0)
    if report.first_divergence is None:
        pytest.skip("C and ONNX Runtime happened to agree bit for bit")
    div = report.first_divergence
    assert (div.node, div.op, div.check.name) == ("big_gemm", "Gemm", "g")
    assert div.check.max_abs_err > 0
    assert not report.ok


def test_per_node_needs_the_c_target():
    with pytest.raises(dlgen.DlgenError, match="C target only"):
        dlgen.verify(MODELS / "mlp_legacy.onnx", "onnxruntime", per_node=True)
