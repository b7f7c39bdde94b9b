"""Elementwise ops as table rows: op -> C expression over the element locals.

Unary rows use ``x``; binary rows use ``a`` and ``b``. ``{f}`` stands for the float suffix of
the math library (``expf`` for float32, ``exp`` for float64); attribute values are formatted
into the expression by keyword (``{alpha}``). Adding an op is adding a row.

Element types: a row says which classes of its first input's type it accepts (F: floats, I:
signed integers, U: unsigned integers, B: bool) and may give another expression for integers.
float16 and bfloat16 are stored as uint16_t bits: every operand is loaded into a float local
and the result stored back through a rounding conversion (runtime_c/include/dlgen/half.h).
"""
from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass, field

import numpy as np

from ....ir.dtypes import is_float8, is_half, is_subbyte, stored_as_bits
from ..lower import NodeContext, Tensor, c_literal
from ..registry import lowering
from .broadcast import broadcast_strides, collapse



@dataclass(frozen=True)
class Row:
    expr: str
    types: str = "F"                  # accepted classes of the first input's type
    defaults: dict = field(default_factory=dict)  # attribute -> spec default
    int_expr: str | None = None       # for signed and unsigned integers (None: expr)
    uint_expr: str | None = None      # for unsigned integers (None: int_expr)

    def for_dtype(self, dtype: np.dtype) -> str:
        kind = type_class(dtype)
        if kind == "U" and self.uint_expr is not None:
            return self.uint_expr
        if kind in "IU" and self.int_expr is not None:
            return self.int_expr
        return self.expr


UNARY: dict[str, Row] = {
    "Relu": Row("x < 0 ? 0 : x", "FI"),
    "LeakyRelu": Row("x >= 0 ? x : {alpha} * x", defaults={"alpha": 0.01}),
    "Sigmoid": Row("dlg_sigmoid(x)"),
    "Tanh": Row("tanh{f}(x)"),
    "HardSigmoid": Row("dlg_clampf({alpha} * x + {beta}, 0.0f, 1.0f)",
                       defaults={"alpha": 0.2, "beta": 0.5}),
    "HardSwish": Row("x * dlg_clampf(x / 6.0f + 0.5f, 0.0f, 1.0f)"),
    "Elu": Row("x >= 0 ? x : {alpha} * (exp{f}(x) - 1)", defaults={"alpha": 1.0}),
    "Selu": Row("{gamma} * (x > 0 ? x : {alpha} * (exp{f}(x) - 1))",
                defaults={"alpha": 1.67326319217681884765625,
                          "gamma": 1.05070102214813232421875}),
    "Celu": Row("x > 0 ? x : {alpha} * (exp{f}(x / {alpha}) - 1)", defaults={"alpha": 1.0}),
    "ThresholdedRelu": Row("x > {alpha} ? x : 0", defaults={"alpha": 1.0}),
    "Shrink": Row("x < -{lambd} ? x + {bias} : (x > {lambd} ? x - {bias} : 0)", "FIU",
                  defaults={"lambd": 0.5, "bias": 0.0}),
    "Softplus": Row("x > 20 ? x : log1p{f}(exp{f}(x))"),
    "Softsign": Row("x / (1 + fabs{f}(x))"),
    "Mish": Row("x * tanh{f}(x > 20 ? x : log1p{f}(exp{f}(x)))"),
    "Swish": Row("x / (1 + exp{f}(-{alpha} * x))", defaults={"alpha": 1.0}),
    "Exp": Row("exp{f}(x)"),
    "Log": Row("log{f}(x)"),
    "Sqrt": Row("sqrt{f}(x)"),
    "Neg": Row("-x", "FI"),
    "Abs": Row("x < 0 ? -x : x", "FIU", uint_expr="x"),
    "Sign": Row("x > 0 ? 1 : (x < 0 ? -1 : x)", "FIU", int_expr="(x > 0) - (x < 0)",
                uint_expr="x > 0"),
    "Reciprocal": Row("1 / x"),
    "Floor": Row("floor{f}(x)"),
    "Ceil": Row("ceil{f}(x)"),
    "Round": Row("nearbyint{f}(x)"),  # the default rounding mode: half to even
    "Erf": Row("erf{f}(x)"),
    "Sin": Row("sin{f}(x)"),
    "Cos": Row("cos{f}(x)"),
    "Tan": Row("tan{f}(x)"),
    "Asin": Row("asin{f}(x)"),
    "Acos": Row("acos{f}(x)"),
    "Atan": Row("atan{f}(x)"),
    "Sinh": Row("sinh{f}(x)"),
    "Cosh": Row("cosh{f}(x)"),
    "Asinh": Row("asinh{f}(x)"),
    "Acosh": Row("acosh{f}(x)"),
    "Atanh": Row("atanh{f}(x)"),
    "IsNaN": Row("isnan(x) != 0"),
    "Not": Row("!x", "B"),
    "BitwiseNot": Row("~x", "IU"),
}

BINARY: dict[str, Row] = {
    "Add": Row("a + b", "FIU"),
    "Sub": Row("a - b", "FIU"),
    "Mul": Row("a * b", "FIU"),
    "Div": Row("a / b", "FIU"),  # integers truncate toward zero, like ONNX Runtime
    "Max": Row("(a > b || a != a) ? a : b", "FIU", int_expr="a > b ? a : b"),
    "Min": Row("(a < b || a != a) ? a : b", "FIU", int_expr="a < b ? a : b"),
    "Sum": Row("a + b", "FIU"),
    "Equal": Row("a == b", "FIUB"),
    "Less": Row("a < b", "FIU"),
    "LessOrEqual": Row("a <= b", "FIU"),
    "Greater": Row("a > b", "FIU"),
    "GreaterOrEqual": Row("a >= b", "FIU"),
    "And": Row("a && b", "B"),
    "Or": Row("a || b", "B"),
    "Xor": Row("!a != !b", "B"),
    "BitwiseAnd": Row("a & b", "IU"),
    "BitwiseOr": Row("a | b", "IU"),
    "BitwiseXor": Row("a ^ b", "IU"),
}

VARIADIC = {"Max", "Min", "Sum"}
_CLASS_NAMES = {"F": "float", "I": "signed integer", "U": "unsigned integer", "B": "bool"}
_MATH_SUFFIX = {"float32": "f", "float64": ""}
# stored-as-bits type -> (runtime module, load conversion, store conversion (saturating))
_CONVERSIONS = {
    "float16": ("half", "dlg_f16_to_f32", "dlg_f32_to_f16"),
    "bfloat16": ("half", "dlg_bf16_to_f32", "dlg_f32_to_bf16"),
    **{f"float8_{v}": ("float8", f"dlg_f8{v}_to_f32", f"dlg_f32_to_f8{v}")
       for v in ("e4m3fn", "e4m3fnuz", "e5m2", "e5m2fnuz")},
    # sub-byte integers store wrapped modulo 2^bits (their conversions take a double)
    **{t: ("subbyte", f"dlg_{s}_to_f32", f"dlg_to_{s}")
       for t, s in (("int4", "i4"), ("uint4", "u4"), ("int2", "i2"), ("uint2", "u2"))},
    "float4_e2m1fn": ("subbyte", "dlg_f4e2m1_to_f32", "dlg_f32_to_f4e2m1"),
    "float8_e8m0fnu": ("subbyte", "dlg_f8e8m0_to_f32", "dlg_f32_to_f8e8m0"),
}
_E8M0_ROUND = {"up": "DLG_E8M0_ROUND_UP", "nearest": "DLG_E8M0_ROUND_NEAREST",
               "down": "DLG_E8M0_ROUND_DOWN"}


def type_class(dtype: np.dtype) -> str:
    """F, I, U or B; "8" for the float8 and sub-byte types, which only Cast, CastLike and Where
    accept."""
    if is_float8(dtype) or is_subbyte(dtype):
        return "8"
    if dtype == np.bool_:
        return "B"
    if is_half(dtype) or dtype.kind == "f":
        return "F"
    return "I" if dtype.kind == "i" else "U"


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The type kernels compute in: float for the 16- and 8-bit floats, else the type itself."""
    return np.dtype(np.float32) if stored_as_bits(dtype) else dtype


def check_types(ctx: NodeContext, dtype: np.dtype, allowed: str) -> None:
    if type_class(dtype) not in allowed:
        names = " or ".join(_CLASS_NAMES[c] for c in allowed)
        ctx.unsupported(f"element type {dtype.name} is not supported ({names} needed)")


def _suffix(ctx: NodeContext, dtype: np.dtype, expr: str) -> str:
    if "{f}" not in expr:
        return ""
    name = compute_dtype(dtype).name
    if name not in _MATH_SUFFIX:
        ctx.unsupported(f"element type {dtype.name} is not supported (a float type needed)")
    return _MATH_SUFFIX[name]


def load(ctx: NodeContext, t: Tensor) -> tuple[str, str]:
    """(C type of the element local, conversion applied when loading: "" or a function)."""
    if stored_as_bits(t.dtype):
        module, to_float, _ = _CONVERSIONS[t.dtype.name]
        ctx.runtime(module)
        return "float", to_float
    return t.ctype, ""


def store(ctx: NodeContext, t: Tensor) -> str:
    """What wraps the result expression when storing: a cast or a rounding conversion."""
    if stored_as_bits(t.dtype):
        module, _, from_float = _CONVERSIONS[t.dtype.name]
        ctx.runtime(module)
        return from_float
    return f"({t.ctype})"


def emit_unary(ctx: NodeContext, expr: str, x: Tensor | None = None,
               y: Tensor | None = None) -> None:
    x = x or ctx.input(0)
    y = y or ctx.output(0)
    ctype, conv = load(ctx, x)
    ctx.emit("ops/elementwise.c.j2", "unary", y=ctx.ref(y), x=ctx.ref(x), n=y.size,
             ctype_in=ctype, load_x=conv, store_y=store(ctx, y), expr=expr)


def emit_broadcast(ctx: NodeContext, expr: str, y: Tensor, operands: dict[str, Tensor]) -> None:
    """y = expr over ``operands`` (local name -> tensor), each broadcast to y's shape."""
    operands = {k: t for k, t in operands.items() if re.search(rf"\b{k}\b", expr)}  # used ones
    for t in operands.values():
        if _broadcast_to(t.shape, y.shape) != tuple(y.shape):
            ctx.unsupported(f"shape {list(t.shape)} does not broadcast to {list(y.shape)}")
    per_operand = [broadcast_strides(t.shape, y.shape) for t in operands.values()]
    dims, strides = collapse(y.shape, *per_operand)
    ops = []
    for (name, t), st in zip(operands.items(), strides):
        ctype, conv = load(ctx, t)
        ops.append(dict(name=name, ptr=ctx.ref(t), ctype=ctype, load=conv, strides=st))
    ctx.emit("ops/elementwise.c.j2", "broadcast", y=ctx.ref(y), store_y=store(ctx, y),
             operands=ops, dims=dims, expr=expr)


def _broadcast_to(shape, out) -> tuple[int, ...] | None:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(tuple(shape), tuple(out)))
    except ValueError:
        return None


def emit_binary(ctx: NodeContext, expr: str, a: Tensor, b: Tensor, y: Tensor) -> None:
    emit_broadcast(ctx, expr, y, {"a": a, "b": b})


def _literals(params: dict, dtype: np.dtype) -> dict[str, str]:
    dtype = compute_dtype(dtype)
    if dtype.kind != "f":
        dtype = np.dtype(np.float32)
    return {k: c_literal(float(v), dtype) for k, v in params.items()}


def _register_unary(op: str, row: Row) -> None:
    def lower(ctx: NodeContext, **attrs) -> None:
        dtype = ctx.input(0).dtype
        check_types(ctx, dtype, row.types)
        template = row.for_dtype(dtype)
        expr = template.format(f=_suffix(ctx, dtype, template),
                               **_literals({**row.defaults, **attrs}, dtype))
        emit_unary(ctx, expr)

    lower.__name__ = op.lower()
    lower.__signature__ = _signature(row.defaults)  # attributes this op accepts
    lowering(op, inplace=True)(lower)


def _register_binary(op: str, row: Row) -> None:
    def lower(ctx: NodeContext) -> None:
        y = ctx.output(0)
        operands = [t for t in ctx.inputs if t is not None]
        check_types(ctx, operands[0].dtype, row.types)
        template = row.for_dtype(operands[0].dtype)
        expr = template.format(f=_suffix(ctx, y.dtype, template))
        fold_variadic(ctx, expr, operands, y)

    lower.__name__ = op.lower()
    lowering(op, inplace=True)(lower)


def fold_variadic(ctx: NodeContext, expr: str, operands: list[Tensor], y: Tensor) -> None:
    """y = op(op(x0, x1), x2)...; one operand is a copy (broadcast to y's shape)."""
    if len(operands) == 1:
        if operands[0].nbytes == y.nbytes:
            ctx.copy(y, operands[0])
        else:
            emit_broadcast(ctx, "a", y, {"a": operands[0]})
        return
    emit_binary(ctx, expr, operands[0], operands[1], y)
    for extra in operands[2:]:  # fold the rest into the output
        emit_binary(ctx, expr, y, extra, y)


def _signature(defaults: dict):
    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
               for k, v in defaults.items()]
    return inspect.Signature(params)


for _op, _row in UNARY.items():
    _register_unary(_op, _row)
for _op, _row in BINARY.items():
    _register_binary(_op, _row)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@lowering("IsInf", inplace=True)
def is_inf(ctx: NodeContext, detect_negative: int = 1, detect_positive: int = 1) -> None:
    check_types(ctx, ctx.input(0).dtype, "F")
    signs = [cond for cond, on in (("x > 0", detect_positive), ("x < 0", detect_negative)) if on]
    emit_unary(ctx, f"isinf(x) && ({' || '.join(signs)})" if signs else "0")


@lowering("Gelu", inplace=True)
def gelu(ctx: NodeContext, approximate: str = "none") -> None:
    dtype = ctx.input(0).dtype
    check_types(ctx, dtype, "F")
    mode = _text(approximate)
    if mode == "none":
        template = "0.5{l} * x * (1 + erf{f}(x * {rsqrt2}))"
    elif mode == "tanh":
        template = "0.5{l} * x * (1 + tanh{f}({k} * (x + {c} * x * x * x)))"
    else:
        ctx.unsupported(f"approximate={mode!r} (none or tanh expected)")
    f = _suffix(ctx, dtype, template)
    emit_unary(ctx, template.format(f=f, l=f, **_literals(
        {"rsqrt2": 0.7071067811865476, "k": 0.7978845608028654, "c": 0.044715}, dtype)))


@lowering("Mean", inplace=True)
def mean(ctx: NodeContext) -> None:
    y = ctx.output(0)
    operands = [t for t in ctx.inputs if t is not None]
    check_types(ctx, y.dtype, "F")
    fold_variadic(ctx, "a + b", operands, y)
    if len(operands) > 1:
        emit_unary(ctx, f"x / {c_literal(float(len(operands)), compute_dtype(y.dtype))}", y, y)


@lowering("Mod", inplace=True)
def mod(ctx: NodeContext, fmod: int = 0) -> None:
    a, b, y = ctx.input(0), ctx.input(1), ctx.output(0)
    kind = type_class(a.dtype)
    check_types(ctx, a.dtype, "FIU")
    if kind == "F":  # fmod=0 on floats: the sign of the divisor, like numpy.mod
        f = _suffix(ctx, a.dtype, "{f}")
        expr = f"fmod{f}(a, b)" if fmod else f"dlg_floor_mod{f}(a, b)"
    elif kind == "U" or fmod:
        expr = "a % b"  # C's % truncates, which is fmod's sign rule
    else:
        expr = "dlg_floor_mod_i64(a, b)"
    emit_binary(ctx, expr, a, b, y)


@lowering("BitShift", inplace=True)
def bit_shift(ctx: NodeContext, direction: str = "") -> None:
    """Shifts of the type's width or more (or negative) give 0 (or -1 shifting a negative
    number right); left shifts of signed numbers wrap."""
    a, b, y = ctx.input(0), ctx.input(1), ctx.output(0)
    check_types(ctx, a.dtype, "IU")
    bits = 8 * a.dtype.itemsize
    where = _text(direction)
    out_of_range = f"b >= {bits}" if a.dtype.kind == "u" else f"(b < 0 || b >= {bits})"
    if where == "LEFT":
        shifted = "a << b" if a.dtype.kind == "u" else f"(uint{bits}_t)a << b"
        expr = f"{out_of_range} ? 0 : {shifted}"
    elif where == "RIGHT":
        fill = "0" if a.dtype.kind == "u" else "(a < 0 ? -1 : 0)"
        expr = f"{out_of_range} ? {fill} : a >> b"
    else:
        ctx.unsupported(f"direction={where!r} (LEFT or RIGHT expected)")
    emit_binary(ctx, expr, a, b, y)


@lowering("Pow", inplace=True)
def power(ctx: NodeContext) -> None:
    a, b, y = ctx.input(0), ctx.input(1), ctx.output(0)
    check_types(ctx, a.dtype, "FIU")
    check_types(ctx, b.dtype, "FIU")
    if type_class(a.dtype) == "F":
        expr = "pow{f}(a, b)".format(f=_suffix(ctx, y.dtype, "{f}"))
    elif type_class(b.dtype) == "F":
        expr = "pow((double)a, (double)b)"
    else:  # exact integer power, wrapping on overflow
        expr = "dlg_ipow_i64((int64_t)a, (int64_t)b)"
    emit_binary(ctx, expr, a, b, y)


@lowering("PRelu", inplace=True)
def prelu(ctx: NodeContext) -> None:
    """Slope broadcasts to X; a 1-D slope that does not (PRelu-6 models) is per channel."""
    x, slope, y = ctx.input(0), ctx.input(1), ctx.output(0)
    check_types(ctx, x.dtype, "FIU")
    if (_broadcast_to(slope.shape, x.shape) != tuple(x.shape) and slope.rank == 1
            and x.rank >= 2 and slope.shape[0] == x.shape[1]):
        slope = dataclasses.replace(slope, shape=(slope.shape[0],) + (1,) * (x.rank - 2))
    emit_binary(ctx, "a" if type_class(x.dtype) == "U" else "a < 0 ? b * a : a", x, slope, y)


@lowering("Where", inplace=False)
def where(ctx: NodeContext) -> None:
    cond, x, y_in, out = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    emit_broadcast(ctx, "c ? a : b", out, {"c": cond, "a": x, "b": y_in})


@lowering("Clip", inplace=True)
def clip(ctx: NodeContext, min: float | None = None, max: float | None = None) -> None:
    """Clip-6 takes bounds as attributes; Clip-11+ as optional (possibly run-time) inputs."""
    x = ctx.input(0)
    check_types(ctx, x.dtype, "FIU")
    cdtype = compute_dtype(x.dtype)
    bounds = []
    for i, attr in ((1, min), (2, max)):
        t = ctx.input(i)
        if t is None:
            bounds.append(None if attr is None else c_literal(float(attr), cdtype))
        elif t.data is not None:
            bounds.append(c_literal(np.asarray(t.data).astype(cdtype).reshape(-1)[0].item(),
                                    cdtype))
        else:
            ctype, conv = load(ctx, t)
            bounds.append(f"(({ctype}){conv}({ctx.ref(t)}[0]))")
    lo, hi = bounds  # min applies first: with min > max every value becomes max
    expr = "x" if lo is None else f"(x < {lo} ? {lo} : x)"
    if hi is not None:
        expr = f"{expr} > {hi} ? {hi} : {expr}"
    emit_unary(ctx, expr)


@lowering("Cast", inplace=False)
def cast(ctx: NodeContext, to: int = 1, saturate: int = 1, round_mode: str = "up") -> None:
    """Among float8/float16/bfloat16/float/double, integers, bool and the sub-byte types:
    floats -> integers truncate, anything -> bool is x != 0, 16-, 8- and 4-bit floats round to
    nearest even, and int4/uint4/int2/uint2 wrap modulo 2^bits (as numpy does). ``saturate``
    concerns float8 outputs only (float4e2m1 always saturates); ``round_mode`` float8e8m0."""
    x, y = ctx.input(0), ctx.output(0)
    if y.dtype == np.bool_:
        expr = "x != 0"
    elif is_float8(y.dtype) and not saturate:
        ctx.runtime("float8")
        expr = f"dlg_f32_to_f8((float)(x), DLG_F8_{y.dtype.name[7:].upper()}, 0)"
        y = dataclasses.replace(y, dtype=np.dtype(np.uint8))  # store the bits as they are
    elif y.dtype.name == "float8_e8m0fnu" and (not saturate or round_mode != "up"):
        if round_mode not in _E8M0_ROUND:
            ctx.unsupported(f"round_mode {round_mode!r} is not up, nearest or down")
        ctx.runtime("subbyte")
        expr = (f"dlg_f32_to_f8e8m0_mode((float)(x), {int(bool(saturate))}, "
                f"{_E8M0_ROUND[round_mode]})")
        y = dataclasses.replace(y, dtype=np.dtype(np.uint8))
    else:
        expr = "x"
    emit_unary(ctx, expr, x, y)


@lowering("CastLike")
def cast_like(ctx: NodeContext, saturate: int = 1, round_mode: str = "up") -> None:
    cast(ctx, saturate=saturate, round_mode=round_mode)
