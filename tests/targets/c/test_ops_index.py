"""Index ops (GatherElements, GatherND, ScatterElements, Scatter, ScatterND) against ONNX
Runtime, with negative indices, duplicates and reductions; out-of-range indices against the
documented behaviour (zeros for gathers, skipped for scatters)."""
import numpy as np
import pytest
from onnx import helper

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import check_op, dlgen_outputs, make_model



def _data(rng, shape, dtype=np.float32):
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _indices(rng, shape, dim):
    """Indices in [-dim, dim): negative ones count from the end."""
    return rng.integers(-dim, dim, shape).astype(np.int64)


@pytest.mark.parametrize("shape,idx_shape,axis", [((3, 3), (2, 3), 0), ((2, 5), (2, 7), 1),
                                                  ((4, 3, 5), (2, 3, 4), -1),
                                                  ((4, 3, 5), (4, 2, 5), 1)])
def test_gather_elements(shape, idx_shape, axis, rng):
    idx = _indices(rng, idx_shape, shape[axis])
    check_op("GatherElements", {"x": _data(rng, shape), "i": idx}, attrs={"axis": axis})


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32, np.uint8, np.bool_])
def test_gather_elements_dtypes(dtype, rng):
    check_op("GatherElements", {"x": _data(rng, (3, 4), dtype), "i": _indices(rng, (3, 2), 4)},
             attrs={"axis": 1})


def test_gather_elements_out_of_range_gives_zeros():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    idx = np.array([[0, 5], [-4, 2]], np.int64)
    model = make_model("GatherElements", {"x": x, "i": idx}, attrs={"axis": 1})
    got = dlgen_outputs(model, {"x": x, "i": idx})["y0"]
    np.testing.assert_array_equal(got, [[0, 0], [0, 5]])


@pytest.mark.parametrize("shape,idx_shape,batch_dims", [
    ((2, 2), (2, 2), 0), ((2, 2, 2), (2, 1, 2), 0), ((2, 2, 2), (2, 1), 1),
    ((3, 4, 5), (2, 3, 1), 0), ((2, 3, 4, 5), (2, 3, 2), 2), ((2, 3, 4), (2, 5, 2), 1)])
def test_gather_nd(shape, idx_shape, batch_dims, rng):
    k = idx_shape[-1]
    dims = shape[batch_dims:batch_dims + k]
    idx = np.stack([_indices(rng, idx_shape[:-1], d) for d in dims], axis=-1)
    check_op("GatherND", {"x": _data(rng, shape), "i": idx}, attrs={"batch_dims": batch_dims})


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float64])
def test_gather_nd_dtypes(dtype, rng):
    idx = np.array([[0, 1], [1, -1]], np.int64)
    check_op("GatherND", {"x": _data(rng, (2, 3, 4), dtype), "i": idx})


def _unique_positions(rng, idx_shape, dim, axis):
    """Indices without duplicates along ``axis`` (reduction none is order dependent)."""
    idx = np.empty(idx_shape, np.int64)
    for pos in np.ndindex(*[s for d, s in enumerate(idx_shape) if d != axis]):
        choice = rng.permutation(dim)[:idx_shape[axis]] - rng.integers(0, 2) * dim
        full = list(pos)
        full.insert(axis, slice(None))
        idx[tuple(full)] = choice
    return idx


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("shape,idx_shape,axis", [((3, 3), (2, 3), 0), ((1, 5), (1, 2), 1),
                                                  ((4, 3, 5), (2, 2, 3), -1)])
def test_scatter_elements(reduction, shape, idx_shape, axis, rng):
    if reduction == "none":
        idx = _unique_positions(rng, idx_shape, shape[axis], axis % len(shape))
    else:  # duplicates accumulate
        idx = _indices(rng, idx_shape, shape[axis])
    check_op("ScatterElements", {"x": _data(rng, shape), "i": idx,
                                 "u": _data(rng, idx_shape)},
             attrs={"axis": axis, "reduction": reduction}, opset=18)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64])
@pytest.mark.parametrize("reduction", ["add", "max"])
def test_scatter_elements_dtypes(dtype, reduction, rng):
    idx = _indices(rng, (2, 3), 3)
    check_op("ScatterElements", {"x": _data(rng, (3, 3), dtype), "i": idx,
                                 "u": _data(rng, (2, 3), dtype)},
             attrs={"axis": 0, "reduction": reduction}, opset=18)


def test_scatter_deprecated(rng):
    idx = np.array([[1, 0, 2], [0, 2, 1]], np.int64)
    check_op("Scatter", {"x": _data(rng, (3, 3)), "i": idx, "u": _data(rng, (2, 3))},
             attrs={"axis": 0}, opset=10)


def test_scatter_uint8_replace(rng):
    idx = np.array([[1, 0, 2]], np.int64)
    check_op("ScatterElements", {"x": _data(rng, (3, 3), np.uint8), "i": idx,
                                 "u": _data(rng, (1, 3), np.uint8)}, opset=18)


def test_scatter_out_of_range_is_skipped():
    x = np.zeros((1, 4), np.float32)
    idx = np.array([[1, 9, -9, -1]], np.int64)
    u = np.array([[1, 2, 3, 4]], np.float32)
    model = make_model("ScatterElements", {"x": x, "i": idx, "u": u}, attrs={"axis": 1},
                       opset=18)
    got = dlgen_outputs(model, {"x": x, "i": idx, "u": u})["y0"]
    np.testing.assert_array_equal(got, [[0, 1, 0, 4]])


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("shape,idx", [((4, 4, 4), [[0], [2]]), ((2, 2), [[0, 0], [1, -1]]),
                                       ((3, 4, 2), [[1, 2], [-1, 0], [0, 3]])])
def test_scatter_nd(reduction, shape, idx, rng):
    idx = np.array(idx, np.int64)
    u_shape = idx.shape[:-1] + shape[idx.shape[-1]:]
    check_op("ScatterND", {"x": _data(rng, shape), "i": idx, "u": _data(rng, u_shape)},
             attrs={"reduction": reduction}, opset=18)


def test_scatter_nd_duplicates_accumulate(rng):
    idx = np.array([[0], [0], [2]], np.int64)
    check_op("ScatterND", {"x": _data(rng, (4, 3)), "i": idx, "u": _data(rng, (3, 3))},
             attrs={"reduction": "add"}, opset=18)


@pytest.mark.parametrize("mode", ["linear", "circular"])
@pytest.mark.parametrize("cache,seq,axis", [((2, 1, 4, 5), 1, -2), ((2, 1, 4, 5), 2, 2),
                                             ((3, 4, 5), 2, 1), ((2, 6, 3), 3, -2)])
def test_tensor_scatter(mode, cache, seq, axis, rng):
    update_shape = list(cache)
    update_shape[axis] = seq
    limit = cache[axis] - seq + 1 if mode == "linear" else cache[axis]
    write = rng.integers(0, limit, cache[0]).astype(np.int64)
    check_op("TensorScatter", {"c": _data(rng, cache), "u": _data(rng, tuple(update_shape)),
                               "w": write}, attrs={"mode": mode, "axis": axis}, opset=24)


def test_tensor_scatter_without_write_indices(rng):
    check_op("TensorScatter", {"c": _data(rng, (2, 4, 3)), "u": _data(rng, (2, 2, 3))},
             opset=24)


def test_refuses_int32_indices_and_bool_reduction(rng, tmp_path):
    model = make_model("GatherElements", {"x": _data(rng, (2, 2)),
                                          "i": np.zeros((2, 2), np.int32)})
    with pytest.raises(Unsupported, match="int32"):
        dlgen.compile(model, "c", tmp_path / "a")
    model = make_model("ScatterElements", {"x": _data(rng, (2, 2), np.uint8),
                                           "i": np.zeros((1, 2), np.int64),
                                           "u": _data(rng, (1, 2), np.uint8)},
                       attrs={"reduction": "add"}, opset=18)
    with pytest.raises(Unsupported, match="uint8"):
        dlgen.compile(model, "c", tmp_path / "b")


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_index_family_compiles_strict(cc, tmp_path):
    nodes = [helper.make_node("GatherElements", ["x", "i"], ["g"], axis=1),
             helper.make_node("ScatterElements", ["g", "i", "g"], ["s"], reduction="max"),
             helper.make_node("GatherND", ["s", "n"], ["gn"]),
             helper.make_node("ScatterND", ["x", "n", "gn"], ["sn"], reduction="add"),
             helper.make_node("TensorScatter", ["sn", "gn", "w"], ["y"], axis=1)]
    graph = helper.make_graph(
        nodes, "t",
        [helper.make_tensor_value_info("x", 1, (2, 3)),
         helper.make_tensor_value_info("i", 7, (2, 3)),
         helper.make_tensor_value_info("n", 7, (2, 1)),
         helper.make_tensor_value_info("w", 7, (2,))],
        [helper.make_tensor_value_info("y", 1, (2, 3))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 24)])
    art = dlgen.compile(model, "c", tmp_path / "out", name="indexing")
    check_compiles(art.path, cc=cc)
