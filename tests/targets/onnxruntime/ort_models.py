"""Small models of the onnxruntime target tests (imported by the tests and conftest.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

ROOT = Path(__file__).resolve().parents[3]


def save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def mlp_model(rng, *, softmax: bool = True, batch: int = 2) -> onnx.ModelProto:
    """x [batch, 16] -> MatMul+Add -> Relu -> MatMul+Add -> (Softmax) -> y [batch, 10]."""
    w1 = numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32) * 0.3, "w1")
    b1 = numpy_helper.from_array(rng.standard_normal(32).astype(np.float32) * 0.1, "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((32, 10)).astype(np.float32) * 0.3, "w2")
    b2 = numpy_helper.from_array(rng.standard_normal(10).astype(np.float32) * 0.1, "b2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
             helper.make_node("Add", ["h0", "b1"], ["h1"], name="bias1"),
             helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
             helper.make_node("MatMul", ["h2", "w2"], ["h3"], name="fc2"),
             helper.make_node("Add", ["h3", "b2"], ["logits" if not softmax else "h4"],
                              name="bias2")]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["h4"], ["logits"], name="softmax", axis=-1))
    graph = helper.make_graph(nodes, "mlp",
                              [helper.make_tensor_value_info("x", 1, [batch, 16])],
                              [helper.make_tensor_value_info("logits", 1, [batch, 10])],
                              [w1, b1, w2, b2])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def det_model() -> onnx.ModelProto:
    """An MLP branch plus Det, an op OpenVINO's provider does not take."""
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((4, 8)).astype(np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
         helper.make_node("Relu", ["y"], ["out"], name="relu"),
         helper.make_node("Det", ["sq"], ["d"], name="det")], "g",
        [helper.make_tensor_value_info("x", 1, [2, 4]), helper.make_tensor_value_info("sq", 1, [3, 3])],
        [helper.make_tensor_value_info("out", 1, [2, 8]), helper.make_tensor_value_info("d", 1, [])],
        [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


