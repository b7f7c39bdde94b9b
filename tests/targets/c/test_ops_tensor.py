"""Views and data movement (Reshape... Transpose, Concat, Split, Slice, Gather, Pad, Expand,
unfolded shape ops) against ONNX Runtime, over several dtypes."""
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from dlgen.targets.c.ops.tensor import pad_map, slice_axis
from oplib import assert_close, check_op, dlgen_outputs, make_model, ort_outputs, i64, random_data

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_]


def _graph_model(nodes, inputs: dict, outputs: list[str], *, consts=None, opset=17):
    """A multi-node model: ``inputs`` fed at run time, ``consts`` as initializers."""
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
         for k, v in inputs.items()],
        [helper.make_tensor_value_info(n, 0, None) for n in outputs],
        [numpy_helper.from_array(v, k) for k, v in (consts or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    inferred = {v.name: v for v in model.graph.value_info}
    for out in model.graph.output:
        if out.name in inferred:
            out.CopyFrom(inferred[out.name])
    return model


def _check_model(model, feeds):
    assert_close(dlgen_outputs(model, feeds), ort_outputs(model, feeds))


# -- views -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,target", [((2, 3, 4), (6, 4)), ((2, 3, 4), (0, -1)),
                                          ((4, 6), (2, -1, 3)), ((5,), (1, 5, 1))])
def test_reshape_view_is_graph_output(shape, target, rng):
    # The output views a graph input, so the C target must copy it out.
    check_op("Reshape", {"x": random_data(rng, shape)}, consts={"s": i64(*target)})


def test_reshape_allowzero(rng):
    check_op("Reshape", {"x": random_data(rng, (0, 3))}, consts={"s": i64(3, 0)},
             attrs={"allowzero": 1}, opset=14)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_reshape_dtypes(dtype, rng):
    check_op("Reshape", {"x": random_data(rng, (2, 6), dtype)}, consts={"s": i64(3, 4)})


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_flatten(axis, rng):
    check_op("Flatten", {"x": random_data(rng, (2, 3, 4))}, attrs={"axis": axis})


def test_squeeze_unsqueeze_attr_and_input(rng):
    x = random_data(rng, (2, 1, 3, 1))
    check_op("Squeeze", {"x": x}, attrs={"axes": [1, -1]}, opset=11)
    check_op("Squeeze", {"x": x}, consts={"axes": i64(3)}, opset=13)
    check_op("Squeeze", {"x": x}, opset=13)
    check_op("Unsqueeze", {"x": x}, attrs={"axes": [0, 5]}, opset=11)
    check_op("Unsqueeze", {"x": x}, consts={"axes": i64(-1, 1)}, opset=13)


def test_identity_and_dropout(rng):
    x = random_data(rng, (3, 4))
    check_op("Identity", {"x": x})
    check_op("Dropout", {"x": x}, opset=12)
    check_op("Dropout", {"x": x}, attrs={"ratio": 0.3}, opset=10)
    check_op("Dropout", {"x": x}, consts={"r": np.array(0.2, np.float32),
                                          "t": np.array(False)}, opset=13)


def test_dropout_inference_mask_is_all_true(rng):
    x = random_data(rng, (3, 4))
    model = make_model("Dropout", {"x": x}, outputs=["y", "mask"], opset=12)
    got = dlgen_outputs(model, {"x": x})
    np.testing.assert_array_equal(got["y"], x)
    assert got["mask"].dtype == np.bool_ and got["mask"].all()


def test_training_dropout_that_drops_is_refused(rng):
    x = random_data(rng, (3, 4))
    model = make_model("Dropout", {"x": x}, consts={"r": np.array(0.5, np.float32),
                                                    "t": np.array(True)},
                       outputs=["y", "mask"], opset=12)
    with pytest.raises(Unsupported, match="random"):
        dlgen_outputs(model, {"x": x})


def test_reshape_of_input_feeds_relu(rng):
    x = random_data(rng, (2, 3, 4))
    nodes = [helper.make_node("Reshape", ["x", "s"], ["r"]),
             helper.make_node("Relu", ["r"], ["y"]),
             helper.make_node("Flatten", ["y"], ["f"], axis=0)]
    model = _graph_model(nodes, {"x": x}, ["y", "f"], consts={"s": i64(4, 6)})
    _check_model(model, {"x": x})


def test_views_chain_inside_graph(rng):
    x = random_data(rng, (2, 3, 4))
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("Unsqueeze", ["a", "ax"], ["b"]),
             helper.make_node("Squeeze", ["b", "ax"], ["c"]),
             helper.make_node("Reshape", ["c", "s"], ["d"]),
             helper.make_node("Neg", ["d"], ["y"])]
    model = _graph_model(nodes, {"x": x}, ["y", "c"], consts={"ax": i64(0), "s": i64(-1)})
    _check_model(model, {"x": x})


# -- Transpose -----------------------------------------------------------------------------------

@pytest.mark.parametrize("rank", [2, 3, 4, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_transpose_random_perm(rank, seed):
    rng = np.random.default_rng(seed * 10 + rank)
    shape = tuple(int(d) for d in rng.integers(1, 5, rank))
    perm = [int(p) for p in rng.permutation(rank)]
    dtype = DTYPES[(seed + rank) % len(DTYPES)]
    check_op("Transpose", {"x": random_data(rng, shape, dtype)}, attrs={"perm": perm})


@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose_default_reverses(dtype, rng):
    check_op("Transpose", {"x": random_data(rng, (2, 3, 4), dtype)})


def test_transpose_nchw_to_nhwc(rng):
    check_op("Transpose", {"x": random_data(rng, (2, 5, 3, 4))}, attrs={"perm": [0, 2, 3, 1]})


# -- Concat, Split -------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_concat_three_inputs(axis, rng):
    base = [2, 3, 4]
    xs = {}
    for i, extra in enumerate([1, 2, 3]):
        shape = list(base)
        shape[axis] = extra
        xs[f"x{i}"] = random_data(rng, tuple(shape))
    check_op("Concat", xs, attrs={"axis": axis})


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float64])
def test_concat_dtypes_with_constant(dtype, rng):
    check_op("Concat", {"a": random_data(rng, (2, 3), dtype)}, consts={"b": random_data(rng, (2, 2), dtype)},
             attrs={"axis": 1})


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_split_equal_default(axis, rng):
    check_op("Split", {"x": random_data(rng, (6, 6, 6))}, attrs={"axis": axis}, outputs=3, opset=13)


def test_split_attribute(rng):
    check_op("Split", {"x": random_data(rng, (2, 7, 3))}, attrs={"axis": 1, "split": [2, 4, 1]},
             outputs=3, opset=11)


def test_split_input(rng):
    check_op("Split", {"x": random_data(rng, (5, 4), np.int64)}, consts={"s": i64(3, 2)},
             attrs={"axis": 0}, outputs=2, opset=13)


@pytest.mark.parametrize("n", [2, 3])
def test_split_num_outputs(n, rng):
    # 7 along the axis: the last output is smaller when it does not divide evenly.
    check_op("Split", {"x": random_data(rng, (3, 7))}, attrs={"axis": -1, "num_outputs": n},
             outputs=n, opset=18)


# -- Slice ---------------------------------------------------------------------------------------

SLICE_CASES = {
    "basic": ((1, 0), (3, 2), None, None),
    "axes_negative": ((1,), (-1,), (-1,), None),
    "steps": ((0, 1), (6, 5), (0, 2), (2, 3)),
    "negative_step": ((-1,), (-100,), (1,), (-1,)),
    "negative_step_2": ((4, 5), (0, -8), (0, 2), (-2, -3)),
    "out_of_range": ((-100, 2), (100, 1000), (0, 1), None),
    "int64_bounds": ((0, 2**62), (2**63 - 1, -(2**63)), (2, 1), (1, -1)),
    "empty_start_past_end": ((3,), (1,), (0,), None),
    "reverse_all": ((-1, -1, -1), (-(2**63), -(2**63), -(2**63)), (0, 1, 2), (-1, -1, -1)),
}


@pytest.mark.parametrize("case", sorted(SLICE_CASES))
def test_slice(case, rng):
    starts, ends, axes, steps = SLICE_CASES[case]
    x = random_data(rng, (6, 5, 7))
    consts = {"starts": i64(*starts), "ends": i64(*ends)}
    order = ["x", "starts", "ends"]
    if axes is not None:
        consts["axes"] = i64(*axes)
        order.append("axes")
    if steps is not None:
        if axes is None:
            consts["axes"] = i64(*range(len(starts)))
            order.append("axes")
        consts["steps"] = i64(*steps)
        order.append("steps")
    if case == "empty_start_past_end":
        # A zero-size output: check the shape only (nothing is computed).
        got = dlgen_outputs(make_model("Slice", {"x": x}, consts=consts, input_order=order),
                            {"x": x})
        assert got["y0"].shape == (0, 5, 7)
        return
    check_op("Slice", {"x": x}, consts=consts, input_order=order)


def test_slice_attribute_form(rng):
    check_op("Slice", {"x": random_data(rng, (4, 6), np.int32)},
             attrs={"starts": [1, -4], "ends": [3, 100], "axes": [0, 1]}, opset=9)


@pytest.mark.parametrize("dim,start,end,step", [(5, -10, -20, -1), (5, 10, -20, -2),
                                                (5, -2, 10, 1), (5, 0, 5, 7), (5, 4, -6, -1)])
def test_slice_axis_clamping_matches_ort(dim, start, end, step):
    x = np.arange(dim, dtype=np.float32)
    want = ort_outputs(make_model("Slice", {"x": x}, consts={
        "s": i64(start), "e": i64(end), "a": i64(0), "t": i64(step)}), {"x": x})["y0"]
    first, count = slice_axis(dim, start, end, step)
    assert list(want) == [first + k * step for k in range(count)]


# -- Gather --------------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1, -3])
def test_gather_runtime_indices(axis, rng):
    x = random_data(rng, (4, 5, 3))
    dim = x.shape[axis]
    idx = rng.integers(-dim, dim, (2, 3)).astype(np.int64)  # negative indices wrap
    check_op("Gather", {"x": x, "i": idx}, attrs={"axis": axis})


def test_gather_int32_indices(rng):
    idx = np.array([[0, -1], [2, 1]], np.int32)
    check_op("Gather", {"x": random_data(rng, (3, 4), np.int64), "i": idx}, attrs={"axis": 0})


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_scalar_index_drops_axis(axis, rng):
    check_op("Gather", {"x": random_data(rng, (3, 4, 2))}, consts={"i": np.array(-1, np.int64)},
             attrs={"axis": axis})


def test_gather_embedding_rows(rng):
    table = random_data(rng, (10, 8))
    ids = rng.integers(0, 10, (2, 5)).astype(np.int64)
    check_op("Gather", {"ids": ids}, consts={"table": table}, input_order=["table", "ids"])


def test_gather_constant_index_out_of_range_refused(rng):
    x = random_data(rng, (3, 4))
    model = make_model("Gather", {"x": x}, consts={"i": i64(0, 3)}, attrs={"axis": 0})
    with pytest.raises(Unsupported, match="out of range"):
        dlgen_outputs(model, {"x": x})


# -- Pad -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
@pytest.mark.parametrize("pads", [(0, 1, 2, 0, 2, 1), (1, 0, 0, 1, 0, 0), (0, 0, 3, 0, 0, 3),
                                  (2, 2, 2, 2, 2, 2)])
def test_pad_modes(mode, pads, rng):
    x = random_data(rng, (3, 4, 5))
    opset = 19 if mode == "wrap" else 13
    check_op("Pad", {"x": x}, consts={"pads": i64(*pads)}, attrs={"mode": mode}, opset=opset)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.float64])
def test_pad_constant_value(dtype, rng):
    x = random_data(rng, (2, 3, 4, 5), dtype)
    check_op("Pad", {"x": x}, consts={"pads": i64(0, 0, 1, 2, 0, 0, 2, 1),
                                      "v": np.array(7, dtype)})


def test_pad_negative_pads_crop(rng):
    check_op("Pad", {"x": random_data(rng, (4, 6))}, consts={"pads": i64(-1, 2, 1, -3)})


def test_pad_axes_input(rng):
    x = random_data(rng, (2, 3, 4))
    check_op("Pad", {"x": x}, consts={"pads": i64(1, 2, 2, 1), "v": np.array(1.5, np.float32),
                                      "axes": i64(-1, 0)}, attrs={"mode": "constant"}, opset=18)
    check_op("Pad", {"x": x}, consts={"pads": i64(1, 2), "axes": i64(1)},
             input_order=["x", "pads", "", "axes"], attrs={"mode": "reflect"}, opset=18)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_attribute_form(mode, rng):
    check_op("Pad", {"x": random_data(rng, (3, 4))},
             attrs={"mode": mode, "pads": [1, 2, 2, 1], "value": 2.5}, opset=2)


def test_pad_map_reflect_repeats():
    assert pad_map("reflect", 9, 3, 3).tolist() == [1, 2, 1, 0, 1, 2, 1, 0, 1]
    assert pad_map("constant", 5, 2, 1).tolist() == [-1, 0, 1, -1, -1]


# -- Expand --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,target", [((3, 1), (2, 3, 4)), ((1,), (5,)), ((4,), (2, 1, 4)),
                                          ((2, 1, 3), (2, 4, 3)), ((1, 3, 1), (1, 1, 2))])
def test_expand(shape, target, rng):
    check_op("Expand", {"x": random_data(rng, shape)}, consts={"s": i64(*target)})


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_expand_dtypes(dtype, rng):
    check_op("Expand", {"x": random_data(rng, (1, 3), dtype)}, consts={"s": i64(4, 3)})


# -- shape ops that folding did not remove -------------------------------------------------------

@pytest.fixture
def no_folding(monkeypatch):
    """Keep Shape/Size/ConstantOfShape/Range as nodes, so that their lowerings run."""
    import dlgen.compiler

    monkeypatch.setattr(dlgen.compiler.passes, "simplify", lambda graph: graph)


def test_unfolded_shape_and_size(no_folding, rng):
    x = random_data(rng, (2, 3, 4))
    check_op("Shape", {"x": x})
    check_op("Shape", {"x": x}, attrs={"start": 1, "end": -1}, opset=15)
    check_op("Size", {"x": x})


def test_unfolded_constant_of_shape(no_folding):
    value = numpy_helper.from_array(np.array([3], np.int64))
    model = _graph_model([helper.make_node("ConstantOfShape", ["s"], ["y"], value=value)],
                         {}, ["y"], consts={"s": i64(2, 3)})
    _check_model(model, {})
    model = _graph_model([helper.make_node("ConstantOfShape", ["s"], ["y"])],
                         {}, ["y"], consts={"s": i64(4)})
    _check_model(model, {})


@pytest.mark.parametrize("start,limit,delta,dtype", [(0, 10, 3, np.int64), (5, -3, -2, np.int32),
                                                     (0.5, 2.0, 0.25, np.float32)])
def test_unfolded_range(no_folding, start, limit, delta, dtype):
    consts = {k: np.array(v, dtype) for k, v in zip(("a", "b", "c"), (start, limit, delta))}
    model = _graph_model([helper.make_node("Range", ["a", "b", "c"], ["y"])], {}, ["y"],
                         consts=consts, opset=11)
    _check_model(model, {})


# -- strict compile ------------------------------------------------------------------------------

@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_tensor_family_compiles_strict(cc, tmp_path, rng):
    x = random_data(rng, (2, 3, 4))
    idx = np.array([1, -1], np.int32)
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
             helper.make_node("Slice", ["t", "st", "en", "ax", "sp"], ["s"]),
             helper.make_node("Pad", ["s", "pads"], ["p"], mode="reflect"),
             helper.make_node("Pad", ["s", "pads", "v"], ["q"]),
             helper.make_node("Concat", ["p", "q"], ["c"], axis=1),
             helper.make_node("Split", ["c"], ["c0", "c1"], axis=1),
             helper.make_node("Gather", ["c0", "i"], ["g"], axis=2),
             helper.make_node("Expand", ["g", "shape"], ["e"]),
             helper.make_node("Reshape", ["e", "flat"], ["y"])]
    consts = {"st": i64(-1), "en": i64(-100), "ax": i64(0), "sp": i64(-1),
              "pads": i64(0, 1, 1, 0, 1, 1), "v": np.array(0.5, np.float32), "i": idx,
              "shape": i64(2, 1, 1, 1), "flat": i64(-1)}
    model = _graph_model(nodes, {"x": x}, ["y"], consts=consts)
    _check_model(model, {"x": x})
    art = dlgen.compile(model, "c", tmp_path / "out", name="tensors")
    check_compiles(art.path, cc=cc)
