import numpy as np
import pytest
from onnx import TensorProto

from dlgen.passes import RemoveIdentity

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def test_identity_in_the_middle_is_removed(kit):
    model = kit.model(
        [kit.node("Relu", ["x"], ["a"]), kit.node("Identity", ["a"], ["b"]),
         kit.node("Neg", ["b"], ["y"])],
        inputs={"x": (F32, [2, 3])}, outputs={"y": F32})
    after = RemoveIdentity()(kit.graph(model))
    assert kit.op_types(after) == ["Relu", "Neg"]
    assert after.nodes[1].inputs == ["a"]
    assert "b" not in after.values
    kit.assert_matches_ort(after, model)


def test_identity_writing_graph_output_renames_producer(kit):
    model = kit.model(
        [kit.node("Relu", ["x"], ["a"]), kit.node("Identity", ["a"], ["y"])],
        inputs={"x": (F32, [2, 3])}, outputs={"y": F32})
    after = RemoveIdentity()(kit.graph(model))
    assert kit.op_types(after) == ["Relu"]
    assert after.nodes[0].outputs == ["y"] and after.outputs == ["y"]
    assert "a" not in after.values and after.value("y").shape == (2, 3)
    kit.assert_matches_ort(after, model)


def test_identity_output_renaming_updates_other_consumers(kit):
    model = kit.model(
        [kit.node("Relu", ["x"], ["a"]), kit.node("Identity", ["a"], ["y"]),
         kit.node("Neg", ["a"], ["z"])],
        inputs={"x": (F32, [2])}, outputs={"y": F32, "z": F32})
    after = RemoveIdentity()(kit.graph(model))
    assert kit.op_types(after) == ["Relu", "Neg"]
    assert after.nodes[1].inputs == ["y"]
    kit.assert_matches_ort(after, model)


@pytest.mark.parametrize("source", ["input", "constant", "other_output"])
def test_identity_between_named_values_stays(kit, source):
    nodes = [kit.node("Identity", ["src"], ["y"])]
    inputs, inits, outputs = {"x": (F32, [2])}, {}, {"y": F32}
    if source == "input":
        inputs = {"src": (F32, [2])}
    elif source == "constant":
        inits = {"src": np.ones(2, np.float32)}
    else:
        nodes.insert(0, kit.node("Relu", ["x"], ["src"]))
        outputs = {"src": F32, "y": F32}
    model = kit.model(nodes, inputs=inputs, outputs=outputs, initializers=inits)
    after = RemoveIdentity()(kit.graph(model))
    assert "Identity" in kit.op_types(after)
    assert after.outputs == list(outputs)
    kit.assert_matches_ort(after, model)


def test_dropout_is_removed_at_inference(kit):
    model = kit.model(
        [kit.node("Dropout", ["x", "ratio"], ["d"]), kit.node("Relu", ["d"], ["y"])],
        inputs={"x": (F32, [4, 5])}, outputs={"y": F32},
        initializers={"ratio": np.array(0.5, np.float32)})
    after = RemoveIdentity()(kit.graph(model))
    assert kit.op_types(after) == ["Relu"]
    kit.assert_matches_ort(after, model)


def test_dropout_with_unused_mask_and_false_training_mode_is_removed(kit):
    model = kit.model(
        [kit.node("Dropout", ["x", "", "training"], ["d", "mask"]), kit.node("Relu", ["d"], ["y"])],
        inputs={"x": (F32, [4, 5])}, outputs={"y": F32},
        initializers={"training": np.array(False)})
    after = RemoveIdentity()(kit.graph(model))
    assert kit.op_types(after) == ["Relu"]
    assert "mask" not in after.values
    kit.assert_matches_ort(after, model)


def test_dropout_kept_when_mask_used_or_training(kit, pass_log):
    used_mask = kit.model(
        [kit.node("Dropout", ["x"], ["y", "mask"])],
        inputs={"x": (F32, [3])}, outputs={"y": F32, "mask": BOOL})
    assert kit.op_types(RemoveIdentity()(kit.graph(used_mask))) == ["Dropout"]
    assert "mask output is used" in pass_log.text
    training = kit.model(
        [kit.node("Dropout", ["x", "", "training"], ["d"]), kit.node("Relu", ["d"], ["y"])],
        inputs={"x": (F32, [3])}, outputs={"y": F32},
        initializers={"training": np.array(True)})
    assert kit.op_types(RemoveIdentity()(kit.graph(training))) == ["Dropout", "Relu"]
    assert "training_mode is true" in pass_log.text


def test_noop_shape_ops_are_removed(kit):
    model = kit.model(
        [kit.node("Reshape", ["x", "same"], ["a"]),
         kit.node("Transpose", ["a"], ["b"], perm=[0, 1]),
         kit.node("Cast", ["b"], ["c"], to=F32),
         kit.node("Flatten", ["c"], ["d"], axis=1),
         kit.node("Expand", ["d", "ones"], ["e"]),
         kit.node("Squeeze", ["e", "no_axes"], ["f"]),
         kit.node("Relu", ["f"], ["y"])],
        inputs={"x": (F32, [3, 4])}, outputs={"y": F32},
        initializers={"same": np.array([3, 4], np.int64), "ones": np.array([1, 1], np.int64),
                      "no_axes": np.zeros(0, np.int64)})
    after = RemoveIdentity()(kit.graph(model))
    assert kit.op_types(after) == ["Relu"]
    assert after.nodes[0].inputs == ["x"]
    kit.assert_matches_ort(after, model)


def test_shape_changing_ops_are_kept(kit):
    model = kit.model(
        [kit.node("Transpose", ["x"], ["a"], perm=[1, 0]),  # same shape, not the same data
         kit.node("Reshape", ["a", "shape"], ["b"]),
         kit.node("Cast", ["b"], ["y"], to=I64)],
        inputs={"x": (F32, [3, 3])}, outputs={"y": I64},
        initializers={"shape": np.array([9], np.int64)})
    after = RemoveIdentity()(kit.graph(model))
    assert kit.op_types(after) == ["Transpose", "Reshape", "Cast"]
    kit.assert_matches_ort(after, model)


def test_chain_of_identities_to_output(kit):
    model = kit.model(
        [kit.node("Relu", ["x"], ["a"]), kit.node("Identity", ["a"], ["b"]),
         kit.node("Identity", ["b"], ["y"])],
        inputs={"x": (F32, [2])}, outputs={"y": F32})
    after = RemoveIdentity()(kit.graph(model))
    assert kit.op_types(after) == ["Relu"]
    assert after.nodes[0].outputs == ["y"]
    kit.assert_matches_ort(after, model)
