import numpy as np
import pytest
from onnx import TensorProto

from dlgen.ir.evaluate import FLOAT32_MAX
from dlgen.passes import FuseActivation

F32 = TensorProto.FLOAT

# activation name -> (node attributes, extra constant inputs, expected activation_params)
ACTIVATIONS = {
    "Relu": ({}, {}, []),
    "LeakyRelu": ({"alpha": 0.2}, {}, [pytest.approx(0.2)]),
    "Sigmoid": ({}, {}, []),
    "Tanh": ({}, {}, []),
    "Clip": ({}, {"lo": np.array(-0.5, np.float32), "hi": np.array(0.75, np.float32)},
             [-0.5, 0.75]),
    "HardSigmoid": ({"alpha": 0.3, "beta": 0.4}, {}, [pytest.approx(0.3), pytest.approx(0.4)]),
    "HardSwish": ({}, {}, []),
}


def base_nodes(kit, op: str) -> tuple[list, dict, dict]:
    """(nodes writing 'h', graph inputs, initializers) for a Conv, Gemm or MatMul base."""
    rng = np.random.default_rng(0)
    if op == "Conv":
        return ([kit.node("Conv", ["x", "w", "b"], ["h"], pads=[1, 1, 1, 1], name="base")],
                {"x": (F32, [1, 2, 5, 5])},
                {"w": rng.standard_normal((3, 2, 3, 3)).astype(np.float32),
                 "b": rng.standard_normal(3).astype(np.float32)})
    if op == "Gemm":
        return ([kit.node("Gemm", ["x", "w", "b"], ["h"], transB=1, name="base")],
                {"x": (F32, [4, 6])},
                {"w": rng.standard_normal((3, 6)).astype(np.float32),
                 "b": rng.standard_normal(3).astype(np.float32)})
    return ([kit.node("MatMul", ["x", "w"], ["h"], name="base")],
            {"x": (F32, [2, 4, 6])}, {"w": rng.standard_normal((6, 3)).astype(np.float32)})


def fused_model(kit, base: str, act: str, act_inputs=None, opset=17, **attrs):
    nodes, inputs, inits = base_nodes(kit, base)
    extra = ACTIVATIONS[act][1] if act_inputs is None else act_inputs
    inits.update({k: v for k, v in extra.items() if v is not None})
    act_in = ["h"] + [k if v is not None else "" for k, v in extra.items()]
    act_attrs = ACTIVATIONS[act][0] if not attrs else attrs
    nodes.append(kit.node(act, act_in, ["y"], **act_attrs))
    return kit.model(nodes, inputs=inputs, outputs={"y": F32}, initializers=inits, opset=opset)


@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("base", ["Conv", "Gemm", "MatMul"])
def test_activation_fuses_into_base(kit, base, act):
    model = fused_model(kit, base, act)
    after = FuseActivation()(kit.graph(model))
    assert [(n.domain, n.op_type) for n in after.nodes] == [("dlgen", f"Fused{base}")]
    fused = after.nodes[0]
    assert fused.name == "base" and fused.outputs == ["y"] and fused.inputs[0] == "x"
    assert fused.attrs["activation"] == act
    assert fused.attrs["activation_params"] == ACTIVATIONS[act][2]
    assert "h" not in after.values and after.opsets["dlgen"] == 1
    if base == "Gemm":
        assert fused.attrs["transB"] == 1
    kit.assert_matches_ort(after, model)


def test_clip_with_absent_max(kit):
    model = fused_model(kit, "Conv", "Clip", {"lo": np.array(0.1, np.float32), "hi": None})
    after = FuseActivation()(kit.graph(model))
    assert after.nodes[0].attrs["activation_params"] == [pytest.approx(0.1), FLOAT32_MAX]
    kit.assert_matches_ort(after, model)


def test_clip_with_absent_min(kit):
    model = fused_model(kit, "Gemm", "Clip", {"lo": None, "hi": np.array(0.6, np.float32)})
    after = FuseActivation()(kit.graph(model))
    assert after.nodes[0].attrs["activation_params"] == [-FLOAT32_MAX, pytest.approx(0.6)]
    kit.assert_matches_ort(after, model)


def test_clip_with_attributes_before_opset_11(kit):
    model = fused_model(kit, "Conv", "Clip", {}, opset=10, min=0.0, max=6.0)
    after = FuseActivation()(kit.graph(model))
    assert after.nodes[0].attrs["activation_params"] == [0.0, 6.0]
    kit.assert_matches_ort(after, model)


def test_clip_with_runtime_bound_is_not_fused(kit, pass_log):
    nodes, inputs, inits = base_nodes(kit, "Conv")
    nodes.append(kit.node("Clip", ["h", "lo"], ["y"]))
    model = kit.model(nodes, inputs={**inputs, "lo": (F32, [])}, outputs={"y": F32},
                      initializers=inits)
    after = FuseActivation()(kit.graph(model))
    assert kit.op_types(after) == ["Conv", "Clip"]
    assert "Clip min is not a constant" in pass_log.text


def test_not_fused_when_base_output_has_two_consumers(kit, pass_log):
    nodes, inputs, inits = base_nodes(kit, "Conv")
    nodes += [kit.node("Relu", ["h"], ["y"]), kit.node("Neg", ["h"], ["z"])]
    model = kit.model(nodes, inputs=inputs, outputs={"y": F32, "z": F32}, initializers=inits)
    after = FuseActivation()(kit.graph(model))
    assert kit.op_types(after) == ["Conv", "Relu", "Neg"]
    assert "output has 2 consumers" in pass_log.text
    kit.assert_matches_ort(after, model)


def test_not_fused_when_base_output_is_graph_output(kit, pass_log):
    nodes, inputs, inits = base_nodes(kit, "Gemm")
    nodes.append(kit.node("Relu", ["h"], ["y"]))
    model = kit.model(nodes, inputs=inputs, outputs={"h": F32, "y": F32}, initializers=inits)
    after = FuseActivation()(kit.graph(model))
    assert kit.op_types(after) == ["Gemm", "Relu"]
    assert "graph output" in pass_log.text


def test_consecutive_layers_fuse_independently(kit):
    rng = np.random.default_rng(0)
    model = kit.model(
        [kit.node("Gemm", ["x", "w1"], ["h1"]), kit.node("Relu", ["h1"], ["a1"]),
         kit.node("Gemm", ["a1", "w2"], ["h2"]), kit.node("Tanh", ["h2"], ["y"])],
        inputs={"x": (F32, [2, 4])}, outputs={"y": F32},
        initializers={"w1": rng.standard_normal((4, 4)).astype(np.float32),
                      "w2": rng.standard_normal((4, 3)).astype(np.float32)})
    after = FuseActivation()(kit.graph(model))
    assert kit.op_types(after) == ["FusedGemm", "FusedGemm"]
    assert [n.attrs["activation"] for n in after.nodes] == ["Relu", "Tanh"]
    kit.assert_matches_ort(after, model)
