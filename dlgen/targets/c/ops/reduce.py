"""Softmax, LogSoftmax and the Reduce* family as calls to runtime/reduce.c.

Reduce ops are table rows: ONNX op -> the kernel's dlg_reduce_op. Python collapses the
input shape into alternating kept/reduced groups; the kernel walks the input in memory order
and accumulates into the output through per-group output strides (0 for a reduced group).
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext
from ..registry import lowering
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
INT64_OPS = {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"}


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


def _register_reduce(op_type: str, kind: str) -> None:
    def lower(ctx: NodeContext, axes=None, keepdims: int = 1,
              noop_with_empty_axes: int = 0) -> None:
        x, y = ctx.input(0), ctx.output(0)
        if x.dtype != np.float32 and not (x.dtype == np.int64 and op_type in INT64_OPS):
            needed = "float32 or int64" if op_type in INT64_OPS else "float32"
            ctx.unsupported(f"element type {x.dtype.name} is not supported ({needed} needed)")
        reduced = _reduced_axes(ctx, axes, noop_with_empty_axes, x.rank)
        dims, y_strides = reduce_layout(x.shape, reduced)
        if len(dims) > MAX_RANK:
            ctx.unsupported(f"{len(dims)} alternating kept/reduced dim groups; "
                            f"at most {MAX_RANK} are supported")
        count = _prod([d for d, r in zip(x.shape, reduced) if r])
        dims_t = ctx.const("reduce_dims", np.array(dims, np.int64))
        strides_t = ctx.const("reduce_strides", np.array(y_strides, np.int64))
        ctx.runtime("reduce")
        if x.dtype == np.int64:
            ctx.call("dlg_reduce_i64", y, x, len(dims), dims_t, strides_t, y.size, kind)
            return
        work = ctx.scratch(y.size, np.float32) if kind == "DLG_REDUCE_LOG_SUM_EXP" else None
        ctx.call("dlg_reduce_f32", y, x, len(dims), dims_t, strides_t, y.size, count, kind, work)

    lower.__name__ = op_type.lower()
    lowering(op_type)(lower)


for _op, _kind in REDUCE_OPS.items():
    _register_reduce(_op, _kind)
