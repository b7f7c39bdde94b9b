import numpy as np
import pytest
from onnx import TensorProto

from dlgen.passes import FoldConstants, FoldShapes, simplify
from dlgen.passes.fold_shapes import reshape_shape, shape_slice

F32, I64 = TensorProto.FLOAT, TensorProto.INT64


def flatten_chain_model(kit):
    """x.view(x.size(0), -1) as the TorchScript exporter writes it."""
    return kit.model(
        [kit.node("Shape", ["x"], ["shape"]),
         kit.node("Gather", ["shape", "zero"], ["batch"], axis=0),
         kit.node("Unsqueeze", ["batch", "axes"], ["batch_1d"]),
         kit.node("Concat", ["batch_1d", "minus_one"], ["target"], axis=0),
         kit.node("Reshape", ["x", "target"], ["y"])],
        inputs={"x": (F32, [2, 3, 4, 5])}, outputs={"y": F32},
        initializers={"zero": np.array(0, np.int64), "axes": np.array([0], np.int64),
                      "minus_one": np.array([-1], np.int64)})


def test_pytorch_flatten_chain_folds_to_reshape_with_constant_shape(kit):
    model = flatten_chain_model(kit)
    graph = kit.graph(model)
    assert graph.value("y").shape is None  # shape inference cannot see through the chain
    after = simplify(graph)
    assert kit.op_types(after) == ["Reshape"]
    reshape = after.nodes[0]
    assert after.const(reshape.inputs[1]).tolist() == [2, -1]
    assert after.value("y").shape == (2, 60)
    assert set(after.values) == {"x", "y", reshape.inputs[1]}
    kit.assert_matches_ort(after, model)


def test_shape_becomes_int64_constant(kit):
    model = kit.model([kit.node("Shape", ["x"], ["s"]), kit.node("Size", ["x"], ["n"])],
                      inputs={"x": (F32, [2, 3])}, outputs={"s": I64, "n": I64})
    after = FoldShapes()(kit.graph(model))
    assert after.nodes == []
    assert after.const("s").dtype == np.int64 and after.const("s").tolist() == [2, 3]
    assert after.const("n").shape == () and int(after.const("n")) == 6
    kit.assert_matches_ort(after, model)


@pytest.mark.parametrize("start,end", [(1, None), (-2, None), (0, -1), (1, 2), (-10, 10), (3, 1)])
def test_shape_start_end_opset15(kit, start, end):
    attrs = {"start": start} if end is None else {"start": start, "end": end}
    model = kit.model([kit.node("Shape", ["x"], ["s"], **attrs)],
                      inputs={"x": (F32, [2, 3, 4, 5])}, outputs={"s": I64}, opset=15)
    after = FoldShapes()(kit.graph(model))
    assert after.nodes == []
    kit.assert_matches_ort(after, model)


def test_dynamic_shape_is_left_alone(kit):
    model = kit.model([kit.node("Shape", ["x"], ["s"])],
                      inputs={"x": (F32, ["batch", 3])}, outputs={"s": I64})
    after = FoldShapes()(kit.graph(model))
    assert kit.op_types(after) == ["Shape"]


def test_reshape_and_expand_outputs_get_shapes(kit):
    # The shapes come from Concat of constants: before folding, inference sees no values.
    model = kit.model(
        [kit.node("Concat", ["a", "b"], ["target"], axis=0),
         kit.node("Reshape", ["x", "target"], ["r"]),
         kit.node("Concat", ["c", "ones"], ["expand_to"], axis=0),
         kit.node("Expand", ["r", "expand_to"], ["y"])],
        inputs={"x": (F32, [2, 6])}, outputs={"y": F32},
        initializers={"a": np.array([0], np.int64), "b": np.array([-1], np.int64),
                      "c": np.array([5], np.int64), "ones": np.array([1, 1], np.int64)})
    graph = FoldConstants()(kit.graph(model))
    graph.values["r"].shape = None
    graph.values["y"].shape = None
    after = FoldShapes()(graph)
    assert after.value("r").shape == (2, 6)
    assert after.value("y").shape == (5, 2, 6)
    assert after.value("y").dtype == np.float32
    kit.assert_matches_ort(after, model)


def test_reshape_shape_rules():
    assert reshape_shape((2, 3, 4), np.array([0, -1]), allowzero=False) == (2, 12)
    assert reshape_shape((2, 0, 4), np.array([0, 4, 0]), allowzero=True) == (0, 4, 0)
    assert reshape_shape((6,), np.array([-1, 2]), allowzero=False) == (3, 2)
    with pytest.raises(ValueError):
        reshape_shape((6,), np.array([-1, -1]), allowzero=False)
    with pytest.raises(ValueError):
        reshape_shape((6,), np.array([4]), allowzero=False)


def test_shape_slice_clamps():
    assert shape_slice((2, 3, 4), -1) == (4,)
    assert shape_slice((2, 3, 4), 5) == ()
    assert shape_slice((2, 3, 4), 0, -5) == ()
