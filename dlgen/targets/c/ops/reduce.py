"""Softmax, LogSoftmax, the Reduce* family and the index reductions (ArgMax, ArgMin, Hardmax,
TopK, CumSum, CumProd) as calls to runtime/reduce.c.

Reduce ops are table rows: ONNX op -> the kernel's dlg_reduce_op. Python collapses the
input shape into alternating kept/reduced groups; the kernel walks the input in memory order
and accumulates into the output through per-group output strides (0 for a reduced group).
The index reductions view the input as [outer, axis_dim, inner] around their one axis.
Kernels exist per element type, named dlg_<kernel>_<suffix> (f32, f64, i32, i64, ...).
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext
from ..registry import lowering
from .dynamic import top_k_runtime
from .tensor import normalize_axis

MAX_RANK = 8  # DLG_REDUCE_MAX_RANK in runtime_c/include/dlgen/reduce.h

REDUCE_OPS = {
    "ReduceSum": "DLG_REDUCE_SUM",
    "ReduceMean": "DLG_REDUCE_MEAN",
    "ReduceMax": "DLG_REDUCE_MAX",
    "ReduceMin": "DLG_REDUCE_MIN",
    "ReduceProd": "DLG_REDUCE_PROD",
    "ReduceL1": "DLG_REDUCE_L1",
    "ReduceL2": "DLG_REDUCE_L2",
    "ReduceSumSquare": "DLG_REDUCE_SUM_SQUARE",
    "ReduceLogSum": "DLG_REDUCE_LOG_SUM",
    "ReduceLogSumExp": "DLG_REDUCE_LOG_SUM_EXP",
}
INT_OPS = {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"}
REDUCE_SUFFIXES = {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64",
                   "uint8": "u8", "bool": "b8"}


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


@lowering("Softmax", "LogSoftmax", inplace=True)
def softmax(ctx: NodeContext, axis: int | None = None) -> None:
    """Opset < 13: the input is coerced to 2-D [prod(shape[:axis]), prod(shape[axis:])] and each
    row normalised (axis default 1). Opset >= 13: along the one axis (default -1)."""
    x, y = ctx.input(0), ctx.output(0)
    if x.dtype != np.float32:
        ctx.unsupported(f"element type {x.dtype.name} is not supported (float32 needed)")
    if y.size == 0:
        return
    shape = x.shape or (1,)
    legacy = ctx.program.graph.opset < 13
    a = normalize_axis(ctx, (1 if legacy else -1) if axis is None else axis, len(shape))
    if legacy:
        axis_dim, inner = _prod(shape[a:]), 1
    else:
        axis_dim, inner = shape[a], _prod(shape[a + 1:])
    work = ctx.scratch(2 * inner, np.float32) if inner > 1 else None
    ctx.runtime("reduce")
    ctx.call("dlg_softmax_f32", y, x, _prod(shape[:a]), axis_dim, inner,
             int(ctx.node.op_type == "LogSoftmax"), work)


def reduce_layout(shape: tuple[int, ...], reduced: list[bool]) -> tuple[list[int], list[int]]:
    """Collapse ``shape`` into alternating kept/reduced groups: (dims, output strides), where a
    reduced group has stride 0 and kept groups have the output's contiguous strides."""
    groups: list[list] = []  # [size, reduced]
    for d, r in zip(shape, reduced):
        if d == 1:
            continue
        if groups and groups[-1][1] == r:
            groups[-1][0] *= d
        else:
            groups.append([d, r])
    if not groups:
        groups = [[1, False]]
    strides, acc = [0] * len(groups), 1
    for k in reversed(range(len(groups))):
        if not groups[k][1]:
            strides[k] = acc
            acc *= groups[k][0]
    return [g[0] for g in groups], strides


def _reduced_axes(ctx: NodeContext, axes, noop_with_empty_axes: int, rank: int) -> list[bool]:
    """Which input dims are reduced; axes come as an attribute or a constant input."""
    if axes is None and ctx.input(1) is not None:
        axes = ctx.const_input(1, "axes").reshape(-1).tolist()
    axes = [] if axes is None else [normalize_axis(ctx, a, rank) for a in axes]
    if not axes:
        # Empty axes: reduce everything, or nothing (each output is one element's reduction).
        return [not noop_with_empty_axes] * rank
    return [d in axes for d in range(rank)]


def _reduce_suffix(ctx: NodeContext, op_type: str, dtype: np.dtype) -> str:
    """The dlg_reduce_<suffix> instance for this op and element type, or refuse."""
    allowed = ["float32", "float64"]
    if op_type in INT_OPS:
        allowed += ["int32", "int64"]
    if op_type in ("ReduceMax", "ReduceMin"):
        allowed += ["uint8", "bool"]
    if dtype.name not in allowed:
        ctx.unsupported(f"element type {dtype.name} is not supported "
                        f"({', '.join(allowed)} needed)")
    return REDUCE_SUFFIXES[dtype.name]


def _register_reduce(op_type: str, kind: str) -> None:
    def lower(ctx: NodeContext, axes=None, keepdims: int = 1,
              noop_with_empty_axes: int = 0) -> None:
        x, y = ctx.input(0), ctx.output(0)
        suffix = _reduce_suffix(ctx, op_type, x.dtype)
        reduced = _reduced_axes(ctx, axes, noop_with_empty_axes, x.rank)
        dims, y_strides = reduce_layout(x.shape, reduced)
        if len(dims) > MAX_RANK:
            ctx.unsupported(f"{len(dims)} alternating kept/reduced dim groups; "
                            f"at most {MAX_RANK} are supported")
        count = _prod([d for d, r in zip(x.shape, reduced) if r])
        dims_t = ctx.const("reduce_dims", np.array(dims, np.int64))
        strides_t = ctx.const("reduce_strides", np.array(y_strides, np.int64))
        ctx.runtime("reduce")
        if x.dtype.kind != "f":
            ctx.call(f"dlg_reduce_{suffix}", y, x, len(dims), dims_t, strides_t, y.size, kind)
            return
        work = ctx.scratch(y.size, x.dtype) if kind == "DLG_REDUCE_LOG_SUM_EXP" else None
        ctx.call(f"dlg_reduce_{suffix}", y, x, len(dims), dims_t, strides_t, y.size, count,
                 kind, work)

    lower.__name__ = op_type.lower()
    lowering(op_type)(lower)


for _op, _kind in REDUCE_OPS.items():
    _register_reduce(_op, _kind)


# -- index reductions: ArgMax, ArgMin, Hardmax, TopK, CumSum, CumProd ---------------------------
# Each views the input as [outer, axis_dim, inner] around one axis; the kernels come in one
# instance per element type, named by these suffixes.

SUFFIXES = {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64", "uint64": "u64"}
ARG_TYPES = ("float32", "float64", "int32", "int64")
TOP_K_TYPES = ("float32", "float64", "int32", "int64", "uint64")
CUMULATE_TYPES = ("float32", "float64", "int32", "int64")


def _suffix(ctx: NodeContext, dtype: np.dtype, allowed: tuple[str, ...]) -> str:
    if dtype.name not in allowed:
        ctx.unsupported(f"element type {dtype.name} is not supported ({', '.join(allowed)} "
                        "needed)")
    return SUFFIXES[dtype.name]


def _around(shape: tuple[int, ...], a: int) -> tuple[int, int, int]:
    """(outer, axis_dim, inner) of ``shape`` around axis ``a``."""
    return _prod(shape[:a]), shape[a], _prod(shape[a + 1:])


@lowering("ArgMax", "ArgMin")
def arg_extreme(ctx: NodeContext, axis: int = 0, keepdims: int = 1,
                select_last_index: int = 0) -> None:
    x, y = ctx.input(0), ctx.output(0)
    suffix = _suffix(ctx, x.dtype, ARG_TYPES)
    if x.rank == 0:
        ctx.unsupported("the input must have rank >= 1")
    a = normalize_axis(ctx, axis, x.rank)
    outer, axis_dim, inner = _around(x.shape, a)
    if y.size == 0:
        return
    if axis_dim == 0:
        ctx.unsupported(f"axis {axis} has length 0: there is no extreme to index")
    ctx.runtime("reduce")
    ctx.call(f"dlg_arg_extreme_{suffix}", y, x, outer, axis_dim, inner,
             int(ctx.node.op_type == "ArgMax"), int(bool(select_last_index)))


@lowering("Hardmax")
def hardmax(ctx: NodeContext, axis: int | None = None) -> None:
    """Opset < 13 coerces the input to 2-D at ``axis`` (default 1); opset >= 13 works along
    the one axis (default -1), like Softmax."""
    x, y = ctx.input(0), ctx.output(0)
    _suffix(ctx, x.dtype, ("float32",))
    if y.size == 0:
        return
    shape = x.shape or (1,)
    legacy = ctx.program.graph.opset < 13
    a = normalize_axis(ctx, (1 if legacy else -1) if axis is None else axis, len(shape))
    if legacy:
        outer, axis_dim, inner = _prod(shape[:a]), _prod(shape[a:]), 1
    else:
        outer, axis_dim, inner = _around(shape, a)
    work = ctx.scratch(outer * inner, np.int64)
    ctx.runtime("reduce")
    ctx.call("dlg_hardmax_f32", y, x, outer, axis_dim, inner, work)


@lowering("TopK")
def top_k(ctx: NodeContext, axis: int = -1, largest: int = 1, sorted: int = 1,
          k: int | None = None) -> None:
    """``k`` is an input from opset 10 (an attribute before); the outputs are always sorted,
    which is one valid order for sorted=0 too."""
    x, values, indices = ctx.input(0), ctx.output(0), ctx.output(1)
    suffix = _suffix(ctx, x.dtype, TOP_K_TYPES)
    if k is None and ctx.input(1).data is None:  # a run-time k: data-dependent output size
        return top_k_runtime(ctx, axis, largest, suffix)
    if k is None:
        k = int(ctx.const_input(1, "k").reshape(-1)[0])
    a = normalize_axis(ctx, axis, x.rank)
    outer, axis_dim, inner = _around(x.shape, a)
    if not 0 <= k <= axis_dim:
        ctx.unsupported(f"k = {k} is outside [0, {axis_dim}] for axis {axis}")
    if k == 0 or values.size == 0:
        return
    if indices is None:
        indices = ctx.scratch(values.size, np.int64)
    ctx.runtime("reduce")
    ctx.call(f"dlg_top_k_{suffix}", values, indices, x, outer, axis_dim, inner, k,
             int(bool(largest)))


@lowering("CumSum", "CumProd")
def cumulate(ctx: NodeContext, exclusive: int = 0, reverse: int = 0) -> None:
    x, y = ctx.input(0), ctx.output(0)
    suffix = _suffix(ctx, x.dtype, CUMULATE_TYPES)
    axis = int(ctx.const_input(1, "axis").reshape(-1)[0])
    if x.rank == 0:
        ctx.unsupported("the input must have rank >= 1")
    outer, axis_dim, inner = _around(x.shape, normalize_axis(ctx, axis, x.rank))
    if y.size == 0:
        return
    ctx.runtime("reduce")
    ctx.call(f"dlg_cumulate_{suffix}", y, x, outer, axis_dim, inner,
             int(ctx.node.op_type == "CumProd"), int(bool(exclusive)), int(bool(reverse)))
