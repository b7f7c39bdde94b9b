"""Linear quantization ops as calls to runtime/quant.c.

QuantizeLinear / DequantizeLinear (per tensor, per axis and blocked) take a layout table that
says which scale and zero point each element uses (see quant.h). MatMulInteger and
QLinearMatMul are decomposed into readable pieces: widen each operand to int32 less its zero
point, an int32 batched MatMul, and (QLinearMatMul) a requantization to 8 bits. Scales and zero
points may be run-time inputs; only their shapes must be static.
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext, Tensor
from ..registry import lowering
from .broadcast import broadcast_shape, broadcast_strides

# numpy dtype name -> kernel suffix
QUANT_SUFFIXES = {"int8": "i8", "uint8": "u8", "int16": "i16", "uint16": "u16", "int32": "i32",
                  # stored one element a byte as uint8_t bits (subbyte.h, float8.h)
                  "int4": "i4", "uint4": "u4", "int2": "i2", "uint2": "u2",
                  "float4_e2m1fn": "f4e2m1", "float8_e4m3fn": "f8e4m3fn",
                  "float8_e4m3fnuz": "f8e4m3fnuz", "float8_e5m2": "f8e5m2",
                  "float8_e5m2fnuz": "f8e5m2fnuz"}
EIGHT_BIT_SUFFIXES = {"int8": "i8", "uint8": "u8"}


def _suffix(ctx: NodeContext, t: Tensor, what: str, table: dict[str, str]) -> str:
    suffix = table.get(t.dtype.name)
    if suffix is None:
        ctx.unsupported(f"{what} has element type {t.dtype.name}; the C target quantizes to "
                        f"{', '.join(table)} only")
    return suffix


def _runtime(ctx: NodeContext) -> None:
    """quant.c, and the conversion headers its sub-byte and float8 kernels use."""
    ctx.runtime("quant", "subbyte", "float8")


def _require_float32(ctx: NodeContext, t: Tensor | None, what: str) -> None:
    if t is not None and t.dtype != np.float32:
        ctx.unsupported(f"{what} has element type {t.dtype.name} (float32 needed)")


def quant_layout(ctx: NodeContext, x: Tensor, scale: Tensor, zero_point: Tensor | None,
                 axis: int, block_size: int) -> list[int]:
    """The quant.h layout table for X and a scale (and zero point) of the given shape."""
    one_each = scale.size == 1 and scale.rank <= 1 and (zero_point is None or (
        zero_point.size == 1 and zero_point.rank <= 1))  # shapes () and (1,) alike
    if zero_point is not None and zero_point.shape != scale.shape and not one_each:
        ctx.unsupported(f"zero point shape {zero_point.shape} differs from scale shape "
                        f"{scale.shape}")
    if one_each and not block_size:
        return [1, 1, x.size, 1, 0, 0, 0]
    if x.rank == 0:
        ctx.unsupported(f"a scalar input needs a single scale (got shape {scale.shape})")
    if not -x.rank <= axis < x.rank:
        ctx.unsupported(f"axis {axis} is out of range for rank {x.rank}")
    axis %= x.rank
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    axis_len, inner = x.shape[axis], int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    if not block_size:
        if scale.shape != (axis_len,):
            ctx.unsupported(f"per-axis scale shape {scale.shape} is not ({axis_len},)")
        return [outer, axis_len, inner, 1, 0, 1, 0]
    if block_size < 0:
        ctx.unsupported(f"block_size {block_size} is negative")
    blocks = -(-axis_len // block_size)
    want = x.shape[:axis] + (blocks,) + x.shape[axis + 1:]
    if scale.shape != want:
        ctx.unsupported(f"blocked scale shape {scale.shape} is not {want} (block_size "
                        f"{block_size} along axis {axis})")
    return [outer, axis_len, inner, block_size, blocks * inner, inner, 1]


@lowering("QuantizeLinear")
def quantize_linear(ctx: NodeContext, axis: int = 1, block_size: int = 0, output_dtype: int = 0,
                    saturate: int = 1, precision: int = 0) -> None:
    """Integers (int32 down to int2) always saturate; float4e2m1 and float8 outputs round to
    nearest even and saturate (``saturate=0`` for float8 is refused). ``precision`` (opset 25)
    is accepted only at its default."""
    x, scale, zero_point, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    _require_float32(ctx, x, "input x")
    _require_float32(ctx, scale, "y_scale")
    if precision:
        ctx.unsupported(f"precision={precision} is not supported (float32 arithmetic only)")
    suffix = _suffix(ctx, y, "the output", QUANT_SUFFIXES)
    if suffix.startswith("f8") and not saturate:
        ctx.unsupported("saturate=0 is not supported for float8 outputs")
    if zero_point is not None and zero_point.dtype != y.dtype:
        ctx.unsupported(f"zero point type {zero_point.dtype.name} differs from the output "
                        f"type {y.dtype.name}")
    _call_linear(ctx, "quantize", suffix, x, scale, zero_point, y, axis, block_size)


@lowering("DequantizeLinear")
def dequantize_linear(ctx: NodeContext, axis: int = 1, block_size: int = 0,
                      output_dtype: int = 0) -> None:
    x, scale, zero_point, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    suffix = _suffix(ctx, x, "input x", QUANT_SUFFIXES)
    _require_float32(ctx, scale, "x_scale")
    _require_float32(ctx, y, "the output")
    if zero_point is not None and zero_point.dtype != x.dtype:
        ctx.unsupported(f"zero point type {zero_point.dtype.name} differs from the input "
                        f"type {x.dtype.name}")
    _call_linear(ctx, "dequantize", suffix, x, scale, zero_point, y, axis, block_size)


def _call_linear(ctx: NodeContext, kind: str, suffix: str, x, scale, zero_point, y,
                 axis: int, block_size: int) -> None:
    """The Quantize/DequantizeLinear kernel call: layout table, runtime modules, call."""
    layout = quant_layout(ctx, x, scale, zero_point, axis, block_size)
    _runtime(ctx)
    ctx.call(f"dlg_{kind}_linear_{suffix}",
             ctx.const(f"{kind}_layout", np.array(layout, dtype=np.int64)),
             x, scale, zero_point, y)


@lowering("DynamicQuantizeLinear")
def dynamic_quantize_linear(ctx: NodeContext) -> None:
    x, y, scale, zero_point = ctx.input(0), ctx.output(0), ctx.output(1), ctx.output(2)
    _require_float32(ctx, x, "input x")
    if y.dtype != np.uint8:
        ctx.unsupported(f"output type {y.dtype.name} is not uint8")
    _runtime(ctx)
    ctx.call("dlg_dynamic_quantize_linear_u8", x.size, x, y,
             scale if scale is not None else ctx.scratch(1, np.float32),
             zero_point if zero_point is not None else ctx.scratch(1, np.uint8))


# -- integer matrix products -----------------------------------------------------------------

def _matrix_shapes(a: Tensor, b: Tensor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A and B with numpy matmul's 1-D promotion applied."""
    a_shape = (1,) + a.shape if a.rank == 1 else a.shape
    b_shape = b.shape + (1,) if b.rank == 1 else b.shape
    return a_shape, b_shape


def _batch_offsets(ctx: NodeContext, a_shape, b_shape) -> tuple[int, Tensor, Tensor]:
    """(batches, a offsets, b offsets): the element offset of each broadcast batch's matrix."""
    M, K, N = a_shape[-2], a_shape[-1], b_shape[-1]
    batch = broadcast_shape(a_shape[:-2], b_shape[:-2])
    if batch:
        index = np.indices(batch).reshape(len(batch), -1).T
        a_off = index @ np.array(broadcast_strides(a_shape[:-2], batch), np.int64) * (M * K)
        b_off = index @ np.array(broadcast_strides(b_shape[:-2], batch), np.int64) * (K * N)
    else:
        a_off = b_off = np.zeros(1, dtype=np.int64)
    return (len(a_off), ctx.const("qmatmul_a_offsets", a_off.astype(np.int64)),
            ctx.const("qmatmul_b_offsets", b_off.astype(np.int64)))


def _zero_point_strides(ctx: NodeContext, zp: Tensor | None, per: int, what: str,
                        per_row: bool) -> tuple[int, int]:
    """(row, column) strides of a zero point over its operand's rows / columns: (0, 0) for one
    value, else one value per row (A) or per column (B)."""
    if zp is None or zp.size == 1:
        return 0, 0
    if zp.size != per or zp.rank > 1 and zp.shape[-1 if not per_row else 0] != per:
        ctx.unsupported(f"{what} of shape {zp.shape} is neither one value nor one per "
                        f"{'row' if per_row else 'column'} ({per})")
    return (1, 0) if per_row else (0, 1)


def _widen(ctx: NodeContext, t: Tensor, zp: Tensor | None, rows: int, cols: int,
           zp_strides: tuple[int, int], what: str) -> str:
    suffix = _suffix(ctx, t, what, EIGHT_BIT_SUFFIXES)
    if zp is not None and zp.dtype != t.dtype:
        ctx.unsupported(f"the zero point of {what} has type {zp.dtype.name}, not "
                        f"{t.dtype.name}")
    wide = ctx.scratch(t.size, np.int32)
    ctx.call(f"dlg_widen_{suffix}", rows, cols, t, zp, *zp_strides, wide)
    return wide


def _integer_matmul(ctx: NodeContext, a: Tensor, a_zp: Tensor | None, b: Tensor,
                    b_zp: Tensor | None, acc) -> tuple[int, int]:
    """Emit acc = (A - a_zp) x (B - b_zp) in int32; returns (rows of acc, N)."""
    a_shape, b_shape = _matrix_shapes(a, b)
    M, K, N = a_shape[-2], a_shape[-1], b_shape[-1]
    if b_shape[-2] != K:
        ctx.unsupported(f"inner dimensions differ: A {a.shape}, B {b.shape}")
    a_rows = a.size // K
    a_strides = _zero_point_strides(ctx, a_zp, M, "a_zero_point", per_row=True)
    if a_strides != (0, 0) and a_rows != M:
        ctx.unsupported("a per-row a_zero_point needs a 2-D A")
    b_strides = _zero_point_strides(ctx, b_zp, N, "b_zero_point", per_row=False)
    _runtime(ctx)
    a_wide = _widen(ctx, a, a_zp, a_rows, K, a_strides, "A")
    b_wide = _widen(ctx, b, b_zp, b.size // N, N, b_strides, "B")
    batches, a_off, b_off = _batch_offsets(ctx, a_shape, b_shape)
    ctx.call("dlg_matmul_i32", batches, a_off, b_off, M, N, K, a_wide, b_wide, acc)
    return batches * M, N


@lowering("MatMulInteger")
def matmul_integer(ctx: NodeContext) -> None:
    a, b, a_zp, b_zp = (ctx.input(i) for i in range(4))
    _integer_matmul(ctx, a, a_zp, b, b_zp, ctx.output(0))


@lowering("QLinearMatMul")
def qlinear_matmul(ctx: NodeContext) -> None:
    a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp = (ctx.input(i) for i in range(8))
    y = ctx.output(0)
    for t, what in [(a_scale, "a_scale"), (b_scale, "b_scale"), (y_scale, "y_scale")]:
        _require_float32(ctx, t, what)
    suffix = _suffix(ctx, y, "the output", EIGHT_BIT_SUFFIXES)
    if y_zp is not None and y_zp.dtype != y.dtype:
        ctx.unsupported(f"y_zero_point type {y_zp.dtype.name} differs from the output type")
    if a_scale.size != 1 or y_scale.size != 1:
        ctx.unsupported("a_scale and y_scale must hold one value (per-tensor)")
    acc = ctx.scratch(y.size, np.int32)
    rows, cols = _integer_matmul(ctx, a, a_zp, b, b_zp, acc)
    b_stride = _zero_point_strides(ctx, b_scale, cols, "b_scale", per_row=False)[1]
    ctx.call(f"dlg_requantize_{suffix}", rows, cols, acc, a_scale, b_scale, b_stride,
             y_scale, y_zp, y)
