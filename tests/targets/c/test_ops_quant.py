"""QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger and QLinearMatMul
against ONNX Runtime (integer outputs must match exactly)."""
import numpy as np
import pytest

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import check_op, dlgen_outputs, make_model

INT_TYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16,
             "int32": np.int32}


def _zero_point(rng, dtype, shape):
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -100), min(info.max, 100)
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def _values(rng, shape, scale=30.0):
    """Random floats plus exact .5 ties (round half to even) and out-of-range values."""
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    flat = x.reshape(-1)
    flat[: min(4, flat.size)] = [2.5, -3.5, 1e6, -1e6][: min(4, flat.size)]
    return x


@pytest.mark.parametrize("dtype", sorted(set(INT_TYPES) - {"int32"}))  # int32: DQ only
def test_quantize_per_tensor(dtype, rng):
    x = _values(rng, (3, 5))
    check_op("QuantizeLinear", {"x": x, "scale": np.array(0.5, np.float32),
                                "zp": _zero_point(rng, INT_TYPES[dtype], ())},
             opset=21, atol=0, rtol=0)


def test_quantize_no_zero_point_is_uint8(rng):
    check_op("QuantizeLinear", {"x": _values(rng, (7,)), "scale": np.array(0.25, np.float32)},
             opset=21, atol=0, rtol=0)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_quantize_per_axis(axis, rng):
    x = _values(rng, (2, 3, 4))
    n = x.shape[axis]
    scale = rng.uniform(0.1, 2.0, n).astype(np.float32)
    check_op("QuantizeLinear", {"x": x, "scale": scale, "zp": _zero_point(rng, np.int8, (n,))},
             attrs={"axis": axis}, opset=21, atol=0, rtol=0)


@pytest.mark.parametrize("axis,block", [(0, 2), (1, 3), (2, 2)])
def test_quantize_blocked(axis, block, rng):
    x = _values(rng, (4, 6, 4))
    shape = list(x.shape)
    shape[axis] = -(-shape[axis] // block)
    scale = rng.uniform(0.1, 2.0, shape).astype(np.float32)
    check_op("QuantizeLinear", {"x": x, "scale": scale, "zp": _zero_point(rng, np.uint8, shape)},
             attrs={"axis": axis, "block_size": block}, opset=21, atol=0, rtol=0)


@pytest.mark.parametrize("dtype", sorted(INT_TYPES))
def test_dequantize_per_tensor(dtype, rng):
    x = _zero_point(rng, INT_TYPES[dtype], (4, 3))
    check_op("DequantizeLinear", {"x": x, "scale": np.array(0.37, np.float32),
                                  "zp": _zero_point(rng, INT_TYPES[dtype], ())}, opset=21)


def test_dequantize_per_axis_and_blocked(rng):
    x = _zero_point(rng, np.uint8, (2, 4, 3))
    check_op("DequantizeLinear", {"x": x, "scale": rng.uniform(0.1, 2, 4).astype(np.float32),
                                  "zp": _zero_point(rng, np.uint8, (4,))}, opset=21)
    check_op("DequantizeLinear", {"x": x, "scale": rng.uniform(0.1, 2, (2, 2, 3))
                                  .astype(np.float32),
                                  "zp": _zero_point(rng, np.uint8, (2, 2, 3))},
             attrs={"axis": 1, "block_size": 2}, opset=21)


@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 5)])
@pytest.mark.parametrize("kind", ["mixed", "positive", "negative"])
def test_dynamic_quantize(shape, kind, rng):
    x = rng.standard_normal(shape).astype(np.float32) * 4
    x = {"mixed": x, "positive": np.abs(x) + 1, "negative": -np.abs(x) - 1}[kind]
    check_op("DynamicQuantizeLinear", {"x": x}, outputs=3, opset=11, atol=0, rtol=0)


MATMUL_SHAPES = [((4, 3), (3, 2)), ((2, 5, 3), (3, 4)), ((2, 1, 3, 4), (3, 4, 2)),
                 ((3,), (3, 2)), ((2, 3), (3,))]


@pytest.mark.parametrize("a_type,b_type", [(np.uint8, np.uint8), (np.int8, np.int8),
                                           (np.uint8, np.int8)])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_integer(shapes, a_type, b_type, rng):
    a_shape, b_shape = shapes
    check_op("MatMulInteger", {"a": _zero_point(rng, a_type, a_shape),
                               "b": _zero_point(rng, b_type, b_shape),
                               "a_zp": _zero_point(rng, a_type, ()),
                               "b_zp": _zero_point(rng, b_type, ())},
             opset=10, atol=0, rtol=0)


def test_matmul_integer_per_column_b_zero_point(rng):
    check_op("MatMulInteger", {"a": _zero_point(rng, np.uint8, (4, 3)),
                               "b": _zero_point(rng, np.uint8, (3, 5)),
                               "a_zp": _zero_point(rng, np.uint8, ()),
                               "b_zp": _zero_point(rng, np.uint8, (5,))},
             opset=10, atol=0, rtol=0)


def test_matmul_integer_no_zero_points(rng):
    check_op("MatMulInteger", {"a": _zero_point(rng, np.int8, (3, 4)),
                               "b": _zero_point(rng, np.int8, (4, 2))},
             opset=10, atol=0, rtol=0)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES[:3], ids=str)
def test_qlinear_matmul(shapes, dtype, rng):
    a_shape, b_shape = shapes
    f = np.float32
    check_op("QLinearMatMul", {
        "a": _zero_point(rng, dtype, a_shape), "a_scale": np.array([0.02], f),
        "a_zp": _zero_point(rng, dtype, (1,)),
        "b": _zero_point(rng, dtype, b_shape), "b_scale": np.array([0.03], f),
        "b_zp": _zero_point(rng, dtype, (1,)),
        "y_scale": np.array([0.05], f), "y_zp": _zero_point(rng, dtype, (1,))},
        opset=21, atol=0, rtol=0)


def test_refuses_float8_without_saturation(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    node = helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"], saturate=0)
    graph = helper.make_graph(
        [node], "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT8E4M3FN, [4])],
        initializer=[helper.make_tensor("s", TensorProto.FLOAT, [], [1.0]),
                     helper.make_tensor("zp", TensorProto.FLOAT8E4M3FN, [1], [0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    with pytest.raises(Unsupported, match="saturate=0"):
        dlgen.compile(model, "c", tmp_path / "out")


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_quant_kernels_compile_strict(cc, tmp_path, rng):
    model = make_model("QLinearMatMul", {
        "a": _zero_point(rng, np.uint8, (2, 3)), "a_scale": np.array([0.1], np.float32),
        "a_zp": _zero_point(rng, np.uint8, (1,)), "b": _zero_point(rng, np.uint8, (3, 2)),
        "b_scale": np.array([0.1], np.float32), "b_zp": _zero_point(rng, np.uint8, (1,)),
        "y_scale": np.array([0.1], np.float32), "y_zp": _zero_point(rng, np.uint8, (1,))},
        opset=21)
    art = dlgen.compile(model, "c", tmp_path / "out", name="quant")
    check_compiles(art.path, cc=cc)


# -- sub-byte and float8 types (one element a byte): bit-exact with the ONNX reference --------

BITS_TYPES = ["int4", "uint4", "int2", "uint2", "float4_e2m1fn", "float8_e4m3fn",
              "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"]


def _reference(model, feeds):
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(model).run(None, feeds)[0]


def _bits_zero_point(rng, name, shape):
    """Zero points of the type: small integers for the integer types, 0 for float8 (which
    the spec requires), small codes for float4e2m1."""
    if name.startswith("float8"):
        return np.zeros(shape, np.dtype(name))
    if name == "float4_e2m1fn":
        return rng.choice(np.float32([0, 0.5, -1, 1.5]), size=shape).astype(np.dtype(name))
    lo, hi = (-2, 1) if name == "int2" else (0, 3) if name == "uint2" else (-3, 3)
    lo = max(lo, 0) if name.startswith("u") else lo
    return rng.integers(lo, hi + 1, size=shape).astype(np.dtype(name))


def _bits_layouts(rng, name):
    """(inputs, attrs) per tensor, per axis and blocked."""
    x = _values(rng, (4, 6), scale=4.0)
    return [
        ({"x": x, "scale": np.array(0.5, np.float32), "zp": _bits_zero_point(rng, name, ())},
         {}),
        ({"x": x, "scale": np.float32([0.5, 0.25, 1.0, 2.0]),
          "zp": _bits_zero_point(rng, name, (4,))}, {"axis": 0}),
        ({"x": x, "scale": np.float32(rng.uniform(0.2, 2, (4, 2))),
          "zp": _bits_zero_point(rng, name, (4, 2))}, {"axis": 1, "block_size": 3}),
    ]


@pytest.mark.parametrize("name", BITS_TYPES)
def test_quantize_bits_types(name, rng):
    for feeds, attrs in _bits_layouts(rng, name):
        model = make_model("QuantizeLinear", feeds, attrs=attrs, opset=21)
        got = dlgen_outputs(model, feeds)["y0"]
        assert got.dtype == np.dtype(name)
        np.testing.assert_array_equal(got.view(np.uint8),
                                      _reference(model, feeds).view(np.uint8))


@pytest.mark.parametrize("name", BITS_TYPES)
def test_dequantize_bits_types(name, rng):
    for feeds, attrs in _bits_layouts(rng, name):
        codes = rng.integers(0, 4 if name.endswith("2") else 16, feeds["x"].shape)
        feeds = dict(feeds, x=codes.astype(np.uint8).view(np.dtype(name)))
        if name == "float4_e2m1fn":  # the reference ignores a float4 zero point here (the
            feeds["zp"] = np.zeros_like(feeds["zp"])  # kernel subtracts it, as the spec says)
        if name.startswith("float8"):  # finite codes only
            feeds["x"] = np.where(np.isnan(feeds["x"].astype(np.float32)), 0, feeds["x"]
                                  ).astype(np.dtype(name))
        model = make_model("DequantizeLinear", feeds, attrs=attrs, opset=21)
        got = dlgen_outputs(model, feeds)["y0"]
        np.testing.assert_allclose(got, _reference(model, feeds), rtol=1e-6, atol=0)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_bits_quant_kernels_compile_strict(cc, tmp_path, rng):
    feeds = {"x": _values(rng, (2, 3)), "scale": np.array(0.5, np.float32),
             "zp": np.zeros((), np.dtype("int4"))}
    art = dlgen.compile(make_model("QuantizeLinear", feeds, opset=21), "c", tmp_path / "out",
                        name="quant")
    check_compiles(art.path, cc=cc)
