import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from dlgen.errors import BadInput, Unsupported
from dlgen.ir import Graph, Node, Value, from_onnx
from dlgen.ir import evaluate as evaluate_module
from dlgen.ir.evaluate import FLOAT32_MAX, apply_activation, evaluate, run_node

F32 = TensorProto.FLOAT


def small_model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "g"], ["y"], transB=1)]
    inits = [numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal(2).astype(np.float32), "b"),
             numpy_helper.from_array(rng.standard_normal((3, 32)).astype(np.float32), "g")]
    graph = helper.make_graph(nodes, "small",
                              [helper.make_tensor_value_info("x", F32, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", F32, [1, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def run_ort(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def test_matches_onnxruntime():
    model = small_model()
    x = np.random.default_rng(1).standard_normal((1, 1, 4, 4)).astype(np.float32)
    got = evaluate(from_onnx(model), {"x": x})
    assert list(got) == ["y"]
    np.testing.assert_allclose(got["y"], run_ort(model, {"x": x})[0], rtol=1e-5, atol=1e-5)


def test_keep_all_returns_intermediates_and_constants():
    graph = from_onnx(small_model())
    x = np.ones((1, 1, 4, 4), np.float32)
    values = evaluate(graph, {"x": x}, keep_all=True)
    assert {"x", "w", "c", "r", "f", "y"} <= set(values)
    np.testing.assert_array_equal(values["r"], np.maximum(values["c"], 0))
    assert values["f"].shape == (1, 32)


def test_missing_input_raises():
    with pytest.raises(BadInput, match="missing graph input"):
        evaluate(from_onnx(small_model()), {})


def test_evaluator_is_cached_per_node():
    graph = from_onnx(small_model())
    x = np.ones((1, 1, 4, 4), np.float32)
    evaluate(graph, {"x": x})
    node = graph.nodes[0]
    first = evaluate_module._CACHE[id(node)][2]
    evaluate(graph, {"x": x})
    assert evaluate_module._CACHE[id(node)][2] is first
    node.attrs["pads"] = [0, 0, 0, 0]  # an edited node gets a fresh evaluator
    run_node(graph, node, {"x": x, "w": graph.const("w"), "b": graph.const("b")})
    assert evaluate_module._CACHE[id(node)][2] is not first


def fused_graph(activation: str, params: list[float]) -> Graph:
    w = np.random.default_rng(0).standard_normal((2, 1, 3, 3)).astype(np.float32)
    node = Node("FusedConv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1], "activation": activation,
                                                  "activation_params": params}, "conv", "dlgen")
    values = {"x": Value("x", np.float32, (1, 1, 4, 4)), "w": Value("w", np.float32, data=w),
              "y": Value("y", np.float32, (1, 2, 4, 4))}
    return Graph([node], ["x"], ["y"], values, opsets={"": 17, "dlgen": 1})


@pytest.mark.parametrize("activation,params,reference", [
    ("Relu", [], lambda c: np.maximum(c, 0)),
    ("LeakyRelu", [0.1], lambda c: np.where(c >= 0, c, 0.1 * c)),
    ("Sigmoid", [], lambda c: 1 / (1 + np.exp(-c))),
    ("Tanh", [], np.tanh),
    ("Clip", [-0.5, FLOAT32_MAX], lambda c: np.maximum(c, -0.5)),
    ("HardSigmoid", [0.2, 0.5], lambda c: np.clip(0.2 * c + 0.5, 0, 1)),
    ("HardSwish", [], lambda c: c * np.clip(c / 6 + 0.5, 0, 1)),
])
def test_fused_node_is_base_op_then_activation(activation, params, reference):
    graph = fused_graph(activation, params)
    x = np.random.default_rng(2).standard_normal((1, 1, 4, 4)).astype(np.float32)
    conv = Graph([Node("Conv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1]})], ["x"], ["y"],
                 graph.values)
    base = evaluate(conv, {"x": x})["y"]
    got = evaluate(graph, {"x": x})["y"]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference(base), rtol=1e-6, atol=1e-6)


def test_unknown_activation_and_domain_raise():
    with pytest.raises(Unsupported, match="unknown fused activation"):
        apply_activation(np.zeros(2, np.float32), "Swish", [])
    graph = Graph([Node("Gelu", ["x"], ["y"], domain="com.microsoft")], ["x"], ["y"],
                  {"x": Value("x", np.float32, (2,)), "y": Value("y", np.float32, (2,))})
    with pytest.raises(Unsupported, match="com.microsoft"):
        evaluate(graph, {"x": np.zeros(2, np.float32)})


def test_constant_graph_output_is_returned():
    graph = Graph([], ["x"], ["c"], {"x": Value("x", np.float32, (1,)),
                                     "c": Value("c", np.float32, data=np.array([3.0]))})
    np.testing.assert_array_equal(evaluate(graph, {"x": np.zeros(1, np.float32)})["c"], [3.0])


def test_subgraph_reads_outer_scope_values():
    then_branch = helper.make_graph([helper.make_node("Neg", ["r"], ["t"])], "then", [],
                                    [helper.make_tensor_value_info("t", F32, [2])])
    else_branch = helper.make_graph([helper.make_node("Identity", ["r"], ["e"])], "else", [],
                                    [helper.make_tensor_value_info("e", F32, [2])])
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]),
         helper.make_node("If", ["cond"], ["y"], then_branch=then_branch, else_branch=else_branch)],
        "if", [helper.make_tensor_value_info("x", F32, [2]),
               helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", F32, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    g = from_onnx(model)
    assert g.nodes[1].implicit_inputs() == ["r"]
    assert [n.op_type for n in g.consumers()["r"]] == ["If"]
    x = np.array([-1.0, 2.0], np.float32)
    for cond in (True, False):
        feeds = {"x": x, "cond": np.array(cond)}
        np.testing.assert_array_equal(evaluate(g, feeds)["y"], run_ort(model, feeds)[0])
