import numpy as np
from onnx import TensorProto, helper

from dlgen.ir import Graph, Node, Value
from dlgen.passes import FoldConstants

F32 = TensorProto.FLOAT


def test_constant_nodes_become_values(kit):
    model = kit.model(
        [kit.node("Constant", [], ["c"], value=helper.make_tensor("t", F32, [3], [1, 2, 3])),
         kit.node("Constant", [], ["f"], value_float=0.5),
         kit.node("Constant", [], ["i"], value_ints=[1, 3]),
         kit.node("Mul", ["x", "c"], ["xc"]),
         kit.node("Mul", ["xc", "f"], ["y"]),
         kit.node("Reshape", ["y", "i"], ["z"])],
        inputs={"x": (F32, [3])}, outputs={"z": F32})
    after = FoldConstants()(kit.graph(model))
    assert kit.op_types(after) == ["Mul", "Mul", "Reshape"]
    assert after.const("f").dtype == np.float32 and after.const("f").shape == ()
    assert after.const("i").tolist() == [1, 3]
    kit.assert_matches_ort(after, model)


def test_chain_on_constants_folds_and_keeps_runtime_part(kit):
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.full((2, 3), 2, np.float32)
    model = kit.model(
        [kit.node("Mul", ["a", "b"], ["ab"]),
         kit.node("Sqrt", ["ab"], ["r"]),
         kit.node("Add", ["x", "r"], ["y"])],
        inputs={"x": (F32, [2, 3])}, outputs={"y": F32}, initializers={"a": a, "b": b})
    after = FoldConstants()(kit.graph(model))
    assert kit.op_types(after) == ["Add"]
    np.testing.assert_allclose(after.const("r"), np.sqrt(a * b))
    kit.assert_matches_ort(after, model)


def test_graph_output_folded_stays_a_constant_output(kit):
    model = kit.model(
        [kit.node("Add", ["a", "b"], ["c"]), kit.node("Relu", ["x"], ["y"])],
        inputs={"x": (F32, [2])}, outputs={"c": F32, "y": F32},
        initializers={"a": np.ones(2, np.float32), "b": np.ones(2, np.float32)})
    after = FoldConstants()(kit.graph(model))
    assert kit.op_types(after) == ["Relu"]
    assert after.outputs == ["c", "y"]
    assert after.value("c").is_const and after.value("c").dtype == np.float32
    kit.assert_matches_ort(after, model)


def test_omitted_optional_inputs_allowed(kit):
    model = kit.model(
        [kit.node("Clip", ["a", "", "hi"], ["c"]), kit.node("Add", ["x", "c"], ["y"])],
        inputs={"x": (F32, [4])}, outputs={"y": F32},
        initializers={"a": np.array([-2, 0, 2, 9], np.float32), "hi": np.array(3, np.float32)})
    after = FoldConstants()(kit.graph(model))
    assert kit.op_types(after) == ["Add"]
    assert after.const("c").tolist() == [-2, 0, 2, 3]
    kit.assert_matches_ort(after, model)


def test_skip_logged_when_output_over_byte_limit(kit, pass_log):
    model = kit.model(
        [kit.node("Tile", ["a", "reps"], ["t"]), kit.node("Add", ["x", "t"], ["y"])],
        inputs={"x": (F32, [64, 4])}, outputs={"y": F32},
        initializers={"a": np.ones((1, 4), np.float32), "reps": np.array([64, 1], np.int64)})
    after = FoldConstants(max_output_bytes=512)(kit.graph(model))
    assert kit.op_types(after) == ["Tile", "Add"]
    assert "too large" in pass_log.text and "max_output_bytes=512" in pass_log.text
    kit.assert_matches_ort(after, model)


def test_skip_logged_when_output_too_large_without_declared_shape(pass_log):
    # No shape known up front: the limit is checked on the evaluated result.
    graph = Graph(nodes=[Node("Tile", ["a", "reps"], ["t"], name="tile")],
                  inputs=[], outputs=["t"],
                  values={"a": Value("a", np.float32, data=np.ones((1, 4), np.float32)),
                          "reps": Value("reps", np.int64, data=np.array([64, 1])),
                          "t": Value("t", None)})
    after = FoldConstants(max_output_bytes=512)(graph)
    assert [n.op_type for n in after.nodes] == ["Tile"]
    assert "too large: outputs are 1024 bytes" in pass_log.text


def test_skip_logged_when_input_over_byte_limit(kit, pass_log):
    model = kit.model(
        [kit.node("ReduceSum", ["a"], ["s"], keepdims=0), kit.node("Add", ["x", "s"], ["y"])],
        inputs={"x": (F32, [])}, outputs={"y": F32},
        initializers={"a": np.ones(100, np.float32)})
    after = FoldConstants(max_input_bytes=100)(kit.graph(model))
    assert kit.op_types(after) == ["ReduceSum", "Add"]
    assert "max_input_bytes=100" in pass_log.text


def test_random_ops_are_not_folded(kit, pass_log):
    model = kit.model(
        [kit.node("RandomNormal", [], ["r"], shape=[2], seed=1.0),
         kit.node("Add", ["x", "r"], ["y"])],
        inputs={"x": (F32, [2])}, outputs={"y": F32})
    after = FoldConstants()(kit.graph(model))
    assert kit.op_types(after) == ["RandomNormal", "Add"]
    assert "random op" in pass_log.text


def test_subgraph_ops_are_not_folded(kit, pass_log):
    def branch(name, value):
        out = helper.make_tensor_value_info(f"{name}_out", F32, [1])
        node = helper.make_node("Constant", [], [f"{name}_out"],
                                value=helper.make_tensor("v", F32, [1], [value]))
        return helper.make_graph([node], name, [], [out])

    model = kit.model(
        [kit.node("If", ["cond"], ["c"], then_branch=branch("then", 1.0),
                  else_branch=branch("else", 2.0)),
         kit.node("Add", ["x", "c"], ["y"])],
        inputs={"x": (F32, [1])}, outputs={"y": F32},
        initializers={"cond": np.array(True)})
    after = FoldConstants()(kit.graph(model))
    assert kit.op_types(after) == ["If", "Add"]
    assert "subgraph" in pass_log.text
    kit.assert_matches_ort(after, model)


def test_evaluation_error_is_logged_with_message(pass_log):
    graph = Graph(nodes=[Node("Reshape", ["a", "s"], ["y"], name="bad_reshape")],
                  inputs=[], outputs=["y"],
                  values={"a": Value("a", np.float32, data=np.ones(6, np.float32)),
                          "s": Value("s", np.int64, data=np.array([4, 4])),
                          "y": Value("y", np.float32)})
    after = FoldConstants()(graph)
    assert [n.op_type for n in after.nodes] == ["Reshape"]
    assert "evaluation error" in pass_log.text and "bad_reshape" in pass_log.text


def test_input_graph_is_not_modified(kit):
    model = kit.model([kit.node("Neg", ["a"], ["y"])], inputs={}, outputs={"y": F32},
                      initializers={"a": np.ones(2, np.float32)})
    graph = kit.graph(model)
    after = FoldConstants()(graph)
    assert after.nodes == [] and after.value("y").is_const
    assert [n.op_type for n in graph.nodes] == ["Neg"] and not graph.value("y").is_const
