import numpy as np
import pytest
from onnx import TensorProto

from dlgen.passes import FoldBatchNorm

F32 = TensorProto.FLOAT
TOL = {"rtol": 1e-4, "atol": 1e-4}


def bn_params(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"scale": rng.uniform(0.5, 2.0, n).astype(np.float32),
            "beta": rng.standard_normal(n).astype(np.float32),
            "mean": rng.standard_normal(n).astype(np.float32),
            "var": rng.uniform(0.2, 3.0, n).astype(np.float32)}


def bn_node(kit, x, y, **attrs):
    return kit.node("BatchNormalization", [x, "scale", "beta", "mean", "var"], [y], **attrs)


def conv_bn_model(kit, *, bias: bool, group: int = 1):
    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((4, 4 // group, 3, 3)).astype(np.float32), **bn_params(4)}
    conv_in = ["x", "w"]
    if bias:
        inits["b"] = rng.standard_normal(4).astype(np.float32)
        conv_in.append("b")
    return kit.model(
        [kit.node("Conv", conv_in, ["c"], group=group, pads=[1, 1, 1, 1], name="conv"),
         bn_node(kit, "c", "y", epsilon=1e-3)],
        inputs={"x": (F32, [2, 4, 6, 6])}, outputs={"y": F32}, initializers=inits)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("group", [1, 2])
def test_bn_folds_into_conv(kit, bias, group):
    model = conv_bn_model(kit, bias=bias, group=group)
    after = FoldBatchNorm()(kit.graph(model))
    assert kit.op_types(after) == ["Conv"]
    conv = after.nodes[0]
    assert conv.outputs == ["y"] and conv.name == "conv" and conv.attrs["group"] == group
    assert len(conv.inputs) == 3 and after.const(conv.inputs[2]).shape == (4,)
    assert "c" not in after.values
    kit.assert_matches_ort(after, model, **TOL)


def gemm_bn_model(kit, *, trans_b: int, bias: str | None, alpha=1.0, beta=1.0):
    rng = np.random.default_rng(0)
    b_shape = (5, 3) if trans_b else (3, 5)
    inits = {"B": rng.standard_normal(b_shape).astype(np.float32), **bn_params(5)}
    gemm_in = ["a", "B"]
    if bias is not None:
        shape = {"1d": (5,), "row": (1, 5), "full": (4, 5), "scalar": ()}[bias]
        inits["C"] = rng.standard_normal(shape).astype(np.float32)
        gemm_in.append("C")
    return kit.model(
        [kit.node("Gemm", gemm_in, ["g"], transB=trans_b, alpha=alpha, beta=beta),
         bn_node(kit, "g", "y")],
        inputs={"a": (F32, [4, 3])}, outputs={"y": F32}, initializers=inits)


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("bias", ["1d", None, "row", "full", "scalar"])
def test_bn_folds_into_gemm(kit, trans_b, bias):
    model = gemm_bn_model(kit, trans_b=trans_b, bias=bias, alpha=0.7, beta=1.5)
    after = FoldBatchNorm()(kit.graph(model))
    assert kit.op_types(after) == ["Gemm"]
    gemm = after.nodes[0]
    assert gemm.outputs == ["y"] and gemm.attrs["beta"] == 1.0 and gemm.attrs["transB"] == trans_b
    kit.assert_matches_ort(after, model, **TOL)


def test_rejected_when_conv_output_has_two_consumers(kit, pass_log):
    rng = np.random.default_rng(0)
    model = kit.model(
        [kit.node("Conv", ["x", "w"], ["c"]), bn_node(kit, "c", "y"),
         kit.node("Relu", ["c"], ["z"])],
        inputs={"x": (F32, [1, 2, 4, 4])}, outputs={"y": F32, "z": F32},
        initializers={"w": rng.standard_normal((3, 2, 1, 1)).astype(np.float32), **bn_params(3)})
    after = FoldBatchNorm()(kit.graph(model))
    assert kit.op_types(after) == ["Conv", "BatchNormalization", "Relu"]
    assert "conv output has 2 consumers" in pass_log.text
    kit.assert_matches_ort(after, model, **TOL)


def test_rejected_when_weights_not_constant(kit, pass_log):
    model = kit.model(
        [kit.node("Conv", ["x", "w"], ["c"]), bn_node(kit, "c", "y")],
        inputs={"x": (F32, [1, 2, 4, 4]), "w": (F32, [3, 2, 1, 1])}, outputs={"y": F32},
        initializers=bn_params(3))
    after = FoldBatchNorm()(kit.graph(model))
    assert kit.op_types(after) == ["Conv", "BatchNormalization"]
    assert "weights not constant" in pass_log.text


def test_rejected_when_bn_params_not_constant(kit, pass_log):
    params = bn_params(3)
    model = kit.model(
        [kit.node("Conv", ["x", "w"], ["c"]), bn_node(kit, "c", "y")],
        inputs={"x": (F32, [1, 2, 4, 4]), "mean": (F32, [3])}, outputs={"y": F32},
        initializers={"w": np.ones((3, 2, 1, 1), np.float32),
                      **{k: v for k, v in params.items() if k != "mean"}})
    after = FoldBatchNorm()(kit.graph(model))
    assert kit.op_types(after) == ["Conv", "BatchNormalization"]
    assert "BN parameters not constant" in pass_log.text


def test_shared_weights_are_not_overwritten(kit):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2, 1, 1)).astype(np.float32)
    model = kit.model(
        [kit.node("Conv", ["x", "w"], ["c"]), bn_node(kit, "c", "y"),
         kit.node("Conv", ["x", "w"], ["z"])],
        inputs={"x": (F32, [1, 2, 4, 4])}, outputs={"y": F32, "z": F32},
        initializers={"w": w, **bn_params(3)})
    after = FoldBatchNorm()(kit.graph(model))
    assert kit.op_types(after) == ["Conv", "Conv"]
    np.testing.assert_array_equal(after.const("w"), w)
    kit.assert_matches_ort(after, model, **TOL)
