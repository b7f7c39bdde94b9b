"""Elementwise ops (unary, broadcasting binary, Where, Cast) against ONNX Runtime."""
import shutil

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import dlgen
from dlgen.ir import dtypes
from dlgen.targets.c.build import check_compiles
from dlgen.targets.c.ops.elementwise import BINARY, UNARY
from oplib import check_op, dlgen_outputs, make_model

UNARY_ATTRS = {"LeakyRelu": {"alpha": 0.2}, "HardSigmoid": {"alpha": 0.3, "beta": 0.4},
               "Elu": {"alpha": 0.7}, "Selu": {"alpha": 1.5, "gamma": 1.1},
               "Celu": {"alpha": 0.8}, "ThresholdedRelu": {"alpha": 0.5},
               "Shrink": {"lambd": 0.7, "bias": 0.2}}
POSITIVE_ONLY = {"Log", "Sqrt"}
UNIT_RANGE = {"Asin", "Acos", "Atanh"}  # domain (-1, 1)
OPSET = {"Mish": 18, "Swish": 24, "BitwiseNot": 18, "Celu": 12}
NOT_IN_ORT = {"Swish"}  # checked against numpy below
FLOAT_UNARY = sorted(op for op, row in UNARY.items() if "F" in row.types and op not in NOT_IN_ORT)


def unary_input(op, rng, dtype=np.float32):
    x = rng.standard_normal((2, 3, 5)) * 3
    if op in POSITIVE_ONLY:
        x = np.abs(x) + 0.1
    elif op in UNIT_RANGE:
        x = np.tanh(x) * 0.95
    elif op == "Acosh":
        x = np.abs(x) + 1
    elif op == "Round":
        x = np.round(x * 2) / 2  # exact halves: ties round to even
    return x.astype(dtype)


@pytest.mark.parametrize("op", FLOAT_UNARY)
def test_unary(op, rng):
    check_op(op, {"x": unary_input(op, rng)}, attrs=UNARY_ATTRS.get(op),
             opset=OPSET.get(op, 18))


@pytest.mark.parametrize("op", ["Exp", "Tanh", "Sin", "Sqrt", "Log", "Round", "Sign", "Abs",
                                "Neg", "Elu", "Floor"])
def test_unary_float64(op, rng):
    check_op(op, {"x": unary_input(op, rng, np.float64)}, attrs=UNARY_ATTRS.get(op),
             opset=OPSET.get(op, 18), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("op", ["Relu", "Neg", "Abs", "Sign", "Exp", "Sqrt", "Round", "Floor"])
def test_unary_float16(op, rng):
    check_op(op, {"x": unary_input(op, rng, np.float16)}, opset=18, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint32])
@pytest.mark.parametrize("op", ["Abs", "Neg", "Sign", "Relu", "BitwiseNot"])
def test_unary_int(op, dtype, rng):
    if op in ("Neg", "Relu") and np.dtype(dtype).kind == "u":
        pytest.skip("not defined for unsigned types")
    if op == "Relu" and dtype in (np.int64, np.uint8, np.uint32):
        pytest.skip("not in ONNX Runtime")
    x = rng.integers(-100 if np.dtype(dtype).kind == "i" else 0, 100, (3, 4)).astype(dtype)
    check_op(op, {"x": x}, opset=OPSET.get(op, 18))


def test_not(rng):
    check_op("Not", {"x": rng.random((3, 4)) < 0.5})


def test_swish_against_numpy(rng):
    x = unary_input("Swish", rng)
    model = make_model("Swish", {"x": x}, attrs={"alpha": 1.5}, opset=24)
    got = dlgen_outputs(model, {"x": x})["y0"]
    np.testing.assert_allclose(got, x / (1 + np.exp(-1.5 * x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(approximate, rng):
    check_op("Gelu", {"x": unary_input("Gelu", rng)}, attrs={"approximate": approximate},
             opset=20)


def test_isnan_isinf():
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -2.5], np.float32)
    check_op("IsNaN", {"x": x}, opset=13)
    for pos, neg in ((1, 1), (1, 0), (0, 1), (0, 0)):
        check_op("IsInf", {"x": x}, attrs={"detect_positive": pos, "detect_negative": neg})
    check_op("IsInf", {"x": x.astype(np.float16)}, opset=20)


BROADCAST_SHAPES = [
    ((2, 3, 4), (2, 3, 4)),   # same shape
    ((2, 3, 4), ()),          # scalar
    ((2, 3, 4), (4,)),        # trailing row
    ((2, 1, 4), (3, 1)),      # both broadcast
    ((1,), (5, 2)),
    ((3, 1, 1, 2), (1, 4, 5, 1)),
]


def binary_inputs(op, shapes, rng, dtype):
    """Random operands of ``dtype`` valid for ``op``."""
    if dtype == np.bool_:
        return rng.random(shapes[0]) < 0.5, rng.random(shapes[1]) < 0.5
    if np.dtype(dtype).kind in "iu":
        lo = 0 if np.dtype(dtype).kind == "u" else -20
        a = rng.integers(lo, 20, shapes[0]).astype(dtype)
        b = rng.integers(lo, 20, shapes[1]).astype(dtype)
        if op in ("Div", "Mod"):
            b = np.where(b == 0, 3, b).astype(dtype)
        return a, b
    a = rng.standard_normal(shapes[0]).astype(dtype)
    b = rng.standard_normal(shapes[1]).astype(dtype)
    if op == "Pow":
        a = (np.abs(a) + 0.5).astype(dtype)
    if op == "Div":
        b = np.where(np.abs(b) < 0.1, 0.5, b).astype(dtype)
    return a, b


def natural_dtype(op):
    types = BINARY[op].types
    return np.float32 if "F" in types else (np.bool_ if types == "B" else np.int32)


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
def test_binary_broadcast(op, shapes, rng):
    a, b = binary_inputs(op, shapes, rng, natural_dtype(op))
    check_op(op, {"a": a, "b": b}, opset=18)


INT_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


@pytest.mark.parametrize("dtype", INT_TYPES)
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Less",
                                "GreaterOrEqual", "BitwiseAnd", "BitwiseXor", "Mod"])
def test_binary_int(op, dtype, rng):
    if op in ("Add", "Sub", "Mul", "Div", "Max", "Min") and dtype in (np.int8, np.int16,
                                                                       np.uint16):
        pytest.skip("not in ONNX Runtime")
    a, b = binary_inputs(op, ((3, 4), (4,)), rng, dtype)
    check_op(op, {"a": a, "b": b}, opset=18)


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Less",
                                "Equal"])
def test_binary_float_types(op, dtype, rng):
    a, b = binary_inputs(op, ((3, 4), (3, 1)), rng, dtype)
    tol = 1e-3 if dtype == np.float16 else 1e-12
    check_op(op, {"a": a, "b": b}, opset=18, atol=tol, rtol=tol)


def test_int_division_truncates_toward_zero():
    a = np.array([7, -7, 7, -7, 0], np.int64)
    b = np.array([2, 2, -2, -2, 5], np.int64)
    got = check_op("Div", {"a": a, "b": b}, opset=14)
    assert got["y0"].tolist() == [3, -3, -3, 3, 0]


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16, np.float32,
                                   np.float64, np.float16])
@pytest.mark.parametrize("fmod", [0, 1])
def test_mod(dtype, fmod, rng):
    if np.dtype(dtype).kind == "f" and fmod == 0:
        pytest.skip("ONNX Runtime needs fmod=1 for floats (see test_mod_float_fmod0)")
    a = (rng.standard_normal((3, 4)) * 10).astype(dtype)
    b = (rng.standard_normal((4,)) * 4).astype(dtype)
    b = np.where(np.abs(b) < 1, 3, b).astype(dtype)
    if np.dtype(dtype).kind == "u":
        a, b = np.abs(a).astype(dtype), np.abs(b).astype(dtype)
    check_op("Mod", {"a": a, "b": b}, attrs={"fmod": fmod}, opset=13, atol=1e-3, rtol=1e-3)


def test_mod_float_fmod0():
    """fmod=0 on floats follows numpy.mod: the sign of the divisor, zeros included."""
    a = np.array([0, -0.0, -3, 3, -1, 1, np.inf, 1, -4.3, 7.2], np.float32)
    b = np.array([-2, 2, np.inf, np.inf, -np.inf, -np.inf, 2, 0, 2.1, -3.4], np.float32)
    got = dlgen_outputs(make_model("Mod", {"a": a, "b": b}, attrs={"fmod": 0}, opset=13),
                        {"a": a, "b": b})["y0"]
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.mod(a, b)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
def test_bitshift_unsigned(direction, dtype, rng):
    a = rng.integers(0, 200, (3, 4)).astype(dtype)
    b = rng.integers(0, 8, (4,)).astype(dtype)
    check_op("BitShift", {"a": a, "b": b}, attrs={"direction": direction}, opset=11)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_bitshift_signed(dtype):
    """Signed shifts: arithmetic right, wrapping left, out-of-range amounts saturate."""
    bits = 8 * np.dtype(dtype).itemsize
    a = np.array([-8, 4, -1, 64, -8, 1], dtype)
    b = np.array([1, bits, bits + 3, 1, -1, bits - 1], dtype)
    feeds = {"a": a, "b": b}
    for direction, want in (
            ("RIGHT", [-4, 0, -1, 32, -1, 0]),
            ("LEFT", [-16, 0, 0, 128, 0, np.iinfo(dtype).min])):
        model = make_model("BitShift", feeds, attrs={"direction": direction}, opset=11)
        got = dlgen_outputs(model, feeds)["y0"]
        want = np.array(want).astype(np.int64).astype(dtype)  # 128 wraps in int8
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("types", [(np.float32, np.int64), (np.int64, np.float32),
                                   (np.int32, np.int32), (np.int64, np.int64)])
def test_pow_mixed_types(types, rng):
    a = rng.integers(1, 5, (2, 3)).astype(types[0])
    b = rng.integers(0, 6, (3,)).astype(types[1])
    check_op("Pow", {"a": a, "b": b}, opset=15)


@pytest.mark.parametrize("op", ["Max", "Min", "Sum", "Mean"])
@pytest.mark.parametrize("shapes", [[(2, 3)], [(2, 3), (3,)], [(2, 3), (3,), (1, 3)],
                                    [(3,), (1, 3), (2, 3)], [(3,), (2, 1)]])
def test_variadic(op, shapes, rng):
    xs = {f"x{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate(shapes)}
    check_op(op, xs, opset=13)


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3), (2, 3)), ((3,), (2, 1), ()),
                                    ((2, 1, 4), (3, 1), (1,))])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.float16])
def test_where(shapes, dtype, rng):
    cond = rng.random(shapes[0]) < 0.5
    x = (rng.standard_normal(shapes[1]) * 10).astype(dtype)
    y = (rng.standard_normal(shapes[2]) * 10).astype(dtype)
    check_op("Where", {"c": cond, "x": x, "y": y}, opset=16)


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
def test_prelu(shapes, rng):
    if np.broadcast_shapes(*shapes) != shapes[0]:
        pytest.skip("PRelu broadcasts the slope to X only")
    x, slope = binary_inputs("PRelu", shapes, rng, np.float32)
    check_op("PRelu", {"x": x, "slope": slope})


def test_prelu_opset6_per_channel_slope(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    slope = rng.random(3).astype(np.float32)
    model = make_model("PRelu", {"x": x}, consts={"slope": slope}, opset=6)
    got = dlgen_outputs(model, {"x": x})["y0"]
    np.testing.assert_allclose(got, np.where(x < 0, x * slope[:, None], x), rtol=1e-6)


def test_prelu_channel_slope(rng):
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    check_op("PRelu", {"x": x}, consts={"slope": rng.random((3, 1, 1)).astype(np.float32)})


def test_binary_with_constant_operand(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    check_op("Mul", {"a": a}, consts={"b": rng.standard_normal((6,)).astype(np.float32)})


@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (None, 0.3), (-0.2, None), (None, None),
                                    (0.5, -0.5)])
def test_clip_inputs(bounds, rng):
    x = rng.standard_normal((3, 7)).astype(np.float32)
    consts, order = {}, ["x"]
    for name, v in zip(("lo", "hi"), bounds):
        if v is None:
            order.append("")
        else:
            consts[name] = np.array(v, np.float32)
            order.append(name)
    check_op("Clip", {"x": x}, consts=consts, input_order=order, opset=13)


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint64, np.float16])
def test_clip_types(dtype, rng):
    x = (rng.standard_normal((3, 7)) * 100).astype(dtype)
    if np.dtype(dtype).kind == "u":
        x = np.abs(x).astype(dtype)
    check_op("Clip", {"x": x}, input_order=["x", "", ""], opset=13)
    check_op("Clip", {"x": x}, consts={"hi": np.array(20, dtype)}, input_order=["x", "", "hi"],
             opset=13)


def test_clip_attrs_opset6(rng):
    x = rng.standard_normal((3, 7)).astype(np.float32)
    check_op("Clip", {"x": x}, attrs={"min": -0.1, "max": 0.2}, opset=6)


# -- Cast and 16-bit floats ----------------------------------------------------------------------

CAST_TYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64,
              np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]


def cast_input(src, rng):
    x = rng.standard_normal(24) * 50
    if np.dtype(src).kind in "u":
        x = np.abs(x)
    if np.dtype(src).kind in "iu":
        x = np.clip(x, np.iinfo(src).min, np.iinfo(src).max)
    if src == np.bool_:
        return (x > 0).reshape(4, 6)
    return x.astype(src).reshape(4, 6)


@pytest.mark.parametrize("dst", CAST_TYPES)
@pytest.mark.parametrize("src", CAST_TYPES)
def test_cast_matrix(src, dst, rng):
    x = cast_input(src, rng)
    if np.dtype(dst).kind in "iu" and np.dtype(src).kind == "f":
        x = np.clip(x, 0 if np.dtype(dst).kind == "u" else -100, 100).astype(src)  # in range
    got = check_op("Cast", {"x": x}, attrs={"to": dtypes.to_onnx(np.dtype(dst))}, opset=13)
    assert got["y0"].dtype == dst


def test_cast_like(rng):
    x = cast_input(np.float32, rng)
    check_op("CastLike", {"x": x, "like": np.zeros(1, np.float16)}, opset=15)


HALF_EDGES = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 65519.0, 65520.0, 1e6, -1e6, 6.1e-5,
                       6.0e-8, 2.98e-8, 2.99e-8, 1e-9, np.inf, -np.inf, np.nan,
                       1.0009765625, 1.00048828125, 1.00146484375, 3.0e-5, 5.9604645e-8],
                      np.float32)


def test_float_to_float16_rounds_like_numpy(rng):
    """Round to nearest even, subnormals, overflow to infinity, NaN: bit-exact with numpy."""
    x = np.concatenate([HALF_EDGES, rng.standard_normal(2000).astype(np.float32) *
                        np.float32(10.0) ** rng.integers(-9, 6, 2000)]).astype(np.float32)
    model = make_model("Cast", {"x": x}, attrs={"to": TensorProto.FLOAT16}, opset=13)
    got = dlgen_outputs(model, {"x": x})["y0"]
    want = x.astype(np.float16)
    np.testing.assert_array_equal(got.view(np.uint16)[~np.isnan(want)],
                                  want.view(np.uint16)[~np.isnan(want)])
    assert np.isnan(got[np.isnan(want)]).all()
    back = make_model("Cast", {"h": want}, attrs={"to": TensorProto.FLOAT}, opset=13)
    np.testing.assert_array_equal(dlgen_outputs(back, {"h": want})["y0"], want.astype(np.float32))


def test_float_bfloat16_round_trip(rng):
    x = np.concatenate([HALF_EDGES, rng.standard_normal(2000).astype(np.float32) * 1e3])
    x = x.astype(np.float32)
    model = make_model("Cast", {"x": x}, attrs={"to": TensorProto.BFLOAT16}, opset=13)
    got = dlgen_outputs(model, {"x": x})["y0"]
    want = x.astype(ml_dtypes.bfloat16)
    assert got.dtype == want.dtype
    finite = ~np.isnan(x)
    np.testing.assert_array_equal(got.view(np.uint16)[finite], want.view(np.uint16)[finite])
    assert np.isnan(got.astype(np.float32)[~finite]).all()
    back = make_model("Cast", {"h": want}, attrs={"to": TensorProto.FLOAT}, opset=13)
    np.testing.assert_array_equal(dlgen_outputs(back, {"h": want})["y0"], want.astype(np.float32))


def test_bfloat16_add_and_constant(rng):
    a = rng.standard_normal((3, 4)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((4,)).astype(ml_dtypes.bfloat16)
    model = make_model("Add", {"a": a}, consts={"b": b}, opset=14)
    got = dlgen_outputs(model, {"a": a})["y0"]
    want = (a.astype(np.float32) + b.astype(np.float32)).astype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


def test_float16_constant_operand(rng):
    a = rng.standard_normal((3, 4)).astype(np.float16)
    check_op("Mul", {"a": a}, consts={"b": np.array([1.5, -2, np.inf, 0.25], np.float16)},
             atol=1e-3, rtol=1e-3)


def test_dtypes_from_onnx_knows_every_type():
    for elem in (TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.FLOAT8E4M3FN,
                 TensorProto.FLOAT8E5M2, TensorProto.INT4, TensorProto.UINT4, TensorProto.INT2,
                 TensorProto.FLOAT4E2M1, TensorProto.FLOAT8E8M0):
        assert dtypes.has_c_type(dtypes.from_onnx(elem))


def test_sub_byte_types_refused_by_arithmetic():
    x = np.arange(4).astype(ml_dtypes.int4)
    model = make_model("Add", {"a": x, "b": x}, opset=21)
    with pytest.raises(dlgen.errors.Unsupported, match="int4 is not supported"):
        dlgen_outputs(model, {"a": x, "b": x})


@pytest.mark.parametrize("op,types", [("Sin", "int32"), ("BitwiseAnd", "float")])
def test_refuses_wrong_types(op, types, tmp_path):
    t = getattr(TensorProto, types.upper())
    n_in = 1 if op in UNARY else 2
    names = ["a", "b"][:n_in]
    node = helper.make_node(op, names, ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, t, [2])
                                            for n in names],
                              [helper.make_tensor_value_info("y", t, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(dlgen.errors.Unsupported, match="element type"):
        dlgen.compile(model, "c", tmp_path / "out")


COMPILERS = [cc for cc in ("gcc", "clang") if shutil.which(cc)]


@pytest.mark.parametrize("cc", COMPILERS)
def test_generated_code_compiles_strict(cc, tmp_path):
    """A graph touching every kind of row and element type, held to -Werror."""
    f16, i8, u64, b = TensorProto.FLOAT16, TensorProto.INT8, TensorProto.UINT64, TensorProto.BOOL
    n = helper.make_node
    nodes = [
        n("Cast", ["x"], ["xh"], to=f16), n("Mish", ["xh"], ["m"]), n("Round", ["m"], ["r"]),
        n("Less", ["r", "xh"], ["lt"]), n("Not", ["lt"], ["nt"]), n("Xor", ["lt", "nt"], ["xo"]),
        n("Where", ["xo", "r", "xh"], ["w"]), n("Cast", ["w"], ["wb"], to=TensorProto.BFLOAT16),
        n("Sign", ["i"], ["si"]), n("Abs", ["u"], ["au"]), n("Mod", ["i", "i"], ["mi"]),
        n("Mod", ["x", "x"], ["mx"], fmod=1), n("BitShift", ["i", "i"], ["bs"], direction="LEFT"),
        n("BitShift", ["u", "u"], ["bu"], direction="RIGHT"), n("Pow", ["i", "i"], ["pi"]),
        n("Max", ["u", "u"], ["mu"]), n("Clip", ["i"], ["ci"]), n("IsInf", ["xh"], ["inf"]),
        n("Gelu", ["x"], ["g"], approximate="tanh"), n("Mean", ["x", "x", "x"], ["mean"]),
        n("PRelu", ["u", "u"], ["pu"]), n("Shrink", ["i"], ["sh"]),
        n("Cast", ["x"], ["f8"], to=TensorProto.FLOAT8E5M2, saturate=0),
        n("Cast", ["f8"], ["f8x"], to=TensorProto.FLOAT),
    ]
    outs = {"wb": TensorProto.BFLOAT16, "si": i8, "au": u64, "mi": i8, "mx": TensorProto.FLOAT,
            "bs": i8, "bu": u64, "pi": i8, "mu": u64, "ci": i8, "inf": b,
            "g": TensorProto.FLOAT, "mean": TensorProto.FLOAT, "pu": u64, "sh": i8,
            "f8x": TensorProto.FLOAT}
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
                     helper.make_tensor_value_info("i", i8, [2, 3]),
                     helper.make_tensor_value_info("u", u64, [2, 3])],
        [helper.make_tensor_value_info(k, t, [2, 3]) for k, t in outs.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    onnx.checker.check_model(model)
    art = dlgen.compile(model, "c", tmp_path / "out", name="m")
    check_compiles(art.path, cc=cc)


FLOAT8 = [("float8_e4m3fn", TensorProto.FLOAT8E4M3FN),
          ("float8_e4m3fnuz", TensorProto.FLOAT8E4M3FNUZ),
          ("float8_e5m2", TensorProto.FLOAT8E5M2),
          ("float8_e5m2fnuz", TensorProto.FLOAT8E5M2FNUZ)]


@pytest.mark.parametrize("name,elem", FLOAT8)
def test_float8_cast_round_trip(name, elem, rng):
    """float -> float8 (saturating, in range) and back: bit-exact with ml_dtypes."""
    f8 = np.dtype(getattr(ml_dtypes, name))
    finfo = ml_dtypes.finfo(f8)
    x = np.concatenate([[0.0, 1.0, -1.5, float(finfo.max), -float(finfo.max),
                         float(finfo.smallest_subnormal), float(finfo.smallest_subnormal) / 2],
                        rng.standard_normal(1000) * 2.0 ** rng.integers(-12, 12, 1000)])
    x = np.clip(x, -float(finfo.max), float(finfo.max)).astype(np.float32)
    model = make_model("Cast", {"x": x}, attrs={"to": elem}, opset=19)
    got = dlgen_outputs(model, {"x": x})["y0"]
    np.testing.assert_array_equal(got.view(np.uint8), x.astype(f8).view(np.uint8))
    back_model = make_model("Cast", {"h": got}, attrs={"to": TensorProto.FLOAT}, opset=19)
    back = dlgen_outputs(back_model, {"h": got})["y0"]
    np.testing.assert_array_equal(back, got.astype(np.float32))


@pytest.mark.parametrize("saturate", [0, 1])
@pytest.mark.parametrize("name,elem", FLOAT8)
def test_float8_out_of_range(name, elem, saturate):
    x = np.array([1e6, -1e6, np.inf, -np.inf, np.nan], np.float32)
    model = make_model("Cast", {"x": x}, attrs={"to": elem, "saturate": saturate}, opset=19)
    got = dlgen_outputs(model, {"x": x})["y0"].astype(np.float32)
    big = float(ml_dtypes.finfo(np.dtype(getattr(ml_dtypes, name))).max)
    if saturate:
        want = [big, -big, big, -big, np.nan]
    elif name == "float8_e5m2":
        want = [np.inf, -np.inf, np.inf, -np.inf, np.nan]
    else:
        want = [np.nan] * 5
    np.testing.assert_array_equal(got, np.array(want, np.float32))


def test_float8_refused_by_arithmetic(tmp_path):
    node = helper.make_node("Add", ["a", "b"], ["y"])
    t = TensorProto.FLOAT8E4M3FN
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, t, [2])
                                            for n in "ab"],
                              [helper.make_tensor_value_info("y", t, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    with pytest.raises(dlgen.errors.Unsupported, match="float8_e4m3fn is not supported"):
        dlgen.compile(model, "c", tmp_path / "out")


# -- sub-byte and exotic types: one element a byte, bit-exact with the ONNX reference ----------

SUB_BYTE = [("int4", TensorProto.INT4), ("uint4", TensorProto.UINT4), ("int2", TensorProto.INT2),
            ("uint2", TensorProto.UINT2), ("float4_e2m1fn", TensorProto.FLOAT4E2M1),
            ("float8_e8m0fnu", TensorProto.FLOAT8E8M0)]


def _reference(model, feeds):
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(model).run(None, feeds)[0]


def _edge_floats(rng):
    specials = [0.0, -0.0, 0.25, 0.75, 1.25, 2.5, 3.5, -2.5, 5.0, 7.0, -7.5, 8.0, 15.5, 16.0, 17.0,
                -17.0, 1e6, -1e6, 1e-7, 3e38, np.inf, -np.inf, np.nan]
    return np.concatenate([specials, rng.standard_normal(500) * 2.0 ** rng.integers(-6, 8, 500)]
                          ).astype(np.float32)


@pytest.mark.parametrize("src", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("name,elem", SUB_BYTE)
def test_cast_to_sub_byte(name, elem, src, rng):
    """Integers wrap modulo 2^bits, float4e2m1 rounds to even and saturates, float8e8m0 rounds
    its exponent up: the stored bits equal the ONNX reference's."""
    x = _edge_floats(rng).astype(src)
    model = make_model("Cast", {"x": x}, attrs={"to": elem}, opset=24)
    got = dlgen_outputs(model, {"x": x})["y0"]
    assert got.dtype == np.dtype(name)
    want = _reference(model, {"x": x})
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("dst", [np.float32, np.float16, np.int8, np.uint8, np.int64, np.bool_])
@pytest.mark.parametrize("name,elem", SUB_BYTE)
def test_cast_from_sub_byte(name, elem, dst, rng):
    codes = np.arange(256 if name == "float8_e8m0fnu" else 16, dtype=np.uint8)
    if name.endswith("2"):
        codes = codes[:4]
    x = codes.view(np.dtype(name))
    if name.startswith("float") and np.dtype(dst).kind in "iu":
        x = x[np.abs(x.astype(np.float32)) < 100]  # NaN and out-of-range are undefined in C
    to = helper.np_dtype_to_tensor_dtype(np.dtype(dst))
    model = make_model("Cast", {"x": x}, attrs={"to": to}, opset=24)
    got = dlgen_outputs(model, {"x": x})["y0"]
    np.testing.assert_array_equal(got, _reference(model, {"x": x}))


@pytest.mark.parametrize("saturate", [0, 1])
@pytest.mark.parametrize("round_mode", ["up", "nearest", "down"])
def test_cast_to_float8e8m0_modes(round_mode, saturate, rng):
    x = np.concatenate([_edge_floats(rng), [1.5, 3.0, 1.7e38, 3.4e38, 1e-39, 1.2e-38]]
                       ).astype(np.float32)
    model = make_model("Cast", {"x": x}, attrs={"to": TensorProto.FLOAT8E8M0,
                                                "round_mode": round_mode, "saturate": saturate},
                       opset=24)
    got = dlgen_outputs(model, {"x": x})["y0"]
    np.testing.assert_array_equal(got.view(np.uint8), _reference(model, {"x": x}).view(np.uint8))


@pytest.mark.parametrize("name,elem", SUB_BYTE[:5])
def test_cast_like_sub_byte_and_constant(name, elem, rng):
    """CastLike to a sub-byte type, then back through a constant operand of that type."""
    x = _edge_floats(rng)[:40]
    like = np.zeros(1, np.dtype(name))
    model = make_model("CastLike", {"x": x}, consts={"like": like}, opset=21)
    got = dlgen_outputs(model, {"x": x})["y0"]
    np.testing.assert_array_equal(got.view(np.uint8),
                                  _reference(model, {"x": x}).view(np.uint8))
    table = np.arange(4, dtype=np.uint8).view(np.dtype(name))  # a constant array of the type
    where = make_model("Where", {"c": np.array([True, False, True, False])},
                       consts={"a": table, "b": table[::-1].copy()}, opset=21)
    got = dlgen_outputs(where, {"c": np.array([True, False, True, False])})["y0"]
    np.testing.assert_array_equal(got.view(np.uint8), np.array([0, 2, 2, 0], np.uint8))


@pytest.mark.parametrize("cc", COMPILERS)
def test_sub_byte_casts_compile_strict(cc, tmp_path):
    n = helper.make_node
    nodes = [n("Cast", ["x"], [f"c{i}"], to=elem) for i, (_, elem) in enumerate(SUB_BYTE)]
    nodes += [n("Cast", [f"c{i}"], [f"b{i}"], to=TensorProto.FLOAT) for i in range(len(SUB_BYTE))]
    nodes.append(n("Cast", ["x"], ["e"], to=TensorProto.FLOAT8E8M0, round_mode="nearest"))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info(f"b{i}", TensorProto.FLOAT, [2, 3])
         for i in range(len(SUB_BYTE))]
        + [helper.make_tensor_value_info("e", TensorProto.FLOAT8E8M0, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 24)])
    onnx.checker.check_model(model)
    art = dlgen.compile(model, "c", tmp_path / "out", name="m")
    check_compiles(art.path, cc=cc)
