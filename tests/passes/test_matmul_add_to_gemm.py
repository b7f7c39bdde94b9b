import numpy as np
import pytest
from onnx import TensorProto

from dlgen.passes import MatMulAddToGemm
from dlgen.passes.matmul_add_to_gemm import broadcasts_to

F32 = TensorProto.FLOAT


def matmul_add_model(kit, bias_shape, *, bias_first=False, a_shape=(4, 3), extra_use=False):
    rng = np.random.default_rng(0)
    add_in = ["c", "mm"] if bias_first else ["mm", "c"]
    nodes = [kit.node("MatMul", ["a", "B"], ["mm"], name="mm_node"), kit.node("Add", add_in, ["y"])]
    outputs = {"y": F32}
    if extra_use:
        nodes.append(kit.node("Relu", ["mm"], ["z"]))
        outputs["z"] = F32
    return kit.model(
        nodes, inputs={"a": (F32, list(a_shape))}, outputs=outputs,
        initializers={"B": rng.standard_normal((3, 5)).astype(np.float32),
                      "c": rng.standard_normal(bias_shape).astype(np.float32)})


@pytest.mark.parametrize("bias_shape", [(5,), (1, 5), (4, 5), (4, 1), ()])
@pytest.mark.parametrize("bias_first", [False, True])
def test_matmul_add_becomes_gemm(kit, bias_shape, bias_first):
    model = matmul_add_model(kit, bias_shape, bias_first=bias_first)
    after = MatMulAddToGemm()(kit.graph(model))
    assert kit.op_types(after) == ["Gemm"]
    gemm = after.nodes[0]
    assert gemm.inputs == ["a", "B", "c"] and gemm.outputs == ["y"] and gemm.name == "mm_node"
    assert "mm" not in after.values
    kit.assert_matches_ort(after, model)


def test_rejected_for_3d_input(kit, pass_log):
    model = matmul_add_model(kit, (5,), a_shape=(2, 4, 3))
    after = MatMulAddToGemm()(kit.graph(model))
    assert kit.op_types(after) == ["MatMul", "Add"]
    assert "A is 3-D, not 2-D" in pass_log.text


def test_rejected_when_matmul_output_has_other_consumers(kit, pass_log):
    model = matmul_add_model(kit, (5,), extra_use=True)
    after = MatMulAddToGemm()(kit.graph(model))
    assert kit.op_types(after) == ["MatMul", "Add", "Relu"]
    assert "matmul output has 2 consumers" in pass_log.text


def test_rejected_when_bias_not_constant(kit, pass_log):
    model = kit.model(
        [kit.node("MatMul", ["a", "B"], ["mm"]), kit.node("Add", ["mm", "c"], ["y"])],
        inputs={"a": (F32, [4, 3]), "c": (F32, [5])}, outputs={"y": F32},
        initializers={"B": np.ones((3, 5), np.float32)})
    after = MatMulAddToGemm()(kit.graph(model))
    assert kit.op_types(after) == ["MatMul", "Add"]
    assert "bias is not a constant" in pass_log.text


def test_rejected_when_bias_widens_the_output(kit, pass_log):
    model = matmul_add_model(kit, (2, 4, 5))
    after = MatMulAddToGemm()(kit.graph(model))
    assert kit.op_types(after) == ["MatMul", "Add"]
    assert "does not broadcast" in pass_log.text


def test_broadcasts_to():
    assert broadcasts_to((5,), (4, 5)) and broadcasts_to((4, 1), (4, 5))
    assert not broadcasts_to((3,), (4, 5)) and not broadcasts_to((1, 4, 5), (4, 5))
