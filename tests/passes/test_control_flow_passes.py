"""InlineConstantIf and InferControlFlowShapes (control-flow nodes before the C lowering)."""
import numpy as np
from onnx import TensorProto, helper

from dlgen.passes import InferControlFlowShapes, InlineConstantIf, simplify

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def _if(kit, cond):
    then = helper.make_graph([helper.make_node("Concat", ["x", "x"], ["t"], axis=0)], "then", [],
                             [helper.make_tensor_value_info("t", F32, [8])])
    other = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", F32, [4])])
    return kit.model([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
                     inputs={"x": (F32, [4])}, outputs={"y": F32},
                     initializers={"c": np.array(cond)})


def test_constant_if_becomes_its_branch(kit):
    for cond, ops in ((True, ["Concat"]), (False, ["Neg"])):
        model = _if(kit, cond)
        graph = InlineConstantIf()(kit.graph(model))
        assert "If" not in kit.op_types(graph)
        after = simplify(graph)
        assert kit.op_types(after) == ops
        kit.assert_matches_ort(after, model)


def test_loop_scan_output_gets_its_length(kit):
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Add", ["s_in", "x"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["z"])], "body",
        [helper.make_tensor_value_info("i", I64, []), helper.make_tensor_value_info("c_in", BOOL, []),
         helper.make_tensor_value_info("s_in", F32, [3])],
        [helper.make_tensor_value_info("c_out", BOOL, []),
         helper.make_tensor_value_info("s_out", F32, [3]), helper.make_tensor_value_info("z", F32, [3])])
    model = kit.model([helper.make_node("Loop", ["m", "", "s0"], ["s", "zs"], body=body)],
                      inputs={"x": (F32, [3]), "s0": (F32, [3])}, outputs={"s": (F32, [3]), "zs": (F32, ["n", 3])},
                      initializers={"m": np.array(4, np.int64)})
    graph = kit.graph(model)
    assert graph.value("zs").shape is None
    after = InferControlFlowShapes()(graph)
    assert after.value("zs").shape == (4, 3) and after.value("s").shape == (3,)
    assert graph.value("zs").shape is None  # the input graph is left alone
