"""Resampling (Resize, Upsample, GridSample) against ONNX Runtime."""
import numpy as np
import pytest
from onnx import helper

import dlgen
from dlgen.errors import ShapeError, Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import check_op, make_model

F32 = np.float32


def _x(rng, shape):
    return rng.standard_normal(shape).astype(F32)


def _scales(*s):
    return np.array(s, F32)


def _sizes(*s):
    return np.array(s, np.int64)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("ctm", ["half_pixel", "pytorch_half_pixel", "align_corners",
                                 "asymmetric", "half_pixel_symmetric"])
@pytest.mark.parametrize("scales", [(1, 1, 2, 3), (1, 1, 0.6, 0.8), (1, 2, 1.5, 1)])
def test_resize_scales(mode, ctm, scales, rng):
    if ctm == "align_corners" and scales != (1, 1, 2, 3):
        # Where scale * in is not a whole number, ONNX Runtime divides by the rounded output
        # length and the ONNX spec (reference and conformance data, which dlgen follows) by
        # scale * in - 1; they agree on whole numbers only.
        pytest.skip("ONNX Runtime and the ONNX reference differ here")
    check_op("Resize", {"x": _x(rng, (2, 3, 5, 4))},
             consts={"scales": _scales(*scales)}, input_order=["x", "", "scales"],
             attrs={"mode": mode, "coordinate_transformation_mode": ctm}, opset=19,
             atol=1e-4)


@pytest.mark.parametrize("nearest_mode", ["round_prefer_floor", "round_prefer_ceil",
                                          "floor", "ceil"])
@pytest.mark.parametrize("sizes", [(1, 2, 9, 7), (1, 2, 3, 2), (1, 2, 1, 1)])
def test_resize_sizes_nearest(nearest_mode, sizes, rng):
    check_op("Resize", {"x": _x(rng, (1, 2, 4, 5))}, consts={"sizes": _sizes(*sizes)},
             input_order=["x", "", "", "sizes"],
             attrs={"mode": "nearest", "nearest_mode": nearest_mode}, opset=19)


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("antialias", [0, 1])
@pytest.mark.parametrize("sizes", [(2, 3, 3, 2), (2, 3, 11, 6)])
def test_resize_sizes_antialias(mode, antialias, sizes, rng):
    check_op("Resize", {"x": _x(rng, (2, 3, 7, 5))}, consts={"sizes": _sizes(*sizes)},
             input_order=["x", "", "", "sizes"],
             attrs={"mode": mode, "antialias": antialias}, opset=19, atol=1e-4)


@pytest.mark.parametrize("a,exclude", [(-0.5, 1), (-0.75, 1), (-0.5, 0)])
def test_resize_cubic_coeff_exclude_outside(a, exclude, rng):
    check_op("Resize", {"x": _x(rng, (1, 1, 6, 6))}, consts={"scales": _scales(1, 1, 1.7, 0.7)},
             input_order=["x", "", "scales"],
             attrs={"mode": "cubic", "cubic_coeff_a": a, "exclude_outside": exclude},
             opset=19, atol=1e-4)


@pytest.mark.parametrize("policy", ["not_larger", "not_smaller"])
@pytest.mark.parametrize("axes", [[2, 3], [3, 2]])
def test_resize_axes_keep_aspect_ratio(policy, axes, rng):
    check_op("Resize", {"x": _x(rng, (1, 2, 4, 6))}, consts={"sizes": _sizes(7, 5)},
             input_order=["x", "", "", "sizes"],
             attrs={"mode": "linear", "axes": axes, "keep_aspect_ratio_policy": policy},
             opset=19, atol=1e-4)


@pytest.mark.parametrize("extrapolation", [0.0, 10.0])
def test_resize_tf_crop_and_resize(extrapolation, rng):
    roi = np.array([0, 0, 0.4, -0.2, 1, 1, 1.3, 0.8], F32)
    check_op("Resize", {"x": _x(rng, (1, 2, 5, 5))},
             consts={"roi": roi, "sizes": _sizes(1, 2, 4, 6)},
             input_order=["x", "roi", "", "sizes"],
             attrs={"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
                    "extrapolation_value": extrapolation}, opset=19, atol=1e-4)


def test_upsample_nearest_and_linear(rng):
    x = _x(rng, (1, 2, 3, 4))
    check_op("Upsample", {"x": x}, consts={"scales": _scales(1, 1, 2, 3)},
             attrs={"mode": "nearest"}, opset=9)
    check_op("Upsample", {"x": x}, consts={"scales": _scales(1, 1, 2, 2)},
             attrs={"mode": "linear"}, opset=9, atol=1e-4)
    check_op("Upsample", {"x": x}, attrs={"mode": "nearest", "scales": [1.0, 1.0, 3.0, 2.0]},
             opset=7)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32])
def test_resize_nearest_any_dtype(dtype, rng):
    x = rng.integers(0, 100, (1, 2, 3, 4)).astype(dtype)
    check_op("Resize", {"x": x}, consts={"scales": _scales(1, 1, 2.5, 0.5)},
             input_order=["x", "", "scales"], attrs={"mode": "nearest"}, opset=19)
    roi = np.array([0.2, 0.1, 1.2, 0.9], F32)
    check_op("Resize", {"x": x}, consts={"roi": roi, "sizes": _sizes(5, 3)},
             input_order=["x", "roi", "", "sizes"],
             attrs={"mode": "nearest", "axes": [2, 3], "extrapolation_value": 7.0,
                    "coordinate_transformation_mode": "tf_crop_and_resize"}, opset=19)


def test_resize_refuses_runtime_scales_and_int_data(rng, tmp_path):
    x = _x(rng, (1, 1, 2, 2))
    model = make_model("Resize", {"x": x, "scales": _scales(1, 1, 2, 2)},
                       input_order=["x", "", "scales"], opset=19)
    with pytest.raises((Unsupported, ShapeError)):  # the output shape is unknown
        dlgen.compile(model, "c", tmp_path / "a")
    xi = np.arange(4, dtype=np.int32).reshape(1, 1, 2, 2)
    model = make_model("Resize", {"x": xi}, consts={"scales": _scales(1, 1, 2, 2)},
                       input_order=["x", "", "scales"], attrs={"mode": "linear"}, opset=19)
    with pytest.raises(Unsupported, match="float32"):
        dlgen.compile(model, "c", tmp_path / "b")


def _grid(rng, shape):
    # Some positions fall outside [-1, 1] so every padding mode matters.
    return rng.uniform(-1.3, 1.3, shape).astype(F32)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample_2d(mode, padding, align, rng):
    check_op("GridSample", {"x": _x(rng, (2, 3, 5, 4)), "grid": _grid(rng, (2, 6, 7, 2))},
             attrs={"mode": mode, "padding_mode": padding, "align_corners": align},
             opset=20, atol=1e-4)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
def test_grid_sample_3d(mode, padding, rng):
    check_op("GridSample", {"x": _x(rng, (1, 2, 3, 4, 5)), "grid": _grid(rng, (1, 2, 3, 4, 3))},
             attrs={"mode": mode, "padding_mode": padding}, opset=20, atol=1e-4)


@pytest.mark.parametrize("align", [0, 1])
@pytest.mark.parametrize("size", [(2, 3, 5, 6), (1, 1, 1, 4), (2, 3, 4, 5, 6)])
def test_affine_grid(align, size, rng):
    if align and 1 in size[2:]:
        pytest.skip("a size-1 dim with align_corners: ONNX Runtime and the reference differ")
    spatial = len(size) - 2
    theta = _x(rng, (size[0], spatial, spatial + 1))
    check_op("AffineGrid", {"theta": theta}, consts={"size": _sizes(*size)},
             attrs={"align_corners": align}, opset=20, atol=1e-5)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_resize_family_compiles_strict(cc, tmp_path, rng):
    x = _x(rng, (1, 2, 4, 4))
    nodes = [helper.make_node("Resize", ["x", "", "s"], ["r"], mode="cubic"),
             helper.make_node("AffineGrid", ["theta", "size"], ["g"]),
             helper.make_node("GridSample", ["r", "g"], ["y"], mode="linear")]
    graph = helper.make_graph(
        nodes, "t",
        [helper.make_tensor_value_info("x", 1, x.shape),
         helper.make_tensor_value_info("theta", 1, (1, 2, 3))],
        [helper.make_tensor_value_info("y", 1, (1, 2, 3, 3))],
        [helper.make_tensor("s", 1, [4], [1, 1, 2, 2]),
         helper.make_tensor("size", 7, [4], [1, 2, 3, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 8
    art = dlgen.compile(model, "c", tmp_path / "out", name="resample")
    check_compiles(art.path, cc=cc)
