"""MaxPool, AveragePool, LpPool, GlobalMaxPool, GlobalAveragePool, MaxUnpool and RoiAlign
against ONNX Runtime."""
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import assert_close, check_op, dlgen_outputs, make_model, ort_outputs


def _randn(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


# (x shape, attrs) shared by MaxPool and AveragePool; 2-D unless the shape says otherwise.
POOL_CASES = {
    "k2_s2": ((2, 3, 8, 6), {"kernel_shape": [2, 2], "strides": [2, 2]}),
    "k3_s1": ((1, 2, 5, 7), {"kernel_shape": [3, 3]}),
    "k3_s2_pads": ((1, 2, 7, 8), {"kernel_shape": [3, 3], "strides": [2, 2],
                                  "pads": [1, 1, 1, 1]}),
    "asymmetric_pads": ((1, 3, 6, 7), {"kernel_shape": [3, 2], "pads": [0, 1, 2, 0]}),
    "rect_kernel_stride": ((2, 2, 9, 10), {"kernel_shape": [2, 4], "strides": [3, 2],
                                           "pads": [1, 0, 0, 3]}),
    "ceil_mode": ((1, 2, 6, 7), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    "ceil_mode_pads": ((1, 2, 7, 6), {"kernel_shape": [3, 2], "strides": [2, 2],
                                      "pads": [1, 1, 1, 1], "ceil_mode": 1}),
    "ceil_mode_partial": ((1, 1, 6, 6), {"kernel_shape": [3, 3], "strides": [4, 4],
                                         "ceil_mode": 1}),
    "same_upper": ((1, 2, 7, 6), {"kernel_shape": [3, 4], "auto_pad": "SAME_UPPER"}),
    "same_lower": ((1, 2, 7, 6), {"kernel_shape": [3, 4], "auto_pad": "SAME_LOWER"}),
    "same_upper_stride2": ((1, 2, 9, 8), {"kernel_shape": [3, 2], "strides": [2, 2],
                                          "auto_pad": "SAME_UPPER"}),
    "same_lower_stride2_ceil": ((1, 2, 9, 8), {"kernel_shape": [3, 3], "strides": [2, 3],
                                               "auto_pad": "SAME_LOWER", "ceil_mode": 1}),
    "valid": ((1, 2, 8, 7), {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "VALID"}),
    "valid_ceil": ((1, 2, 8, 7), {"kernel_shape": [3, 2], "strides": [2, 2],
                                  "auto_pad": "VALID", "ceil_mode": 1}),
    "pool1d": ((2, 3, 11), {"kernel_shape": [3], "strides": [2], "pads": [1, 2]}),
    "pool1d_ceil": ((1, 2, 10), {"kernel_shape": [4], "strides": [3], "ceil_mode": 1}),
    "pool3d": ((1, 2, 5, 6, 4), {"kernel_shape": [2, 3, 2], "strides": [1, 2, 2],
                                 "pads": [1, 1, 0, 0, 1, 1]}),
}


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_maxpool(case, rng):
    shape, attrs = POOL_CASES[case]
    check_op("MaxPool", {"x": _randn(rng, shape)}, attrs=attrs, opset=12)


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_averagepool(case, count_include_pad, rng):
    shape, attrs = POOL_CASES[case]
    check_op("AveragePool", {"x": _randn(rng, shape)},
             attrs={**attrs, "count_include_pad": count_include_pad}, opset=11)


DILATED_CASES = {
    "dilation2": ((1, 2, 9, 8), {"kernel_shape": [2, 3], "dilations": [2, 2],
                                 "pads": [1, 1, 1, 1]}),
    "dilation_stride_ceil": ((1, 2, 10, 9), {"kernel_shape": [2, 2], "dilations": [2, 3],
                                             "strides": [2, 2], "pads": [1, 0, 1, 1],
                                             "ceil_mode": 1}),
    "dilation1d": ((1, 3, 12), {"kernel_shape": [3], "dilations": [3], "pads": [2, 1]}),
}


@pytest.mark.parametrize("case", sorted(DILATED_CASES))
def test_maxpool_dilations(case, rng):
    shape, attrs = DILATED_CASES[case]
    check_op("MaxPool", {"x": _randn(rng, shape)}, attrs=attrs, opset=12)


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("case", sorted(DILATED_CASES))
def test_averagepool_dilations_opset19(case, count_include_pad, rng):
    shape, attrs = DILATED_CASES[case]
    check_op("AveragePool", {"x": _randn(rng, shape)},
             attrs={**attrs, "count_include_pad": count_include_pad}, opset=19)


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("case", ["k3_s2_pads", "asymmetric_pads", "ceil_mode", "same_lower",
                                  "pool1d", "pool3d"])
def test_maxpool_indices(case, storage_order, rng):
    shape, attrs = POOL_CASES[case]
    got = check_op("MaxPool", {"x": _randn(rng, shape)}, outputs=2, opset=12,
                   attrs={**attrs, "storage_order": storage_order})
    assert got["y1"].dtype == np.int64


def test_maxpool_indices_dilated(rng):
    shape, attrs = DILATED_CASES["dilation2"]
    check_op("MaxPool", {"x": _randn(rng, shape)}, attrs=attrs, outputs=2, opset=12)


def test_maxpool_ties_pick_the_first(rng):
    x = np.round(_randn(rng, (1, 2, 6, 6))).astype(np.float32)  # many equal values
    check_op("MaxPool", {"x": x}, attrs={"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
             outputs=2, opset=12)


def test_maxpool_padding_never_wins():
    x = -np.arange(1, 33, dtype=np.float32).reshape(1, 2, 4, 4)  # all negative
    got = check_op("MaxPool", {"x": x}, opset=12,
                   attrs={"kernel_shape": [3, 3], "pads": [2, 2, 2, 2], "strides": [2, 2]})
    assert (got["y0"] < 0).all()


def _random_pool_case(rng):
    spatial = int(rng.integers(1, 4))
    kernel = [int(k) for k in rng.integers(1, 4, spatial)]
    attrs = {"kernel_shape": kernel, "strides": [int(s) for s in rng.integers(1, 4, spatial)],
             "ceil_mode": int(rng.integers(0, 2))}
    mode = str(rng.choice(["NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"]))
    if mode == "NOTSET":
        attrs["pads"] = [int(rng.integers(0, k)) for k in kernel + kernel]  # pads < kernel
    else:
        attrs["auto_pad"] = mode
    sizes = [k + int(rng.integers(0, 7)) for k in kernel]
    return (int(rng.integers(1, 3)), int(rng.integers(1, 4)), *sizes), attrs


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("seed", range(10))
def test_pool_random(op, seed):
    rng = np.random.default_rng(2000 + seed)
    shape, attrs = _random_pool_case(rng)
    if op == "AveragePool":
        attrs["count_include_pad"] = int(rng.integers(0, 2))
    x = _randn(rng, shape)
    model = make_model(op, {"x": x}, attrs=attrs, opset=12 if op == "MaxPool" else 11)
    want = ort_outputs(model, {"x": x})
    inferred = tuple(d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim)
    if want["y0"].shape != inferred:
        # ONNX shape inference and ONNX Runtime disagree (ceil_mode's last window): refused.
        with pytest.raises(Unsupported, match="differs"):
            dlgen_outputs(model, {"x": x})
        return
    assert_close(dlgen_outputs(model, {"x": x}), want)


def test_ceil_mode_shape_disagreement_refused(rng):
    # ONNX shape inference gives 5 outputs; ONNX Runtime drops the last window (it would start
    # in the trailing padding) and gives 4: refuse rather than guess.
    x = _randn(rng, (1, 1, 6))
    model = make_model("MaxPool", {"x": x}, opset=12,
                       attrs={"kernel_shape": [3], "strides": [2], "pads": [2, 2],
                              "ceil_mode": 1})
    with pytest.raises(Unsupported, match="ONNX Runtime computes"):
        dlgen_outputs(model, {"x": x})


@pytest.mark.parametrize("op", ["GlobalMaxPool", "GlobalAveragePool"])
@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 3, 5, 4), (1, 2, 3, 4, 5), (1, 4, 1, 1)])
def test_global_pool(op, shape, rng):
    check_op(op, {"x": _randn(rng, shape)})


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_pool_family_compiles_strict(cc, tmp_path, rng):
    x = _randn(rng, (1, 3, 8, 8))
    nodes = [helper.make_node("MaxPool", ["x"], ["m", "i"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                              strides=[2, 2]),
             helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[2, 2], ceil_mode=1,
                              count_include_pad=1),
             helper.make_node("GlobalMaxPool", ["a"], ["g"]),
             helper.make_node("GlobalAveragePool", ["m"], ["h"]),
             helper.make_node("LpPool", ["x"], ["l"], kernel_shape=[2, 2], p=3),
             helper.make_node("MaxPool", ["x"], ["m2", "i2"], kernel_shape=[2, 2],
                              strides=[2, 2]),
             helper.make_node("MaxUnpool", ["m2", "i2"], ["u"], kernel_shape=[2, 2],
                              strides=[2, 2])]
    outs = [helper.make_tensor_value_info(n, t, None) for n, t in
            [("i", onnx.TensorProto.INT64), ("g", onnx.TensorProto.FLOAT),
             ("h", onnx.TensorProto.FLOAT), ("l", onnx.TensorProto.FLOAT),
             ("u", onnx.TensorProto.FLOAT)]]
    graph = helper.make_graph(
        nodes, "strict", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        outs)
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=8))
    art = dlgen.compile(model, "c", tmp_path / "out", name="pools")
    check_compiles(art.path, cc=cc)
    assert_close(dlgen_outputs(model, {"x": x}), ort_outputs(model, {"x": x}))


LP_CASES = {
    "k2": ((2, 3, 6, 7), {"kernel_shape": [2, 2]}),
    "k3_s2_pads": ((1, 2, 7, 8), {"kernel_shape": [3, 3], "strides": [2, 2],
                                  "pads": [1, 2, 1, 0]}),
    "same_upper": ((1, 2, 7, 6), {"kernel_shape": [3, 2], "auto_pad": "SAME_UPPER"}),
    "same_lower": ((1, 2, 7, 6), {"kernel_shape": [2, 3], "auto_pad": "SAME_LOWER"}),
    "dilations": ((1, 1, 6, 6), {"kernel_shape": [2, 2], "dilations": [2, 2]}),
    "ceil_mode": ((1, 2, 7, 7), {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
    "pool1d": ((2, 3, 11), {"kernel_shape": [3], "strides": [2]}),
    "pool3d": ((1, 2, 4, 5, 4), {"kernel_shape": [2, 2, 2]}),
}


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("case", sorted(LP_CASES))
def test_lppool(case, p, rng):
    shape, attrs = LP_CASES[case]
    check_op("LpPool", {"x": _randn(rng, shape)}, attrs={**attrs, "p": p}, opset=18,
             rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape,attrs,output_shape", [
    ((1, 2, 6, 6), {"kernel_shape": [2, 2], "strides": [2, 2]}, None),
    ((2, 3, 7, 5), {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 1, 0]}, None),
    ((1, 2, 9), {"kernel_shape": [3], "strides": [3]}, None),
    ((1, 1, 5, 5), {"kernel_shape": [2, 2], "strides": [2, 2]}, [1, 1, 5, 5]),
], ids=["k2", "pads", "1d", "output_shape"])
def test_maxpool_then_maxunpool(shape, attrs, output_shape, rng):
    """MaxUnpool scatters MaxPool's values back to their flat positions (ONNX Runtime's
    semantics: with output_shape the indices address the output directly)."""
    x = _randn(rng, shape)
    inputs = ["m", "i"] + (["shape"] if output_shape else [])
    inits = [numpy_helper.from_array(np.array(output_shape, np.int64), "shape")] \
        if output_shape else []
    nodes = [helper.make_node("MaxPool", ["x"], ["m", "i"], **attrs),
             helper.make_node("MaxUnpool", inputs, ["y"], **attrs)]
    graph = helper.make_graph(
        nodes, "unpool", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, output_shape)], inits)
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=8))
    assert_close(dlgen_outputs(model, {"x": x}), ort_outputs(model, {"x": x}))


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("ctm", ["half_pixel", "output_half_pixel"])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
@pytest.mark.parametrize("spatial_scale", [1.0, 0.5])
def test_roi_align(mode, ctm, sampling_ratio, spatial_scale, rng):
    x = _randn(rng, (2, 3, 10, 9))
    rois = np.array([[0, 0, 8, 8], [1.5, 2.2, 7.1, 9.4], [-2, -1, 3, 4], [5, 5, 30, 30],
                     [4, 4, 4.2, 4.1]], np.float32)
    check_op("RoiAlign", {"x": x, "rois": rois, "batch": np.array([0, 1, 1, 0, 1], np.int64)},
             attrs={"mode": mode, "coordinate_transformation_mode": ctm,
                    "sampling_ratio": sampling_ratio, "spatial_scale": spatial_scale,
                    "output_height": 3, "output_width": 4}, opset=16, atol=1e-4)
