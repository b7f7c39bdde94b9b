"""Layout ops (Tile, DepthToSpace, SpaceToDepth, CenterCropPad, Compress, EyeLike, Trilu,
ReverseSequence, OneHot, Col2Im) against ONNX Runtime, over several dtypes."""
import numpy as np
import pytest
from onnx import helper

import dlgen
from dlgen.targets.c.build import check_compiles
from oplib import check_op, dlgen_outputs, make_model, ort_outputs, i64, random_data

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.int8, np.uint8, np.bool_]


@pytest.mark.parametrize("shape,repeats", [((2, 3), (2, 2)), ((2, 3, 4, 5), (3, 1, 2, 2)),
                                           ((4,), (1,)), ((1, 3, 1), (2, 0, 3))])
def test_tile(shape, repeats, rng):
    check_op("Tile", {"x": random_data(rng, shape)}, consts={"r": i64(*repeats)})


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_tile_dtypes(dtype, rng):
    check_op("Tile", {"x": random_data(rng, (2, 3), dtype)}, consts={"r": i64(3, 2)})


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("b,shape", [(2, (2, 8, 3, 4)), (3, (1, 18, 2, 2))])
def test_depth_to_space(mode, b, shape, rng):
    check_op("DepthToSpace", {"x": random_data(rng, shape)}, attrs={"blocksize": b, "mode": mode})


@pytest.mark.parametrize("b,shape", [(2, (2, 3, 4, 6)), (3, (1, 2, 6, 3))])
def test_space_to_depth(b, shape, rng):
    check_op("SpaceToDepth", {"x": random_data(rng, shape)}, attrs={"blocksize": b})


def test_space_to_depth_round_trips_crd():
    # ONNX Runtime lacks SpaceToDepth's CRD mode: check it inverts DepthToSpace CRD instead.
    x = np.arange(2 * 8 * 2 * 3, dtype=np.float32).reshape(2, 8, 2, 3)
    nodes = [helper.make_node("DepthToSpace", ["x"], ["d"], blocksize=2, mode="CRD"),
             helper.make_node("SpaceToDepth", ["d"], ["y"], blocksize=2, mode="CRD")]
    graph = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", 1, x.shape)],
                              [helper.make_tensor_value_info("y", 1, x.shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 28)])
    np.testing.assert_array_equal(dlgen_outputs(model, {"x": x})["y"], x)


@pytest.mark.parametrize("shape,target,axes", [
    ((20, 10, 3), (10, 7, 3), None), ((10, 7, 3), (20, 10, 3), None),
    ((20, 8, 3), (10, 11, 3), None), ((3, 20, 8), (9, 10), [1, 2]), ((20, 8, 3), (9, 9), [-3, -2])])
@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_center_crop_pad(shape, target, axes, dtype, rng):
    attrs = {} if axes is None else {"axes": axes}
    check_op("CenterCropPad", {"x": random_data(rng, shape, dtype)}, consts={"s": i64(*target)},
             attrs=attrs, opset=18)


@pytest.mark.parametrize("axis,cond", [(0, [0, 1, 1]), (1, [1, 0]), (-1, [0, 1]),
                                       (None, [0, 1, 0, 0, 1]), (0, [0, 0, 0])])
def test_compress_constant_condition(axis, cond, rng):
    x, c = random_data(rng, (3, 2)), np.array(cond, bool)
    attrs = {} if axis is None else {"axis": axis}
    model = make_model("Compress", {"x": x}, consts={"c": c}, attrs=attrs)
    # ONNX shape inference leaves Compress's output shape open: declare it, as exporters do.
    want = np.compress(c, x, axis=axis)
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y0", 1, want.shape))
    np.testing.assert_array_equal(dlgen_outputs(model, {"x": x})["y0"], want)
    np.testing.assert_array_equal(ort_outputs(model, {"x": x})["y0"], want)


def test_compress_runtime_condition_is_data_dependent(rng, tmp_path):
    """A run-time condition gives a bounded output with run-time dims (test_ops_dynamic.py)."""
    model = make_model("Compress", {"x": random_data(rng, (3, 2)), "c": np.array([1, 0, 1], bool)},
                       attrs={"axis": 0})
    art = dlgen.compile(model, "c", tmp_path / "out")
    assert art.manifest["outputs"][0]["dynamic"] == [True, False]


@pytest.mark.parametrize("shape,k,dtype", [((4, 4), 0, None), ((3, 5), 1, 1), ((5, 3), -2, 7)])
def test_eye_like(shape, k, dtype, rng):
    attrs = {"k": k} if dtype is None else {"k": k, "dtype": dtype}
    check_op("EyeLike", {"x": random_data(rng, shape)}, attrs=attrs)


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [None, 0, 2, -1, -7, 6])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 3), (3, 1, 5)])
def test_trilu(upper, k, shape, rng):
    consts = {} if k is None else {"k": np.array(k, np.int64)}
    check_op("Trilu", {"x": random_data(rng, shape, np.int64)}, consts=consts,
             attrs={"upper": upper}, opset=14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_trilu_dtypes(dtype, rng):
    # ONNX Runtime lacks some of these dtypes: compare with numpy.
    x = random_data(rng, (2, 4, 3), dtype)
    model = make_model("Trilu", {"x": x}, attrs={"upper": 0}, opset=14)
    np.testing.assert_array_equal(dlgen_outputs(model, {"x": x})["y0"], np.tril(x))


@pytest.mark.parametrize("batch_axis,time_axis,shape", [(1, 0, (4, 3)), (0, 1, (3, 5, 2))])
def test_reverse_sequence(batch_axis, time_axis, shape, rng):
    batch, time = shape[batch_axis], shape[time_axis]
    lens = rng.integers(0, time + 1, batch).astype(np.int64)
    check_op("ReverseSequence", {"x": random_data(rng, shape), "lens": lens},
             attrs={"batch_axis": batch_axis, "time_axis": time_axis})


@pytest.mark.parametrize("axis", [-1, 0, 1, -2])
@pytest.mark.parametrize("idx_dtype", [np.int64, np.int32, np.float32])
def test_one_hot(axis, idx_dtype, rng):
    indices = np.array([[1, 9, -2], [0, 12, -11]]).astype(idx_dtype)  # 12, -11: out of range
    # depth of the indices' type: the combinations ONNX Runtime implements
    check_op("OneHot", {"i": indices, "v": np.array([1.5, -3.0], np.float32)},
             consts={"d": np.array(10, idx_dtype)}, input_order=["i", "d", "v"],
             attrs={"axis": axis})


def test_one_hot_int_values(rng):
    check_op("OneHot", {"i": np.array([0, 7, 8], np.int64), "v": np.array([2, 5], np.int32)},
             consts={"d": np.array(12.0, np.float32)}, input_order=["i", "d", "v"])


@pytest.mark.parametrize("image,block,attrs", [
    ((5, 5), (1, 5), {}), ((5, 5), (3, 3), {"strides": [2, 2]}),
    ((5, 5), (1, 5), {"pads": [0, 1, 0, 1]}), ((6, 6), (2, 2), {"dilations": [1, 5]}),
    ((3, 4, 5), (1, 1, 5), {})])
def test_col2im(image, block, attrs, rng):
    r = len(image)
    strides = attrs.get("strides", [1] * r)
    pads = attrs.get("pads", [0] * 2 * r)
    dil = attrs.get("dilations", [1] * r)
    grid = [(image[i] + pads[i] + pads[i + r] - dil[i] * (block[i] - 1) - 1) // strides[i] + 1
            for i in range(r)]
    x = random_data(rng, (2, 3 * int(np.prod(block)), int(np.prod(grid))))
    check_op("Col2Im", {"x": x}, consts={"img": i64(*image), "blk": i64(*block)},
             attrs=attrs, opset=18)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_layout_family_compiles_strict(cc, tmp_path, rng):
    nodes = [helper.make_node("Tile", ["x", "r"], ["t"]),
             helper.make_node("DepthToSpace", ["t"], ["d"], blocksize=2),
             helper.make_node("Trilu", ["d"], ["u"]),
             helper.make_node("Col2Im", ["c", "img", "blk"], ["ci"]),
             helper.make_node("OneHot", ["i", "depth", "v"], ["o"]),
             helper.make_node("ReverseSequence", ["o", "lens"], ["rs"]),
             helper.make_node("CenterCropPad", ["u", "s"], ["y"])]
    graph = helper.make_graph(
        nodes, "t",
        [helper.make_tensor_value_info("x", 1, (1, 4, 2, 2)),
         helper.make_tensor_value_info("c", 1, (1, 4, 4)),
         helper.make_tensor_value_info("i", 7, (3,)),
         helper.make_tensor_value_info("lens", 7, (4,))],
        [helper.make_tensor_value_info("y", 1, (1, 1, 3, 5)),
         helper.make_tensor_value_info("ci", 1, (1, 1, 3, 3)),
         helper.make_tensor_value_info("rs", 1, (3, 4))],
        [helper.make_tensor("r", 7, [4], [1, 1, 2, 1]), helper.make_tensor("s", 7, [4], [1, 1, 3, 5]),
         helper.make_tensor("img", 7, [2], [3, 3]), helper.make_tensor("blk", 7, [2], [2, 2]),
         helper.make_tensor("depth", 7, [], [4]), helper.make_tensor("v", 1, [2], [0, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    art = dlgen.compile(model, "c", tmp_path / "out", name="layout")
    check_compiles(art.path, cc=cc)
