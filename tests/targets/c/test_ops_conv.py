"""Conv, dlgen::FusedConv and BatchNormalization against ONNX Runtime."""
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import dlgen
from dlgen.compiler import build_graph
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from dlgen.targets.c.ops.conv import output_size, same_pads
from oplib import assert_close, check_op, dlgen_outputs, make_model, ort_outputs

# Every test runs with the fast (portable) and the reference kernels.
pytestmark = pytest.mark.usefixtures("kernels")


def _randn(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


# (x shape, w shape, attrs): 2-D unless the shapes say otherwise.
CONV_CASES = {
    "plain_3x3": ((1, 3, 7, 8), (4, 3, 3, 3), {}),
    "pads_stride2": ((2, 3, 9, 8), (5, 3, 3, 3), {"pads": [1, 1, 1, 1], "strides": [2, 2]}),
    "asymmetric_pads": ((1, 2, 6, 7), (3, 2, 3, 2), {"pads": [0, 2, 1, 0]}),
    "dilation2": ((1, 3, 10, 9), (4, 3, 3, 3), {"dilations": [2, 2], "pads": [2, 1, 2, 1]}),
    "stride_and_dilation": ((1, 2, 11, 12), (3, 2, 3, 2),
                            {"dilations": [2, 3], "strides": [2, 3], "pads": [1, 0, 0, 2]}),
    "group2": ((1, 4, 6, 6), (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}),
    "depthwise": ((2, 5, 8, 7), (5, 1, 3, 3), {"group": 5, "pads": [1, 1, 1, 1]}),
    "depthwise_x2": ((1, 3, 6, 6), (6, 1, 3, 3), {"group": 3, "strides": [2, 2]}),
    "pointwise": ((1, 8, 5, 4), (6, 8, 1, 1), {}),
    "kernel_shape_given": ((1, 2, 6, 6), (3, 2, 2, 3), {"kernel_shape": [2, 3]}),
    "kernel_as_big_as_input": ((1, 2, 4, 5), (3, 2, 4, 5), {}),
    "same_upper": ((1, 2, 7, 6), (3, 2, 3, 4), {"auto_pad": "SAME_UPPER"}),
    "same_lower": ((1, 2, 7, 6), (3, 2, 3, 4), {"auto_pad": "SAME_LOWER"}),
    "same_upper_stride2": ((1, 2, 8, 7), (3, 2, 4, 3), {"auto_pad": "SAME_UPPER",
                                                        "strides": [2, 2]}),
    "same_lower_stride2": ((1, 2, 8, 7), (3, 2, 4, 3), {"auto_pad": "SAME_LOWER",
                                                        "strides": [2, 2]}),
    # kernel smaller than the stride: no SAME pad at all
    "same_upper_1x1_stride5": ((1, 2, 8, 8), (3, 2, 1, 1), {"auto_pad": "SAME_UPPER",
                                                            "strides": [5, 5]}),
    "valid": ((1, 2, 7, 8), (3, 2, 3, 3), {"auto_pad": "VALID", "strides": [2, 2]}),
    "conv1d": ((2, 3, 11), (4, 3, 3), {"pads": [1, 2]}),
    "conv1d_stride_dilation": ((1, 2, 15), (3, 2, 4), {"strides": [2], "dilations": [2]}),
    "conv1d_depthwise_same": ((1, 4, 9), (4, 1, 5), {"group": 4, "auto_pad": "SAME_UPPER"}),
    "conv3d": ((1, 2, 5, 6, 4), (3, 2, 3, 2, 3), {"pads": [1, 0, 1, 1, 1, 0]}),
    "conv3d_stride_group": ((1, 4, 6, 5, 7), (4, 2, 2, 3, 3),
                            {"group": 2, "strides": [2, 1, 2], "dilations": [1, 2, 1]}),
}


@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv(case, bias, rng):
    x_shape, w_shape, attrs = CONV_CASES[case]
    consts = {"w": _randn(rng, w_shape)}
    if bias:
        consts["b"] = _randn(rng, w_shape[:1])
    check_op("Conv", {"x": _randn(rng, x_shape)}, consts=consts, attrs=attrs)


def _random_conv_case(rng):
    spatial = int(rng.integers(1, 3))
    group = int(rng.choice([1, 2, 3]))
    in_ch, out_ch = group * int(rng.integers(1, 4)), group * int(rng.integers(1, 4))
    kernel = [int(k) for k in rng.integers(1, 5, spatial)]
    dilations = [int(d) for d in rng.integers(1, 3, spatial)]
    strides = [int(s) for s in rng.integers(1, 4, spatial)]
    pads = [int(p) for p in rng.integers(0, 3, 2 * spatial)]
    sizes = [(k - 1) * d + 1 + int(rng.integers(0, 9)) for k, d in zip(kernel, dilations)]
    attrs = {"group": group, "strides": strides, "dilations": dilations}
    mode = rng.choice(["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"])
    if mode == "NOTSET":
        attrs["pads"] = pads
    else:
        attrs["auto_pad"] = str(mode)
        if mode.startswith("SAME"):
            attrs["dilations"] = [1] * spatial  # ONNX Runtime refuses dilated SAME convs
    return ((int(rng.integers(1, 3)), in_ch, *sizes), (out_ch, in_ch // group, *kernel), attrs)


@pytest.mark.parametrize("seed", range(12))
def test_conv_random(seed):
    rng = np.random.default_rng(1000 + seed)
    x_shape, w_shape, attrs = _random_conv_case(rng)
    consts = {"w": _randn(rng, w_shape), "b": _randn(rng, w_shape[:1])}
    check_op("Conv", {"x": _randn(rng, x_shape)}, consts=consts, attrs=attrs)


def test_conv_runtime_weights_and_bias(rng):
    inputs = {"x": _randn(rng, (2, 4, 6, 5)), "w": _randn(rng, (6, 2, 3, 3)),
              "b": _randn(rng, (6,))}
    check_op("Conv", inputs, attrs={"group": 2, "pads": [1, 0, 1, 2], "strides": [1, 2]})


def test_conv_omitted_bias_slot(rng):
    check_op("Conv", {"x": _randn(rng, (1, 2, 5, 5))}, consts={"w": _randn(rng, (3, 2, 3, 3))},
             input_order=["x", "w", ""], attrs={"pads": [1, 1, 1, 1]})


def test_conv_opset11(rng):
    check_op("Conv", {"x": _randn(rng, (1, 3, 6, 6))},
             consts={"w": _randn(rng, (2, 3, 3, 3)), "b": _randn(rng, (2,))},
             attrs={"auto_pad": "SAME_LOWER", "strides": [2, 2]}, opset=11)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_conv_same_dilated_matches_onnx_reference(auto_pad, rng):
    # ONNX Runtime refuses SAME with dilations; dlgen follows the spec (dilated kernel extent),
    # checked against onnx's reference evaluator instead.
    x = _randn(rng, (1, 2, 7, 8))
    model = make_model("Conv", {"x": x}, consts={"w": _randn(rng, (3, 2, 3, 2))},
                       attrs={"auto_pad": auto_pad, "dilations": [2, 3], "strides": [1, 2]})
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    assert_close(dlgen_outputs(model, {"x": x}), {"y0": want})


def test_same_pads_and_ceil_sizes():
    assert same_pads(7, 1, 3, "SAME_UPPER") == (1, 1)
    assert same_pads(7, 2, 4, "SAME_UPPER") == (1, 2)
    assert same_pads(7, 2, 4, "SAME_LOWER") == (2, 1)
    assert same_pads(8, 5, 1, "SAME_UPPER") == (0, 0)  # the kernel fits between the strides
    assert output_size(6, 3, 2, 0, 0, ceil_mode=1) == 3
    assert output_size(6, 3, 2, 2, 2, ceil_mode=1) == 4  # a 5th window would start in the pad


# -- fused activations, built by dlgen's passes -------------------------------------------------

def _conv_act_model(rng, act, act_inputs=(), act_attrs=None, act_consts=None):
    x = _randn(rng, (1, 3, 7, 7))
    consts = {"w": _randn(rng, (4, 3, 3, 3)), "b": _randn(rng, (4,)), **(act_consts or {})}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["h"], name="conv", pads=[1, 1, 1, 1],
                              strides=[2, 1]),
             helper.make_node(act, ["h", *act_inputs], ["y"], name="act", **(act_attrs or {}))]
    graph = helper.make_graph(
        nodes, "conv_act", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return onnx.shape_inference.infer_shapes(model), {"x": x}


@pytest.mark.parametrize("act,act_inputs,act_attrs,act_consts", [
    ("Relu", (), {}, {}),
    ("Clip", ("lo", "hi"), {}, {"lo": np.array(-0.3, np.float32), "hi": np.array(0.5, np.float32)}),
    ("Clip", ("", "hi"), {}, {"hi": np.array(0.2, np.float32)}),
    ("LeakyRelu", (), {"alpha": 0.2}, {}),
    ("HardSigmoid", (), {"alpha": 0.3, "beta": 0.4}, {}),
], ids=["relu", "clip", "clip_max_only", "leaky_relu", "hard_sigmoid"])
def test_fused_conv_from_passes(act, act_inputs, act_attrs, act_consts, rng):
    model, feeds = _conv_act_model(rng, act, act_inputs, act_attrs, act_consts)
    nodes = build_graph(model).graph.nodes
    assert [(n.domain, n.op_type) for n in nodes] == [("dlgen", "FusedConv")]
    assert_close(dlgen_outputs(model, feeds), ort_outputs(model, feeds))


def test_conv_batchnorm_relu_folded(rng):
    x = _randn(rng, (2, 3, 6, 6))
    c = 4
    consts = {"w": _randn(rng, (c, 3, 3, 3)), "scale": _randn(rng, (c,)),
              "beta": _randn(rng, (c,)), "mean": _randn(rng, (c,)),
              "var": np.abs(_randn(rng, (c,))) + 0.5}
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["h", "scale", "beta", "mean", "var"],
                              ["n"], epsilon=1e-3),
             helper.make_node("Relu", ["n"], ["y"])]
    graph = helper.make_graph(
        nodes, "conv_bn", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], ir_version=8))
    assert [n.op_type for n in build_graph(model).graph.nodes] == ["FusedConv"]
    assert_close(dlgen_outputs(model, {"x": x}), ort_outputs(model, {"x": x}))


# -- BatchNormalization -------------------------------------------------------------------------

def _bn_params(rng, c):
    return {"scale": _randn(rng, (c,)), "B": _randn(rng, (c,)), "mean": _randn(rng, (c,)),
            "var": np.abs(_randn(rng, (c,))) + 0.1}


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 4, 2)])
@pytest.mark.parametrize("opset", [9, 14, 15])
def test_batchnorm(shape, opset, rng):
    check_op("BatchNormalization", {"x": _randn(rng, shape) * 3},
             consts=_bn_params(rng, shape[1]), attrs={"epsilon": 1e-3, "momentum": 0.8},
             opset=opset)


def test_batchnorm_runtime_params(rng):
    inputs = {"x": _randn(rng, (2, 4, 3, 3)), **_bn_params(rng, 4)}
    check_op("BatchNormalization", inputs)


def test_batchnorm_in_place_after_relu(rng):
    # BN's input is an intermediate that dies at BN: the planner may run it in place.
    x, params = _randn(rng, (2, 3, 4, 4)), _bn_params(rng, 3)
    params["mean"] = _randn(rng, (3,))
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("BatchNormalization", ["r", "scale", "B", "mean", "var"], ["y"])]
    graph = helper.make_graph(
        nodes, "relu_bn", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape),
                           helper.make_tensor_value_info("mean", onnx.TensorProto.FLOAT, (3,))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in params.items() if k != "mean"])
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], ir_version=8))
    feeds = {"x": x, "mean": params["mean"]}
    assert_close(dlgen_outputs(model, feeds), ort_outputs(model, feeds))


def test_batchnorm_spatial_attr_opset7(rng):
    check_op("BatchNormalization", {"x": _randn(rng, (1, 3, 4, 4))}, consts=_bn_params(rng, 3),
             attrs={"spatial": 1}, opset=7)


def _bn_model(rng, outputs, opset, **attrs):
    """A BatchNormalization model whose extra outputs are graph outputs too, shapes declared."""
    x, params = _randn(rng, (2, 3, 4)), _bn_params(rng, 3)
    node = helper.make_node("BatchNormalization", ["x", *params], outputs, **attrs)
    shapes = [x.shape] + [(3,)] * (len(outputs) - 1)
    graph = helper.make_graph(
        [node], "bn", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, s)
         for o, s in zip(outputs, shapes)],
        [numpy_helper.from_array(v, k) for k, v in params.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=8)
    return model, {"x": x}


def test_batchnorm_training_mode_refused(rng):
    model, feeds = _bn_model(rng, ["y", "running_mean", "running_var"], 15, training_mode=1)
    with pytest.raises(Unsupported, match="training_mode"):
        dlgen_outputs(model, feeds)


def test_batchnorm_statistics_output_refused(rng):
    model, feeds = _bn_model(rng, ["y", "mean_out", "var_out", "saved_mean", "saved_var"], 9)
    with pytest.raises(Unsupported, match="only output 0"):
        dlgen_outputs(model, feeds)


# -- strict compile ------------------------------------------------------------------------------

@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_conv_family_compiles_strict(cc, tmp_path, rng):
    x = _randn(rng, (1, 4, 6, 6))
    consts = {"w": _randn(rng, (4, 2, 3, 3)), "b": _randn(rng, (4,)), **_bn_params(rng, 4)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["h"], group=2, pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("BatchNormalization", ["r", "scale", "B", "mean", "var"], ["y"])]
    graph = helper.make_graph(
        nodes, "strict", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], ir_version=8))
    art = dlgen.compile(model, "c", tmp_path / "out", name="convs")
    check_compiles(art.path, cc=cc)


# (x shape, w shape [C_in, C_out / group, k...], attrs)
CONV_TRANSPOSE_CASES = {
    "plain": ((1, 2, 4, 5), (2, 3, 3, 3), {}),
    "stride2_pads": ((2, 3, 4, 4), (3, 2, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    "asymmetric_pads": ((1, 2, 5, 4), (2, 2, 3, 2), {"strides": [3, 2], "pads": [1, 0, 2, 1]}),
    "output_padding": ((1, 1, 3, 3), (1, 2, 3, 3), {"strides": [3, 2],
                                                    "output_padding": [1, 1]}),
    "dilations": ((1, 2, 4, 3), (2, 3, 2, 3), {"dilations": [2, 3], "strides": [1, 2]}),
    "group2": ((2, 4, 3, 3), (4, 3, 3, 3), {"group": 2, "strides": [2, 1]}),
    "depthwise": ((1, 3, 4, 4), (3, 1, 3, 3), {"group": 3, "pads": [1, 1, 1, 1]}),
    "output_shape": ((1, 2, 3, 3), (2, 2, 3, 3), {"strides": [3, 2], "output_shape": [10, 8]}),
    "output_shape_odd_pad": ((1, 2, 3, 3), (2, 2, 3, 3), {"strides": [2, 2],
                                                          "output_shape": [6, 6]}),
    "same_upper": ((1, 2, 3, 4), (2, 2, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    "same_lower": ((1, 2, 3, 4), (2, 2, 3, 3), {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
    "valid": ((1, 2, 3, 4), (2, 2, 2, 3), {"auto_pad": "VALID", "strides": [2, 3]}),
    "conv1d": ((2, 3, 5), (3, 2, 3), {"strides": [2], "pads": [1, 0]}),
    "conv3d": ((1, 2, 3, 4, 3), (2, 2, 2, 3, 2), {"strides": [2, 1, 2],
                                                  "pads": [0, 1, 1, 1, 0, 0]}),
}


@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("case", sorted(CONV_TRANSPOSE_CASES))
def test_conv_transpose(case, bias, rng):
    x_shape, w_shape, attrs = CONV_TRANSPOSE_CASES[case]
    consts = {"w": _randn(rng, w_shape)}
    if bias:
        consts["b"] = _randn(rng, (w_shape[1] * attrs.get("group", 1),))
    check_op("ConvTranspose", {"x": _randn(rng, x_shape)}, consts=consts, attrs=attrs)
