import numpy as np
from onnx import TensorProto

from dlgen.passes import FuseActivation, FuseResidual

F32 = TensorProto.FLOAT


def residual_model(kit, *, swap=False, relu=True, z_shape=(1, 3, 5, 5), extra_use=False):
    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((3, 2, 3, 3)).astype(np.float32),
             "b": rng.standard_normal(3).astype(np.float32)}
    nodes = [kit.node("Conv", ["x", "w", "b"], ["h"], pads=[1, 1, 1, 1], name="conv"),
             kit.node("Add", ["z", "h"] if swap else ["h", "z"], ["s"], name="add")]
    outputs = {"y": F32}
    if relu:
        nodes.append(kit.node("Relu", ["s"], ["y"]))
    else:
        nodes[-1].output[0] = "y"
    if extra_use:
        nodes.append(kit.node("Neg", ["h"], ["n"]))
        outputs["n"] = F32
    return kit.model(nodes, inputs={"x": (F32, [1, 2, 5, 5]), "z": (F32, list(z_shape))},
                     outputs=outputs, initializers=inits)


def test_conv_add_relu_becomes_one_fused_conv(kit):
    for swap in (False, True):
        model = residual_model(kit, swap=swap)
        after = FuseActivation()(FuseResidual()(kit.graph(model)))
        assert [(n.domain, n.op_type) for n in after.nodes] == [("dlgen", "FusedConv")]
        fused = after.nodes[0]
        assert fused.inputs == ["x", "w", "b", "z"] and fused.outputs == ["y"]
        assert fused.attrs["activation"] == "Relu" and fused.name == "conv"
        kit.assert_matches_ort(after, model)


def test_conv_add_without_activation(kit):
    model = residual_model(kit, relu=False)
    after = FuseResidual()(kit.graph(model))
    assert [n.op_type for n in after.nodes] == ["FusedConv"]
    kit.assert_matches_ort(after, model)


def test_broadcast_residual_is_left_alone(kit):
    model = residual_model(kit, z_shape=(1, 3, 1, 1))
    after = FuseResidual()(kit.graph(model))
    assert [n.op_type for n in after.nodes] == ["Conv", "Add", "Relu"]


def test_conv_output_with_other_uses_is_left_alone(kit):
    model = residual_model(kit, extra_use=True)
    after = FuseResidual()(kit.graph(model))
    assert "Conv" in [n.op_type for n in after.nodes]
