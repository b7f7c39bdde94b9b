"""LayerNormalization, RMSNormalization, GroupNormalization, InstanceNormalization, LRN,
LpNormalization and MeanVarianceNormalization against ONNX Runtime."""
import numpy as np
import onnx
import pytest
from onnx import helper

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import assert_close, check_op, dlgen_outputs, make_model, ort_outputs


def _x(rng, shape):
    return (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize("with_bias", [True, False])
def test_layer_norm(axis, outputs, with_bias, rng):
    x = _x(rng, (2, 3, 4, 5))
    norm_shape = x.shape[axis % 4:]
    inputs = {"x": x, "w": _x(rng, norm_shape)}
    if with_bias:
        inputs["b"] = _x(rng, norm_shape)
    check_op("LayerNormalization", inputs, attrs={"axis": axis, "epsilon": 1e-3},
             outputs=outputs, opset=17)


def test_layer_norm_constant_weights_and_skipped_mean(rng):
    x = _x(rng, (6, 8))
    model = make_model("LayerNormalization", {"x": x},
                       consts={"w": _x(rng, (8,)), "b": _x(rng, (8,))},
                       outputs=["y", "", "inv_std"], opset=17)
    assert_close(dlgen_outputs(model, {"x": x}), ort_outputs(model, {"x": x}))


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("epsilon", [1e-5, 0.1])
def test_rms_norm(axis, epsilon, rng):
    x = _x(rng, (2, 3, 5))
    check_op("RMSNormalization", {"x": x, "w": _x(rng, x.shape[axis % 3:])},
             attrs={"axis": axis, "epsilon": epsilon}, opset=23)


@pytest.mark.parametrize("groups", [1, 2, 4])
@pytest.mark.parametrize("shape", [(2, 4, 3, 3), (3, 4, 5)], ids=str)
def test_group_norm(groups, shape, rng):
    # Shape inference leaves the output of this function op untyped: type it here.
    inputs = {"x": _x(rng, shape), "s": _x(rng, (4,)), "b": _x(rng, (4,))}
    model = make_model("GroupNormalization", inputs, attrs={"num_groups": groups,
                                                            "epsilon": 1e-3}, opset=21)
    model.graph.output[0].CopyFrom(
        helper.make_tensor_value_info("y0", onnx.TensorProto.FLOAT, shape))
    assert_close(dlgen_outputs(model, inputs), ort_outputs(model, inputs))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 7), (3, 2, 2, 2, 2)], ids=str)
def test_instance_norm(shape, rng):
    x = _x(rng, shape)
    c = shape[1]
    check_op("InstanceNormalization", {"x": x, "s": _x(rng, (c,)), "b": _x(rng, (c,))},
             attrs={"epsilon": 0.01}, opset=13)


@pytest.mark.parametrize("size", [1, 3, 5])
@pytest.mark.parametrize("shape", [(2, 6, 3, 3), (1, 4, 2, 5)], ids=str)
def test_lrn(size, shape, rng):
    # ONNX Runtime takes odd sizes and 4-D inputs only.
    check_op("LRN", {"x": _x(rng, shape)},
             attrs={"size": size, "alpha": 0.01, "beta": 0.6, "bias": 1.5}, opset=13)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("p", [1, 2])
def test_lp_norm(axis, p, rng):
    x = _x(rng, (3, 4, 5))
    x[1, :, 2] = 0  # a zero column along axis 1
    check_op("LpNormalization", {"x": x}, attrs={"axis": axis, "p": p}, opset=13)


@pytest.mark.parametrize("axes", [[0, 2, 3], [1], [2, 3], [0, 1, 2, 3]], ids=str)
def test_mean_variance_norm(axes, rng):
    # (onnx's shape inference cannot expand the function without an explicit axes.)
    x = _x(rng, (2, 3, 4, 5))
    check_op("MeanVarianceNormalization", {"x": x}, attrs={"axes": axes}, opset=13)


def test_norm_refusals(rng):
    x = _x(rng, (2, 4, 3)).astype(np.float64)
    model = make_model("LpNormalization", {"x": x}, opset=13)
    with pytest.raises(Unsupported, match="float32"):
        dlgen_outputs(model, {"x": x})
    x = _x(rng, (2, 4, 3))
    inputs = {"x": x, "w": _x(rng, (1,))}  # scale broadcast from one element
    model = make_model("LayerNormalization", inputs, opset=17)
    with pytest.raises(Unsupported, match="broadcast"):
        dlgen_outputs(model, inputs)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_norm_family_compiles_strict(cc, tmp_path, rng):
    v = helper.make_tensor_value_info
    nodes = [helper.make_node("LayerNormalization", ["x", "w", "b"], ["l", "m", "r"], axis=2),
             helper.make_node("RMSNormalization", ["l", "w"], ["q"], axis=2),
             helper.make_node("GroupNormalization", ["q", "c", "c"], ["g"], num_groups=2),
             helper.make_node("InstanceNormalization", ["g", "c", "c"], ["i"]),
             helper.make_node("LRN", ["i"], ["n"], size=3),
             helper.make_node("LpNormalization", ["n"], ["p"], axis=1),
             helper.make_node("MeanVarianceNormalization", ["p"], ["y"], axes=[0, 2])]
    graph = helper.make_graph(
        nodes, "strict",
        [v("x", onnx.TensorProto.FLOAT, (2, 4, 6)), v("w", onnx.TensorProto.FLOAT, (6,)),
         v("b", onnx.TensorProto.FLOAT, (6,)), v("c", onnx.TensorProto.FLOAT, (4,))],
        [v("y", onnx.TensorProto.FLOAT, (2, 4, 6)), v("m", onnx.TensorProto.FLOAT, (2, 4, 1)),
         v("r", onnx.TensorProto.FLOAT, (2, 4, 1))],
        value_info=[v("g", onnx.TensorProto.FLOAT, (2, 4, 6))])
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)], ir_version=10))
    art = dlgen.compile(model, "c", tmp_path / "out", name="norms")
    check_compiles(art.path, cc=cc)
