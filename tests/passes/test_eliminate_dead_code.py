import numpy as np
from onnx import TensorProto, helper

from dlgen.passes import EliminateDeadCode

F32 = TensorProto.FLOAT


def test_unused_branch_and_initializers_are_removed(kit):
    model = kit.model(
        [kit.node("Relu", ["x"], ["y"]),
         kit.node("Sigmoid", ["x"], ["s"]),          # dead branch
         kit.node("Mul", ["s", "w_dead"], ["dead"])],
        inputs={"x": (F32, [2, 3]), "unused_input": (F32, [1])}, outputs={"y": F32},
        initializers={"w_dead": np.ones((2, 3), np.float32),
                      "never_read": np.zeros(4, np.float32)})
    graph = kit.graph(model)
    after = EliminateDeadCode()(graph)
    assert kit.op_types(after) == ["Relu"]
    assert set(after.values) == {"x", "y", "unused_input"}  # graph inputs always stay
    assert after.inputs == ["x", "unused_input"]
    assert len(graph.nodes) == 3  # the input graph is untouched
    kit.assert_matches_ort(after, model)


def test_nodes_with_one_live_output_are_kept(kit):
    model = kit.model(
        [kit.node("Split", ["x"], ["a", "b"], axis=0, num_outputs=2),
         kit.node("Neg", ["a"], ["y"])],
        inputs={"x": (F32, [4])}, outputs={"y": F32}, opset=18)
    after = EliminateDeadCode()(kit.graph(model))
    assert kit.op_types(after) == ["Split", "Neg"]
    assert "b" in after.values  # still written by the kept Split
    kit.assert_matches_ort(after, model)


def test_constant_graph_output_is_kept(kit):
    model = kit.model([kit.node("Relu", ["x"], ["y"])], inputs={"x": (F32, [2])},
                      outputs={"y": F32, "c": (F32, [2])},
                      initializers={"c": np.array([1, 2], np.float32)})
    after = EliminateDeadCode()(kit.graph(model))
    assert after.value("c").is_const and after.outputs == ["y", "c"]


def test_values_read_only_by_a_subgraph_stay_live(kit):
    then_out = helper.make_tensor_value_info("t_out", F32, [2])
    else_out = helper.make_tensor_value_info("e_out", F32, [2])
    then_branch = helper.make_graph([helper.make_node("Neg", ["outer"], ["t_out"])], "then",
                                    [], [then_out])
    else_branch = helper.make_graph([helper.make_node("Identity", ["x"], ["e_out"])], "else",
                                    [], [else_out])
    model = kit.model(
        [kit.node("Relu", ["x"], ["outer"]),
         kit.node("If", ["cond"], ["y"], then_branch=then_branch, else_branch=else_branch)],
        inputs={"x": (F32, [2]), "cond": (TensorProto.BOOL, [])}, outputs={"y": F32})
    after = EliminateDeadCode()(kit.graph(model))
    assert kit.op_types(after) == ["Relu", "If"]
    feeds = {"x": np.array([-1, 2], np.float32), "cond": np.array(True)}
    kit.assert_matches_ort(after, model, feeds=feeds)
