"""Index ops with run-time indices: GatherElements, GatherND, ScatterElements (and the
deprecated Scatter, the same op), ScatterND, TensorScatter (KV-cache writes). Any stored dtype; int64 indices.

Kernels in runtime/index.c move elements of ``itemsize`` bytes; scatter reductions
(add/mul/max/min) also need the value type (float32/64, int32/64). A negative index counts
from the end; an index still out of range never reads or writes outside a buffer: gathers
give zeros there, scatters skip it (ONNX calls such indices an error).
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext, Tensor
from ..registry import lowering
from .tensor import MAX_RANK, normalize_axis

REDUCTIONS = {"none": "DLG_SCATTER_NONE", "add": "DLG_SCATTER_ADD", "mul": "DLG_SCATTER_MUL",
              "max": "DLG_SCATTER_MAX", "min": "DLG_SCATTER_MIN"}
REDUCE_TYPES = {"float32": "DLG_SCATTER_F32", "float64": "DLG_SCATTER_F64",
                "int32": "DLG_SCATTER_I32", "int64": "DLG_SCATTER_I64"}


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


def _check_indices(ctx: NodeContext, indices: Tensor) -> None:
    if indices.dtype != np.int64:
        ctx.unsupported(f"indices of type {indices.dtype.name} (int64 supported)")


def _reduction(ctx: NodeContext, reduction, data: Tensor) -> tuple[str, str]:
    """(reduction enum, value type enum) for the scatter kernels."""
    reduction = reduction.decode() if isinstance(reduction, bytes) else str(reduction)
    if reduction not in REDUCTIONS:
        ctx.unsupported(f"reduction {reduction!r} ({', '.join(REDUCTIONS)} supported)")
    if reduction == "none":
        return REDUCTIONS[reduction], "DLG_SCATTER_BYTES"
    if data.dtype.name not in REDUCE_TYPES:
        ctx.unsupported(f"reduction {reduction!r} on {data.dtype.name} data "
                        f"({', '.join(REDUCE_TYPES)} supported)")
    return REDUCTIONS[reduction], REDUCE_TYPES[data.dtype.name]


def _i64(ctx: NodeContext, base: str, values) -> Tensor:
    return ctx.const(base, np.array(list(values), np.int64).reshape(-1))


def _check_element_shapes(ctx: NodeContext, data: Tensor, indices: Tensor, axis: int) -> None:
    if indices.rank != data.rank or data.rank > MAX_RANK:
        ctx.unsupported(f"indices of rank {indices.rank} for data of rank {data.rank} "
                        f"(equal ranks, at most {MAX_RANK}, needed)")
    for d, (i, n) in enumerate(zip(indices.shape, data.shape)):
        if d != axis and i > n:
            ctx.unsupported(f"indices dim {d} ({i}) exceeds the data's ({n})")


@lowering("GatherElements")
def gather_elements(ctx: NodeContext, axis: int = 0) -> None:
    x, indices, y = ctx.input(0), ctx.input(1), ctx.output(0)
    _check_indices(ctx, indices)
    axis = normalize_axis(ctx, axis, x.rank)
    _check_element_shapes(ctx, x, indices, axis)
    if y.size == 0:
        return
    ctx.runtime("index")
    ctx.call("dlg_gather_elements", y, x, indices, x.dtype.itemsize, x.rank,
             _i64(ctx, "gather_idx_dims", indices.shape), _i64(ctx, "gather_x_dims", x.shape),
             axis)


@lowering("ScatterElements", "Scatter")
def scatter_elements(ctx: NodeContext, axis: int = 0, reduction="none") -> None:
    data, indices, updates, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    _check_indices(ctx, indices)
    axis = normalize_axis(ctx, axis, data.rank)
    _check_element_shapes(ctx, data, indices, axis)
    if updates.shape != indices.shape:
        ctx.unsupported(f"updates of shape {list(updates.shape)} differ from indices "
                        f"{list(indices.shape)}")
    red, kind = _reduction(ctx, reduction, data)
    if y.size == 0:
        return
    ctx.copy(y, data)
    if indices.size == 0:
        return
    ctx.runtime("index")
    ctx.call("dlg_scatter_elements", y, updates, indices, data.dtype.itemsize, data.rank,
             _i64(ctx, "scatter_idx_dims", indices.shape),
             _i64(ctx, "scatter_y_dims", data.shape), axis, red, kind)


def _nd_params(ctx: NodeContext, data: Tensor, indices: Tensor, batch_dims: int):
    """(batch, tuples per batch, k, indexed dims, slice elements)."""
    k = indices.shape[-1] if indices.rank else 0
    if indices.rank < 1 or k < 1 or batch_dims + k > data.rank:
        ctx.unsupported(f"indices of shape {list(indices.shape)} for data of shape "
                        f"{list(data.shape)} with batch_dims {batch_dims}")
    if tuple(indices.shape[:batch_dims]) != tuple(data.shape[:batch_dims]):
        ctx.unsupported("the batch dims of data and indices differ")
    batch = _prod(data.shape[:batch_dims])
    tuples = _prod(indices.shape[batch_dims:-1])
    dims = data.shape[batch_dims:batch_dims + k]
    return batch, tuples, k, dims, _prod(data.shape[batch_dims + k:])


@lowering("GatherND")
def gather_nd(ctx: NodeContext, batch_dims: int = 0) -> None:
    x, indices, y = ctx.input(0), ctx.input(1), ctx.output(0)
    _check_indices(ctx, indices)
    batch, tuples, k, dims, slice_ = _nd_params(ctx, x, indices, int(batch_dims))
    if y.size == 0:
        return
    ctx.runtime("index")
    ctx.call("dlg_gather_nd", y, x, indices, x.dtype.itemsize, batch, tuples, k,
             _i64(ctx, "gather_nd_dims", dims), slice_)


@lowering("ScatterND")
def scatter_nd(ctx: NodeContext, reduction="none") -> None:
    data, indices, updates, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    _check_indices(ctx, indices)
    _, tuples, k, dims, slice_ = _nd_params(ctx, data, indices, 0)
    if updates.size != tuples * slice_:
        ctx.unsupported(f"updates of shape {list(updates.shape)} do not match the indices")
    red, kind = _reduction(ctx, reduction, data)
    if y.size == 0:
        return
    ctx.copy(y, data)
    if tuples == 0:
        return
    ctx.runtime("index")
    ctx.call("dlg_scatter_nd", y, updates, indices, data.dtype.itemsize, tuples, k,
             _i64(ctx, "scatter_nd_dims", dims), slice_, red, kind)


@lowering("TensorScatter")
def tensor_scatter(ctx: NodeContext, axis: int = -2, mode="linear") -> None:
    cache, update, y = ctx.input(0), ctx.input(1), ctx.output(0)
    write = ctx.input(2)
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode not in ("linear", "circular"):
        ctx.unsupported(f"mode {mode!r} (linear or circular)")
    axis = normalize_axis(ctx, axis, cache.rank)
    if axis == 0:
        ctx.unsupported("axis 0 (the batch axis) cannot be the sequence axis")
    if write is not None:
        _check_indices(ctx, write)
    if update.rank != cache.rank or any(
            u != c for d, (u, c) in enumerate(zip(update.shape, cache.shape)) if d != axis):
        ctx.unsupported(f"update of shape {list(update.shape)} for a cache of shape "
                        f"{list(cache.shape)}")
    if y.size == 0:
        return
    ctx.copy(y, cache)
    if update.size == 0:
        return
    ctx.runtime("index")
    ctx.call("dlg_tensor_scatter", y, update, write, cache.shape[0],
             _prod(cache.shape[1:axis]), cache.shape[axis], update.shape[axis],
             _prod(cache.shape[axis + 1:]) * cache.dtype.itemsize, int(mode == "circular"))
