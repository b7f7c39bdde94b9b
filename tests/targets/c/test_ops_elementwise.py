"""Elementwise ops (unary and broadcasting binary) against ONNX Runtime."""
import numpy as np
import pytest

from dlgen.targets.c.ops.elementwise import BINARY, UNARY
from oplib import check_op

UNARY_ATTRS = {"LeakyRelu": {"alpha": 0.2}, "HardSigmoid": {"alpha": 0.3, "beta": 0.4},
               "Elu": {"alpha": 0.7}, "Selu": {"alpha": 1.5, "gamma": 1.1}}
POSITIVE_ONLY = {"Log", "Sqrt"}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op, rng):
    x = rng.standard_normal((2, 3, 5)).astype(np.float32) * 3
    if op in POSITIVE_ONLY:
        x = np.abs(x) + 0.1
    check_op(op, {"x": x}, attrs=UNARY_ATTRS.get(op), opset=18 if op != "HardSwish" else 18)


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("shapes", [
    ((2, 3, 4), (2, 3, 4)),   # same shape
    ((2, 3, 4), ()),          # scalar
    ((2, 3, 4), (4,)),        # trailing row
    ((2, 1, 4), (3, 1)),      # both broadcast
    ((1,), (5, 2)),
    ((3, 1, 1, 2), (1, 4, 5, 1)),
])
def test_binary_broadcast(op, shapes, rng):
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    b = rng.standard_normal(shapes[1]).astype(np.float32)
    if op == "Pow":
        a = np.abs(a) + 0.5
    if op == "Div":
        b = np.where(np.abs(b) < 0.1, 0.5, b).astype(np.float32)
    check_op(op, {"a": a, "b": b})


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Max", "Min"])
def test_binary_int64(op, rng):
    a = rng.integers(-50, 50, (3, 4)).astype(np.int64)
    b = rng.integers(-50, 50, (4,)).astype(np.int64)
    check_op(op, {"a": a, "b": b}, opset=13)


@pytest.mark.parametrize("op", ["Max", "Min", "Sum"])
@pytest.mark.parametrize("count", [1, 2, 3])
def test_variadic(op, count, rng):
    shapes = [(2, 3), (3,), (1, 3)][:count]
    xs = {f"x{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate(shapes)}
    check_op(op, xs)


def test_binary_with_constant_operand(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    check_op("Mul", {"a": a}, consts={"b": rng.standard_normal((6,)).astype(np.float32)})


@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (None, 0.3), (-0.2, None), (None, None)])
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


def test_clip_attrs_opset6(rng):
    x = rng.standard_normal((3, 7)).astype(np.float32)
    check_op("Clip", {"x": x}, attrs={"min": -0.1, "max": 0.2}, opset=6)


@pytest.mark.parametrize("to_dtype,onnx_to", [(np.int64, 7), (np.float64, 11), (np.int32, 6),
                                               (np.bool_, 9)])
def test_cast_from_float(to_dtype, onnx_to, rng):
    x = (rng.standard_normal((4, 5)) * 10).astype(np.float32)
    got = check_op("Cast", {"x": x}, attrs={"to": onnx_to}, opset=13)
    assert got["y0"].dtype == to_dtype


def test_cast_int_to_float(rng):
    x = rng.integers(-100, 100, (6,)).astype(np.int64)
    check_op("Cast", {"x": x}, attrs={"to": 1}, opset=13)
