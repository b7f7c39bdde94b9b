"""Elementwise ops as table rows: op -> C expression over the element locals.

Unary rows use ``x``; binary rows use ``a`` and ``b``. ``{f}`` stands for the float suffix of
the math library (``expf`` for float32, ``exp`` for float64); attribute values are formatted
into the expression by keyword (``{alpha}``). Adding an op is adding a row.
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext, c_literal
from ..registry import lowering
from .broadcast import broadcast_shape, broadcast_strides, collapse

FLOAT_MAX = 3.4028234663852886e38

# op -> (expression, attribute defaults)
UNARY: dict[str, tuple[str, dict]] = {
    "Relu": ("x < 0 ? 0 : x", {}),
    "LeakyRelu": ("x >= 0 ? x : {alpha} * x", {"alpha": 0.01}),
    "Sigmoid": ("dlg_sigmoid(x)", {}),
    "Tanh": ("tanh{f}(x)", {}),
    "HardSigmoid": ("dlg_clampf({alpha} * x + {beta}, 0.0f, 1.0f)", {"alpha": 0.2, "beta": 0.5}),
    "HardSwish": ("x * dlg_clampf(x / 6.0f + 0.5f, 0.0f, 1.0f)", {}),
    "Elu": ("x >= 0 ? x : {alpha} * (exp{f}(x) - 1)", {"alpha": 1.0}),
    "Selu": ("{gamma} * (x > 0 ? x : {alpha} * (exp{f}(x) - 1))",
             {"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875}),
    "Softplus": ("x > 20 ? x : log1p{f}(exp{f}(x))", {}),
    "Softsign": ("x / (1 + fabs{f}(x))", {}),
    "Exp": ("exp{f}(x)", {}),
    "Log": ("log{f}(x)", {}),
    "Sqrt": ("sqrt{f}(x)", {}),
    "Neg": ("-x", {}),
    "Abs": ("x < 0 ? -x : x", {}),
    "Reciprocal": ("1 / x", {}),
    "Floor": ("floor{f}(x)", {}),
    "Ceil": ("ceil{f}(x)", {}),
    "Erf": ("erf{f}(x)", {}),
    "Sin": ("sin{f}(x)", {}),
    "Cos": ("cos{f}(x)", {}),
}

BINARY: dict[str, str] = {
    "Add": "a + b",
    "Sub": "a - b",
    "Mul": "a * b",
    "Div": "a / b",
    "Max": "(a > b || a != a) ? a : b",
    "Min": "(a < b || a != a) ? a : b",
    "Pow": "pow{f}(a, b)",
    "Sum": "a + b",
}

_MATH_SUFFIX = {"float32": "f", "float64": ""}


def _suffix(ctx: NodeContext, dtype: np.dtype, expr: str) -> str:
    if "{f}" not in expr:
        return ""
    if dtype.name not in _MATH_SUFFIX:
        ctx.unsupported(f"element type {dtype.name} is not supported (float32 or float64 needed)")
    return _MATH_SUFFIX[dtype.name]


def emit_unary(ctx: NodeContext, expr: str) -> None:
    x, y = ctx.input(0), ctx.output(0)
    ctx.emit("ops/elementwise.c.j2", "unary", y=ctx.ref(y), x=ctx.ref(x), n=y.size,
             ctype_in=x.ctype, ctype_out=y.ctype, expr=expr)


def emit_binary(ctx: NodeContext, expr: str, a, b, y) -> None:
    out = broadcast_shape(a.shape, b.shape)
    dims, (sa, sb) = collapse(out, broadcast_strides(a.shape, out), broadcast_strides(b.shape, out))
    ctx.emit("ops/elementwise.c.j2", "binary", y=ctx.ref(y), a=ctx.ref(a), b=ctx.ref(b),
             dims=dims, sa=sa, sb=sb, ctype_a=a.ctype, ctype_b=b.ctype, ctype_out=y.ctype,
             expr=expr)


def _register_unary(op: str, template: str, defaults: dict) -> None:
    def lower(ctx: NodeContext, **attrs) -> None:
        params = {**defaults, **attrs}
        dtype = ctx.input(0).dtype
        literals = {k: c_literal(float(v), dtype) for k, v in params.items()}
        expr = template.format(f=_suffix(ctx, dtype, template), **literals)
        emit_unary(ctx, expr)

    lower.__name__ = op.lower()
    lower.__signature__ = _signature(defaults)  # attributes this op accepts
    lowering(op, inplace=True)(lower)


def _register_binary(op: str, template: str) -> None:
    def lower(ctx: NodeContext) -> None:
        y = ctx.output(0)
        expr = template.format(f=_suffix(ctx, y.dtype, template))
        operands = [t for t in ctx.inputs if t is not None]
        if len(operands) == 1:  # variadic Max/Min/Sum of one input
            ctx.copy(y, operands[0])
            return
        emit_binary(ctx, expr, operands[0], operands[1], y)
        for extra in operands[2:]:  # variadic Max/Min/Sum: fold the rest into the output
            emit_binary(ctx, expr, y, extra, y)

    lower.__name__ = op.lower()
    lowering(op, inplace=True)(lower)


def _signature(defaults: dict):
    import inspect

    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
               for k, v in defaults.items()]
    return inspect.Signature(params)


for _op, (_expr, _defaults) in UNARY.items():
    _register_unary(_op, _expr, _defaults)
for _op, _expr in BINARY.items():
    _register_binary(_op, _expr)


@lowering("Clip", inplace=True)
def clip(ctx: NodeContext, min: float = -FLOAT_MAX, max: float = FLOAT_MAX) -> None:
    """Clip-6 takes bounds as attributes; Clip-11+ as optional (possibly run-time) inputs."""
    x = ctx.input(0)
    bounds = []
    for i, default in ((1, min), (2, max)):
        t = ctx.input(i)
        if t is None:
            bounds.append(c_literal(default, x.dtype) if x.dtype.kind == "f" else
                          c_literal(np.iinfo(x.dtype).min if i == 1 else np.iinfo(x.dtype).max))
        elif t.data is not None:
            bounds.append(c_literal(t.data.reshape(-1)[0].item(), x.dtype))
        else:
            bounds.append(f"{ctx.ref(t)}[0]")
    emit_unary(ctx, f"x < {bounds[0]} ? {bounds[0]} : (x > {bounds[1]} ? {bounds[1]} : x)")


@lowering("Cast", inplace=False)
def cast(ctx: NodeContext, to: int = 1, saturate: int = 1, round_mode: str = "up") -> None:
    y = ctx.output(0)
    expr = "x != 0" if y.dtype == np.bool_ else "x"
    emit_unary(ctx, expr)


@lowering("CastLike")
def cast_like(ctx: NodeContext, saturate: int = 1, round_mode: str = "up") -> None:
    cast(ctx)
