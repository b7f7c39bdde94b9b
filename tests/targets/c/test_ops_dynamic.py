"""Ops with data-dependent output shapes (bounded buffers + run-time dims) against ONNX Runtime:
NonZero, Unique, Compress with a run-time condition, TopK with a run-time k,
NonMaxSuppression; the --bound option, DLG_ERR_BOUND, the generated API and strict builds."""
from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import dlgen
from dlgen.errors import BadInput, DlgenError, Unsupported
from dlgen.targets.base import TensorSpec
from dlgen.targets.c.build import check_compiles
from oplib import assert_close, check_op, dlgen_outputs, make_model, ort_outputs, random_data


def sparse(rng, shape, dtype=np.float32, density=0.4):
    """Random values with about 1 - density of them zero."""
    x = random_data(rng, shape, dtype) if dtype != np.bool_ else np.ones(shape, bool)
    return np.where(rng.random(shape) < density, x, np.zeros((), dtype)).astype(dtype)


def small_ints(rng, shape, high=4, dtype=np.float32):
    return rng.integers(0, high, shape).astype(dtype)


# -- NonZero -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), (1, 1), (2, 0, 3)])
def test_non_zero(shape, rng):
    check_op("NonZero", {"x": sparse(rng, shape)}, opset=13)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_])
def test_non_zero_dtypes(dtype, rng):
    check_op("NonZero", {"x": sparse(rng, (3, 5), dtype)}, opset=13)


def test_non_zero_all_zero_is_empty():
    got = check_op("NonZero", {"x": np.zeros((3, 4), np.float32)}, opset=13)
    assert got["y0"].shape == (2, 0)


def test_non_zero_negative_zero_is_zero():
    check_op("NonZero", {"x": np.array([0.0, -0.0, 1.0, np.nan], np.float32)}, opset=13)


# -- Unique ------------------------------------------------------------------------------------

UNIQUE_OUTPUTS = ["y", "indices", "inverse", "counts"]


@pytest.mark.parametrize("sorted_", [0, 1])
@pytest.mark.parametrize("shape,axis", [((12,), None), ((3, 4), None), ((6, 2), 0),
                                        ((2, 6), 1), ((2, 5, 2), 1), ((4, 3), -2), ((1,), None)])
def test_unique(shape, axis, sorted_, rng):
    attrs = {"sorted": sorted_} if axis is None else {"sorted": sorted_, "axis": axis}
    x = small_ints(rng, shape, high=3)
    check_op("Unique", {"x": x}, attrs=attrs, outputs=UNIQUE_OUTPUTS, opset=11)


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int8])  # those ORT implements
def test_unique_dtypes(dtype, rng):
    check_op("Unique", {"x": small_ints(rng, (10,), 5, dtype)}, outputs=UNIQUE_OUTPUTS,
             opset=11)


def test_unique_all_distinct_and_all_equal(rng):
    check_op("Unique", {"x": rng.permutation(9).astype(np.float32)}, outputs=UNIQUE_OUTPUTS,
             opset=11)
    check_op("Unique", {"x": np.full((2, 3), 2.5, np.float32)}, outputs=UNIQUE_OUTPUTS,
             opset=11)


@pytest.mark.parametrize("outputs", [["y"], ["y", "", "inverse"], ["y", "indices", "", "counts"]])
def test_unique_omitted_outputs(outputs, rng):
    model = make_model("Unique", {"x": small_ints(rng, (9,))}, outputs=outputs, opset=11)
    feeds = {"x": small_ints(rng, (9,))}
    assert_close(dlgen_outputs(model, feeds), ort_outputs(model, feeds))


# -- Compress ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,axis,length", [((3, 2), 0, 3), ((3, 2), 1, 2), ((3, 2), None, 5),
                                               ((3, 4), -1, 2), ((2, 3, 4), 1, 3),
                                               ((4, 2), 0, 6)])
def test_compress_runtime_condition(shape, axis, length, rng):
    attrs = {} if axis is None else {"axis": axis}
    x = random_data(rng, shape)
    cond = rng.random(length) < 0.5
    if length > (x.size if axis is None else shape[axis]):
        pytest.skip("ONNX Runtime refuses a condition longer than the axis")
    check_op("Compress", {"x": x, "c": cond}, attrs=attrs)


@pytest.mark.parametrize("value", [False, True])
def test_compress_all_or_nothing(value, rng):
    got = check_op("Compress", {"x": random_data(rng, (3, 4)), "c": np.full(4, value)},
                   attrs={"axis": 1})
    assert got["y0"].shape == (3, 4 if value else 0)


def test_compress_int64(rng):
    check_op("Compress", {"x": rng.integers(-5, 5, (4, 3)), "c": np.array([1, 0, 1, 1], bool)},
             attrs={"axis": 0})


# -- TopK with a run-time k --------------------------------------------------------------------

@pytest.mark.parametrize("shape,axis,k", [((3, 4), 1, 2), ((3, 4), -1, 4), ((5, 3), 0, 1),
                                          ((2, 6, 3), 1, 3), ((3, 4), 1, 0)])
@pytest.mark.parametrize("largest", [0, 1])
def test_top_k_runtime_k(shape, axis, k, largest, rng):
    check_op("TopK", {"x": random_data(rng, shape), "k": np.array([k], np.int64)},
             attrs={"axis": axis, "largest": largest}, outputs=2, opset=11)


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32])
def test_top_k_runtime_k_dtypes(dtype, rng):
    check_op("TopK", {"x": random_data(rng, (3, 5), dtype), "k": np.array([3], np.int64)},
             outputs=2, opset=11)


def test_top_k_k_above_axis_size_is_a_bound_error(rng):
    model = make_model("TopK", {"x": random_data(rng, (3, 4)), "k": np.array([2], np.int64)},
                       outputs=2, opset=11)
    with pytest.raises(DlgenError, match="DLG_ERR_BOUND"):
        dlgen_outputs(model, {"x": random_data(rng, (3, 4)), "k": np.array([5], np.int64)})


# -- NonMaxSuppression -------------------------------------------------------------------------

def nms_inputs(rng, batches=2, classes=3, n=12, center=False):
    corners = rng.random((batches, n, 4)).astype(np.float32) * 10
    if center:
        corners[..., 2:] = 1 + rng.random((batches, n, 2)) * 4
    return corners, rng.random((batches, classes, n)).astype(np.float32)


@pytest.mark.parametrize("center", [0, 1])
@pytest.mark.parametrize("max_out,iou,score", [(3, 0.3, 0.2), (20, 0.5, None), (1, 0.0, 0.9),
                                               (0, 0.5, None), (5, 1.0, 0.0)])
def test_nms(center, max_out, iou, score, rng):
    boxes, scores = nms_inputs(rng, center=bool(center))
    feeds = {"boxes": boxes, "scores": scores, "max": np.array([max_out], np.int64),
             "iou": np.array([iou], np.float32)}
    if score is not None:
        feeds["score"] = np.array([score], np.float32)
    check_op("NonMaxSuppression", feeds, attrs={"center_point_box": center}, opset=11)


def test_nms_omitted_inputs_and_constants(rng):
    boxes, scores = nms_inputs(rng, 1, 2, 8)
    model = make_model("NonMaxSuppression", {"boxes": boxes, "scores": scores}, opset=11)
    feeds = {"boxes": boxes, "scores": scores}
    assert dlgen_outputs(model, feeds)["y0"].shape == (0, 3)  # max_output defaults to 0
    check_op("NonMaxSuppression", feeds, consts={"max": np.array([4], np.int64),
                                                 "iou": np.array([0.4], np.float32)}, opset=11)


def test_nms_flipped_corners_and_ties():
    boxes = np.array([[[1, 1, 0, 0], [0, 0, 1, 1], [0, 0.1, 1, 1.1], [5, 5, 6, 6]]], np.float32)
    scores = np.array([[[0.5, 0.5, 0.9, 0.5]]], np.float32)
    check_op("NonMaxSuppression", {"boxes": boxes, "scores": scores},
             consts={"max": np.array([10], np.int64), "iou": np.array([0.5], np.float32)},
             opset=11)


# -- bounds, errors, API ----------------------------------------------------------------------

def graph_model(nodes, inputs, out_names, opset=13):
    """A model of several nodes whose outputs are typed by ONNX shape inference."""
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, []),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    model.graph.output.extend(inferred[n] for n in out_names)
    return model


def non_zero_model(shape=(3, 4)):
    return make_model("NonZero", {"x": np.zeros(shape, np.float32)}, opset=13)


def test_lowered_bound_is_kept_and_exceeding_it_is_a_clear_error(tmp_path):
    art = dlgen.compile(non_zero_model(), "c", tmp_path / "out", name="nz",
                        options={"bounds": {"y0": 3}})
    assert art.manifest["outputs"][0]["shape"] == [2, 3]
    assert art.manifest["outputs"][0]["dynamic"] == [False, True]
    assert "#define NZ_OUTPUT0_SIZE 6u" in (art.path / "nz.h").read_text()
    x = np.zeros((3, 4), np.float32)
    x[0, 1] = x[2, 3] = 1
    with art.runner() as runner:
        np.testing.assert_array_equal(runner.run({"x": x})["y0"], np.array(np.nonzero(x)))
        x[1, 1] = x[1, 2] = 1
        with pytest.raises(DlgenError, match="DLG_ERR_BOUND.*'y0' at most \\[2, 3\\]"):
            runner.run({"x": x})
        x[1, 2] = 0  # exactly at the bound
        np.testing.assert_array_equal(runner.run({"x": x})["y0"], np.array(np.nonzero(x)))


def test_unique_bound_applies_to_all_count_outputs(tmp_path, rng):
    model = make_model("Unique", {"x": small_ints(rng, (10,))}, outputs=UNIQUE_OUTPUTS, opset=11)
    art = dlgen.compile(model, "c", tmp_path / "out", options={"bounds": {"counts": 4}})
    shapes = {o["name"]: o["shape"] for o in art.manifest["outputs"]}
    assert shapes == {"y": [4], "indices": [4], "inverse": [10], "counts": [4]}
    with art.runner() as runner:
        feeds = {"x": np.array([3, 1, 1, 0, 2, 2, 3, 0, 1, 3], np.float32)}
        assert_close(runner.run(feeds), ort_outputs(model, feeds))
        with pytest.raises(DlgenError, match="DLG_ERR_BOUND"):
            runner.run({"x": np.arange(10, dtype=np.float32)})


def test_bound_on_a_static_value_is_refused(tmp_path):
    with pytest.raises(BadInput, match="not the output of an op with a data-dependent"):
        dlgen.compile(non_zero_model(), "c", tmp_path / "out", options={"bounds": {"x": 2}})


def test_generated_header_has_shape_parameters(tmp_path):
    art = dlgen.compile(non_zero_model(), "c", tmp_path / "out", name="nz")
    header = (art.path / "nz.h").read_text()
    assert "int nz_run(const float *t_x, int64_t *y0, int64_t *y0_shape);" in header
    assert "#define NZ_OUTPUT0_RANK 2u" in header
    assert "int64 [2,<=12]" in header
    assert "DLG_ERR_BOUND (-5)" in (art.path / "runtime/include/dlgen/runtime.h").read_text()


def test_pass_through_consumers_and_refused_consumers(tmp_path, rng):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
    nodes = [helper.make_node("NonZero", ["x"], ["idx"]),
             helper.make_node("Cast", ["idx"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Neg", ["f"], ["y"])]
    model = graph_model(nodes, [x], ["y"])
    feeds = {"x": sparse(rng, (3, 4))}
    assert_close(dlgen_outputs(model, feeds), ort_outputs(model, feeds))

    nodes[2] = helper.make_node("Transpose", ["f"], ["y"])
    model = graph_model(nodes, [x], ["y"])
    with pytest.raises(Unsupported, match="'f' has a data-dependent shape.*Transpose"):
        dlgen.compile(model, "c", tmp_path / "bad")


def test_old_manifests_without_dynamic_are_read():
    spec = TensorSpec.from_json({"name": "y", "dtype": "float32", "shape": [2, 3]})
    assert spec.dynamic is None and not spec.is_dynamic
    dyn = TensorSpec.from_json({"name": "y", "dtype": "int64", "shape": [2, 6],
                                "dynamic": [False, True]})
    assert dyn.is_dynamic and dyn.to_json()["dynamic"] == [False, True]


def test_verify_handles_dynamic_outputs(tmp_path, rng):
    path = tmp_path / "nz.onnx"
    path.write_bytes(non_zero_model((4, 5)).SerializeToString())
    report = dlgen.verify(path, "c", inputs={"x": sparse(rng, (4, 5))})
    assert report.ok


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_strict_compile(cc, tmp_path, rng):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not installed")
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 3]),
              helper.make_tensor_value_info("c", TensorProto.BOOL, [3]),
              helper.make_tensor_value_info("k", TensorProto.INT64, [1]),
              helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 5, 4]),
              helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 2, 5]),
              helper.make_tensor_value_info("max", TensorProto.INT64, [1])]
    nodes = [helper.make_node("NonZero", ["x"], ["nz"]),
             helper.make_node("Unique", ["x"], ["u", "ui", "uinv", "uc"], axis=1),
             helper.make_node("Compress", ["x", "c"], ["cx"], axis=1),
             helper.make_node("TopK", ["x", "k"], ["tv", "ti"], axis=0),
             helper.make_node("NonMaxSuppression", ["boxes", "scores", "max"], ["sel"]),
             helper.make_node("Cast", ["nz"], ["nzf"], to=TensorProto.FLOAT)]
    model = graph_model(nodes, inputs, ["nz", "u", "ui", "uinv", "uc", "cx", "tv", "ti", "sel",
                                        "nzf"])
    art = dlgen.compile(model, "c", tmp_path / "out", name="dyn")
    check_compiles(art.path, cc=cc)
    assert sum(o.get("dynamic") is not None for o in art.manifest["outputs"]) == 9
    assert json.loads((art.path / "dlgen.json").read_text())["outputs"][3].get("dynamic") is None


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_unique_16_bit_floats_compare_by_value(dtype, tmp_path):
    """ORT has no 16-bit Unique: compare with numpy on the float32 values."""
    import ml_dtypes  # noqa: F401  (registers bfloat16 with numpy)

    x = np.array([2.0, -1.0, 0.0, -0.0, 2.0, 0.5, -1.0], np.float32).astype(dtype)
    model = make_model("Unique", {"x": x}, outputs=UNIQUE_OUTPUTS, opset=11)
    got = dlgen_outputs(model, {"x": x})
    y, idx, inv, counts = np.unique(x.astype(np.float32), return_index=True,
                                    return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(got["y"].astype(np.float32), y)
    np.testing.assert_array_equal(got["indices"], idx)
    np.testing.assert_array_equal(got["inverse"], inv.reshape(-1))
    np.testing.assert_array_equal(got["counts"], counts)
