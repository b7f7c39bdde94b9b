"""Softmax, LogSoftmax and the Reduce* family against ONNX Runtime."""
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from dlgen.targets.c.ops.reduce import REDUCE_OPS, reduce_layout
from oplib import assert_close, check_op, dlgen_outputs, make_model, ort_outputs


def _x(rng, shape, op="ReduceSum"):
    x = rng.standard_normal(shape).astype(np.float32)
    if op == "ReduceLogSum":
        return np.abs(x) + 0.1
    if op == "ReduceProd":
        return (1 + 0.2 * x).astype(np.float32)
    return x


# -- Softmax, LogSoftmax -------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -2])
def test_softmax_axes(op, opset, axis, rng):
    # Opset 11 coerces to 2-D at the axis; opset 13 normalises along one (possibly inner) axis.
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32) * 4
    attrs = {} if axis is None else {"axis": axis}
    check_op(op, {"x": x}, attrs=attrs, opset=opset)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_large_values_stable(op, rng):
    x = (rng.standard_normal((3, 7)) * 50 + 500).astype(np.float32)
    check_op(op, {"x": x}, opset=13)
    check_op(op, {"x": x}, attrs={"axis": 0}, opset=13)


def test_softmax_1d_and_non_float_refused(rng):
    check_op("Softmax", {"x": rng.standard_normal((9,)).astype(np.float32)}, opset=13)
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    with pytest.raises(Unsupported, match="float32"):
        dlgen_outputs(make_model("Softmax", {"x": x}, opset=13), {"x": x})


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("axis", [1, -1])
def test_softmax_in_place_after_relu(op, axis, rng):
    # The Relu output dies at the Softmax, which may then write over it (with scratch for axis 1).
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node(op, ["r"], ["s"], axis=axis),
             helper.make_node("Neg", ["s"], ["y"])]
    graph = helper.make_graph(
        nodes, "inplace", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, x.shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    assert_close(dlgen_outputs(model, {"x": x}), ort_outputs(model, {"x": x}))


# -- Reduce* -------------------------------------------------------------------------------------

AXES_SETS = [None, (0,), (-1,), (1, 2), (0, 2), (0, 1, 2, 3), (-3, -1), (1,)]


def _axes_args(op, axes, opset):
    """(attrs, consts, input order) for ``axes`` in the form ``opset`` takes."""
    as_input = opset >= (13 if op == "ReduceSum" else 18)
    if axes is None:
        return {}, {}, None
    if as_input:
        return {}, {"axes": np.array(axes, np.int64)}, ["x", "axes"]
    return {"axes": list(axes)}, {}, None


@pytest.mark.parametrize("op", sorted(REDUCE_OPS))
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("axes", AXES_SETS, ids=str)
def test_reduce(op, keepdims, axes, rng):
    x = _x(rng, (3, 4, 2, 5), op)
    opset = 18
    attrs, consts, order = _axes_args(op, axes, opset)
    check_op(op, {"x": x}, attrs={**attrs, "keepdims": keepdims}, consts=consts,
             input_order=order, opset=opset, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("op", sorted(REDUCE_OPS))
def test_reduce_axes_attribute_opset13(op, rng):
    x = _x(rng, (4, 3, 6), op)
    opset = 11 if op == "ReduceSum" else 13
    check_op(op, {"x": x}, attrs={"axes": [0, -1], "keepdims": 0}, opset=opset)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2"])
def test_reduce_noop_with_empty_axes(op, rng):
    x = _x(rng, (3, 4), op)
    check_op(op, {"x": x}, attrs={"noop_with_empty_axes": 1}, opset=18)
    check_op(op, {"x": x}, attrs={"noop_with_empty_axes": 0, "keepdims": 0}, opset=18)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"])
@pytest.mark.parametrize("axes", [(1,), (0, 2), None], ids=str)
def test_reduce_int64(op, axes, rng):
    x = rng.integers(-5, 6, (3, 4, 2)).astype(np.int64)
    attrs, consts, order = _axes_args(op, axes, 18)
    check_op(op, {"x": x}, attrs={**attrs, "keepdims": 0}, consts=consts, input_order=order,
             opset=18)


@pytest.mark.parametrize("op", sorted(REDUCE_OPS))
def test_reduce_float64(op, rng):
    x = _x(rng, (3, 4, 5), op).astype(np.float64)
    check_op(op, {"x": x}, consts={"axes": np.array([0, 2], np.int64)}, input_order=["x", "axes"],
             attrs={"keepdims": 0}, opset=18, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"])
def test_reduce_int32(op, rng):
    x = rng.integers(-4, 5, (3, 4)).astype(np.int32)
    check_op(op, {"x": x}, consts={"axes": np.array([1], np.int64)}, input_order=["x", "axes"],
             opset=18)


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("dtype", [np.uint8, np.bool_])
def test_reduce_max_min_bytes(op, dtype, rng):
    x = rng.integers(0, 2 if dtype == np.bool_ else 256, (4, 3)).astype(dtype)
    axes = np.array([1], np.int64)
    check_op(op, {"x": x}, consts={"axes": axes}, input_order=["x", "axes"], opset=20)
    # An empty reduction gives the identity (ONNX Runtime refuses it for bool: use numpy).
    empty = np.zeros((2, 0, 3), dtype)
    model = make_model(op, {"x": empty}, consts={"axes": axes}, input_order=["x", "axes"],
                       opset=20)
    identity = np.iinfo(np.uint8).max if dtype == np.uint8 else True
    want = np.full((2, 1, 3), 0 if op == "ReduceMax" else identity, dtype)
    np.testing.assert_array_equal(dlgen_outputs(model, {"x": empty})["y0"], want)


def test_reduce_log_sum_exp_large_values(rng):
    x = (rng.standard_normal((4, 6)) * 30 + 200).astype(np.float32)
    check_op("ReduceLogSumExp", {"x": x}, attrs={"axes": [1]}, opset=13)


def test_reduce_int32_refused(rng):
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    with pytest.raises(Unsupported, match="float32"):
        dlgen_outputs(make_model("ReduceL1", {"x": x}, opset=13), {"x": x})


def test_reduce_layout_groups():
    assert reduce_layout((2, 3, 4, 5), [False, True, True, False]) == ([2, 12, 5], [5, 0, 1])
    assert reduce_layout((2, 1, 4), [True, False, True]) == ([8], [0])
    assert reduce_layout((1, 1), [False, False]) == ([1], [1])


# -- ArgMax, ArgMin, Hardmax, TopK, CumSum, CumProd ----------------------------------------------

def _with_ties(rng, shape, dtype):
    """Small integers, so that ties are common."""
    return rng.integers(-3, 4, shape).astype(dtype)


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("select_last_index", [0, 1])
def test_arg_extreme(op, axis, keepdims, select_last_index, rng):
    x = _with_ties(rng, (3, 4, 5), np.float32)
    check_op(op, {"x": x}, attrs={"axis": axis, "keepdims": keepdims,
                                  "select_last_index": select_last_index}, opset=13)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64])
def test_arg_extreme_dtypes(dtype, rng):
    x = _with_ties(rng, (4, 6), dtype)
    check_op("ArgMax", {"x": x}, attrs={"axis": 1}, opset=13)
    check_op("ArgMin", {"x": x}, attrs={"axis": 0, "keepdims": 0}, opset=13)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_hardmax(axis, rng):
    # Opset 13 only: the frontend converts older models to opset 13, and onnx's version
    # converter keeps Hardmax's attributes without its 2-D coercion.
    x = _with_ties(rng, (3, 4, 5), np.float32)
    check_op("Hardmax", {"x": x}, attrs={} if axis is None else {"axis": axis}, opset=13)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("largest", [0, 1])
@pytest.mark.parametrize("k", [1, 3])
def test_top_k(axis, largest, k, rng):
    x = _with_ties(rng, (4, 5, 3), np.float32)
    check_op("TopK", {"x": x}, consts={"k": np.array([k], np.int64)},
             attrs={"axis": axis, "largest": largest}, outputs=2, opset=11)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64])
def test_top_k_dtypes(dtype, rng):
    x = rng.integers(0, 5, (3, 7)).astype(dtype)
    check_op("TopK", {"x": x}, consts={"k": np.array([4], np.int64)}, outputs=2, opset=24)


def test_top_k_uint64_against_numpy(rng):
    # ONNX Runtime has no uint64 TopK: compare with a stable sort instead.
    x = rng.integers(0, 5, (3, 7)).astype(np.uint64)
    x[0, 0] = np.iinfo(np.uint64).max
    model = make_model("TopK", {"x": x}, consts={"k": np.array([4], np.int64)}, outputs=2,
                       opset=24)
    got = dlgen_outputs(model, {"x": x})
    order = np.argsort(-x.astype(np.float64), axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(got["y1"], order)
    np.testing.assert_array_equal(got["y0"], np.take_along_axis(x, order, axis=1))


def test_top_k_whole_axis_and_k_attribute(rng):
    x = rng.standard_normal((2, 6)).astype(np.float32)
    check_op("TopK", {"x": x}, consts={"k": np.array([6], np.int64)}, outputs=2, opset=11)
    check_op("TopK", {"x": x}, attrs={"k": 2}, outputs=2, opset=1)


@pytest.mark.parametrize("op", ["CumSum", "CumProd"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
def test_cumulate(op, axis, exclusive, reverse, rng):
    x = (1 + 0.3 * rng.standard_normal((3, 4, 5))).astype(np.float32)
    check_op(op, {"x": x}, consts={"axis": np.array(axis, np.int64)},
             attrs={"exclusive": exclusive, "reverse": reverse},
             opset=26 if op == "CumProd" else 14)


@pytest.mark.parametrize("op", ["CumSum", "CumProd"])
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64])
def test_cumulate_dtypes(op, dtype, rng):
    x = rng.integers(-3, 4, (2, 5)).astype(dtype)
    check_op(op, {"x": x}, consts={"axis": np.array(1, np.int32)}, attrs={"exclusive": 1},
             opset=26 if op == "CumProd" else 14)


def test_index_reductions_refuse_other_types(rng):
    x = np.arange(6, dtype=np.int8).reshape(2, 3)
    for op in ("ArgMax", "Hardmax"):
        with pytest.raises(Unsupported, match="int8"):
            dlgen_outputs(make_model(op, {"x": x}, opset=13), {"x": x})


# -- strict compile ------------------------------------------------------------------------------

@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_reduce_family_compiles_strict(cc, tmp_path, rng):
    x = _x(rng, (2, 3, 4))
    nodes = [helper.make_node("Softmax", ["x"], ["s"], axis=1),
             helper.make_node("LogSoftmax", ["s"], ["l"]),
             helper.make_node("ReduceLogSumExp", ["l", "ax"], ["r"], keepdims=0),
             helper.make_node("ReduceMean", ["r"], ["y"], keepdims=1),
             helper.make_node("ReduceMax", ["i"], ["z"], keepdims=0),
             helper.make_node("ArgMax", ["x"], ["am"], axis=1),
             helper.make_node("Hardmax", ["x"], ["hm"]),
             helper.make_node("TopK", ["x", "k"], ["tv", "ti"]),
             helper.make_node("CumSum", ["i", "ax0"], ["cs"], reverse=1)]
    graph = helper.make_graph(
        nodes, "strict",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape),
         helper.make_tensor_value_info("i", onnx.TensorProto.INT64, (3, 2))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None),
         helper.make_tensor_value_info("z", onnx.TensorProto.INT64, None),
         helper.make_tensor_value_info("am", onnx.TensorProto.INT64, None),
         helper.make_tensor_value_info("hm", onnx.TensorProto.FLOAT, None),
         helper.make_tensor_value_info("tv", onnx.TensorProto.FLOAT, None),
         helper.make_tensor_value_info("ti", onnx.TensorProto.INT64, None),
         helper.make_tensor_value_info("cs", onnx.TensorProto.INT64, None)],
        [numpy_helper.from_array(np.array([0, 2], np.int64), "ax"),
         numpy_helper.from_array(np.array([2], np.int64), "k"),
         numpy_helper.from_array(np.array(0, np.int64), "ax0")])
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8))
    art = dlgen.compile(model, "c", tmp_path / "out", name="reductions")
    check_compiles(art.path, cc=cc)
