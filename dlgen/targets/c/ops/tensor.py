"""Views and data movement, for every dtype the C target stores.

* Views (no data moves, the output aliases the input): Reshape, Flatten, Squeeze, Unsqueeze,
  Identity, inference Dropout.
* Copies through runtime/tensor.c, which moves elements of ``itemsize`` bytes, so one kernel
  serves every dtype: Transpose, Slice and Expand are one strided copy (shapes collapsed here
  first), Concat and Split copy rows, Gather copies slices, Pad reads through per-axis index
  maps built here for each mode.
* Shape, Size, ConstantOfShape and Range, when folding left them: their outputs follow from
  static shapes and constant inputs, so they become copies of compile-time constants.
"""
from __future__ import annotations

import math

import numpy as np

from ....passes.fold_shapes import shape_slice
from ..lower import NodeContext, Tensor
from ..registry import lowering
from .broadcast import broadcast_strides, collapse, contiguous_strides

MAX_RANK = 8  # DLG_TENSOR_MAX_RANK in runtime_c/include/dlgen/tensor.h


def normalize_axis(ctx: NodeContext, axis: int, rank: int, what: str = "axis") -> int:
    """``axis`` in [0, rank), counting negative values from the end; refuse out of range."""
    a = int(axis)
    if a < 0:
        a += rank
    if not 0 <= a < rank:
        ctx.unsupported(f"{what} {axis} is out of range for a rank-{rank} input")
    return a


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


# -- views ---------------------------------------------------------------------------------

@lowering("Reshape")
def reshape(ctx: NodeContext, allowzero: int = 0) -> None:
    ctx.alias()


@lowering("Flatten")
def flatten(ctx: NodeContext, axis: int = 1) -> None:
    ctx.alias()


@lowering("Squeeze", "Unsqueeze")
def squeeze(ctx: NodeContext, axes=None) -> None:
    """Axes come as an attribute (opset < 13) or an input; the static output shape has them."""
    ctx.alias()


@lowering("Identity")
def identity(ctx: NodeContext) -> None:
    ctx.alias()


@lowering("Dropout")
def dropout(ctx: NodeContext, ratio: float = 0.5, seed: int = 0, is_test: int = 0) -> None:
    """Dropout that drops nothing is the identity with an all-true mask: inference mode, or
    training mode with ratio 0. Random dropping (training with ratio > 0) is refused."""
    training = ctx.input(2)
    if training is not None and bool(np.asarray(ctx.const_input(2, "training_mode")).any()):
        rate = ctx.const_input(1, "ratio") if ctx.input(1) is not None else np.array(ratio)
        if float(np.asarray(rate).reshape(-1)[0]) != 0.0:
            ctx.unsupported("training-mode Dropout with ratio > 0 drops random elements; "
                            "only deterministic Dropout (inference, or ratio 0) is supported")
    ctx.alias()
    mask = ctx.output(1)
    if mask is not None and mask.size:
        ctx.runtime("tensor")
        ctx.call("dlg_fill", mask, ctx.const("mask_value", np.ones(1, mask.dtype)),
                 mask.dtype.itemsize, mask.size)


# -- strided copies: Transpose, Slice, Expand ------------------------------------------------

def strided_copy(ctx: NodeContext, y: Tensor, x: Tensor, x_strides: list[int],
                 x_offset: int = 0) -> None:
    """Y (contiguous) = X read from ``x_offset`` along ``x_strides`` (elements, per Y dim)."""
    if y.size == 0:
        return
    dims, (strides,) = collapse(y.shape, list(x_strides))
    if x_offset == 0 and y.size == x.size and strides[-1] == 1 and len(dims) == 1:
        ctx.copy(y, x)  # nothing moves: a plain copy
        return
    if len(dims) > MAX_RANK:
        ctx.unsupported(f"the copy needs {len(dims)} loop dims after collapsing; "
                        f"at most {MAX_RANK} are supported")
    op = ctx.node.op_type.lower()
    dims_t = ctx.const(f"{op}_dims", np.array(dims, np.int64))
    strides_t = ctx.const(f"{op}_strides", np.array(strides, np.int64))
    ctx.runtime("tensor")
    ctx.call("dlg_strided_copy", y, x, x.dtype.itemsize, len(dims), dims_t, strides_t,
             int(x_offset))


@lowering("Transpose")
def transpose(ctx: NodeContext, perm=None) -> None:
    x, y = ctx.input(0), ctx.output(0)
    perm = list(range(x.rank))[::-1] if perm is None else [int(p) for p in perm]
    if sorted(perm) != list(range(x.rank)):
        ctx.unsupported(f"perm {perm} is not a permutation of the {x.rank} input dims")
    strides = contiguous_strides(x.shape)
    strided_copy(ctx, y, x, [strides[p] for p in perm])


def slice_axis(dim: int, start: int, end: int, step: int) -> tuple[int, int]:
    """(first index, count) of ONNX Slice along a dim: negative bounds count from the end,
    then start is clamped to [0, dim] ([0, dim-1] stepping backwards), end to [0, dim]
    ([-1, dim-1] stepping backwards)."""
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        return start, max(0, -(-(end - start) // step))
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return start, max(0, -(-(start - end) // -step))


def _slice_params(ctx: NodeContext, starts, ends, axes):
    """(starts, ends, axes, steps) from attributes (opset < 10) or constant inputs."""
    if starts is not None:  # attribute form
        axes = list(range(len(starts))) if axes is None else axes
        return list(starts), list(ends), list(axes), [1] * len(starts)
    starts = ctx.const_input(1, "starts").reshape(-1).tolist()
    ends = ctx.const_input(2, "ends").reshape(-1).tolist()
    axes_in = ctx.const_input(3, "axes")
    steps_in = ctx.const_input(4, "steps")
    axes = list(range(len(starts))) if axes_in is None else axes_in.reshape(-1).tolist()
    steps = [1] * len(starts) if steps_in is None else steps_in.reshape(-1).tolist()
    return starts, ends, axes, steps


@lowering("Slice")
def slice_(ctx: NodeContext, starts=None, ends=None, axes=None) -> None:
    x, y = ctx.input(0), ctx.output(0)
    starts, ends, axes, steps = _slice_params(ctx, starts, ends, axes)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        ctx.unsupported("starts, ends, axes and steps have different lengths")
    contiguous = contiguous_strides(x.shape)
    strides, shape, offset = list(contiguous), list(x.shape), 0
    seen = set()
    for s, e, a, step in zip(starts, ends, axes, steps):
        a = normalize_axis(ctx, a, x.rank, "slice axis")
        if a in seen or step == 0:
            ctx.unsupported(f"axis {a} is repeated or has step 0")
        seen.add(a)
        first, count = slice_axis(x.shape[a], int(s), int(e), int(step))
        offset += first * contiguous[a]
        strides[a] = contiguous[a] * int(step)
        shape[a] = count
    if tuple(shape) != y.shape:
        ctx.unsupported(f"computed output shape {shape} differs from the inferred {list(y.shape)}")
    strided_copy(ctx, y, x, strides, offset)


@lowering("Expand")
def expand(ctx: NodeContext) -> None:
    """The shape input was folded into the static output shape; broadcast by stride 0."""
    x, y = ctx.input(0), ctx.output(0)
    strided_copy(ctx, y, x, broadcast_strides(x.shape, y.shape))


# -- row copies: Concat, Split; slices: Gather -------------------------------------------------

@lowering("Concat")
def concat(ctx: NodeContext, axis: int | None = None) -> None:
    y = ctx.output(0)
    if axis is None:
        ctx.unsupported("the axis attribute is missing")
    axis = normalize_axis(ctx, axis, y.rank)
    outer = _prod(y.shape[:axis])
    inner = _prod(y.shape[axis + 1:]) * y.dtype.itemsize  # bytes per index along the axis
    ctx.runtime("tensor")
    start = 0
    for x in ctx.inputs:
        if x is None or x.size == 0:
            continue
        row = x.shape[axis] * inner
        ctx.call("dlg_copy_rows", y, start * inner, y.shape[axis] * inner, x, 0, row, row, outer)
        start += x.shape[axis]


@lowering("Split")
def split(ctx: NodeContext, axis: int = 0, split=None, num_outputs: int | None = None) -> None:
    """Sizes come from the outputs' static shapes (they already encode split/num_outputs)."""
    x = ctx.input(0)
    axis = normalize_axis(ctx, axis, x.rank)
    outer = _prod(x.shape[:axis])
    inner = _prod(x.shape[axis + 1:]) * x.dtype.itemsize
    ctx.runtime("tensor")
    start = 0
    for y in ctx.outputs:
        if y is None:
            ctx.unsupported("an omitted Split output is not supported")
        if y.size:
            row = y.shape[axis] * inner
            ctx.call("dlg_copy_rows", y, 0, row, x, start * inner, x.shape[axis] * inner, row,
                     outer)
        start += y.shape[axis]


GATHER_KERNELS = {"int64": "dlg_gather_i64", "int32": "dlg_gather_i32"}


@lowering("Gather")
def gather(ctx: NodeContext, axis: int = 0) -> None:
    x, indices, y = ctx.input(0), ctx.input(1), ctx.output(0)
    axis = normalize_axis(ctx, axis, x.rank)
    if indices.dtype.name not in GATHER_KERNELS:
        ctx.unsupported(f"indices of type {indices.dtype.name} (int32 or int64 needed)")
    dim = x.shape[axis]
    if indices.data is not None and indices.size:
        bad = indices.data[(indices.data < -dim) | (indices.data >= dim)]
        if bad.size:
            ctx.unsupported(f"constant index {int(bad.reshape(-1)[0])} is out of range for "
                            f"axis {axis} of size {dim}")
    if y.size == 0:
        return
    ctx.runtime("tensor")
    ctx.call(GATHER_KERNELS[indices.dtype.name], y, x, indices, indices.size,
             _prod(x.shape[:axis]), dim, _prod(x.shape[axis + 1:]) * x.dtype.itemsize)


# -- Pad -------------------------------------------------------------------------------------

def pad_map(mode: str, out_dim: int, in_dim: int, begin: int) -> np.ndarray:
    """For each output index along a dim, the input index it reads (-1: the pad value)."""
    i = np.arange(out_dim, dtype=np.int64) - begin
    inside = (i >= 0) & (i < in_dim)
    if mode == "constant":
        return np.where(inside, i, -1)
    if mode == "edge":
        return np.clip(i, 0, in_dim - 1)
    if mode == "wrap":
        return np.mod(i, in_dim)
    # reflect (the edge itself is not repeated), as often as the pad needs
    if in_dim == 1:
        return np.zeros(out_dim, np.int64)
    period = 2 * (in_dim - 1)
    r = np.mod(i, period)
    return np.where(r < in_dim, r, period - r)


def _pad_params(ctx: NodeContext, pads, value, rank: int):
    """(begins, ends, pad value) from attributes (opset < 11) or constant inputs."""
    if pads is None:
        pads = ctx.const_input(1, "pads").reshape(-1).tolist()
        v = ctx.const_input(2, "constant_value")
        value = 0 if v is None or v.size == 0 else v.reshape(-1)[0].item()
        axes_in = ctx.const_input(3, "axes")
        axes = list(range(rank)) if axes_in is None else axes_in.reshape(-1).tolist()
    else:
        pads, axes = list(pads), list(range(rank))
    if len(pads) != 2 * len(axes):
        ctx.unsupported(f"{len(pads)} pads for {len(axes)} axes")
    begins, ends = [0] * rank, [0] * rank
    for k, a in enumerate(axes):
        a = normalize_axis(ctx, a, rank, "pad axis")
        begins[a], ends[a] = int(pads[k]), int(pads[k + len(axes)])
    return begins, ends, value


@lowering("Pad")
def pad(ctx: NodeContext, mode: str = "constant", pads=None, value: float = 0.0) -> None:
    x, y = ctx.input(0), ctx.output(0)
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("constant", "reflect", "edge", "wrap"):
        ctx.unsupported(f"mode {mode!r} (constant, reflect, edge or wrap supported)")
    begins, ends, value = _pad_params(ctx, pads, value, x.rank)
    if y.size == 0:
        return
    if mode != "constant" and x.size == 0:
        ctx.unsupported(f"mode {mode!r} needs a non-empty input")
    # Per dim: (out dim, in dim, index map, padded?). Unpadded dims of size 1 carry nothing.
    dims = [(y.shape[d], x.shape[d], pad_map(mode, y.shape[d], x.shape[d], begins[d]),
             begins[d] != 0 or ends[d] != 0) for d in range(x.rank)]
    dims = [d for d in dims if d[3] or d[0] != 1]
    block = 1  # trailing unpadded dims move as one element
    while dims and not dims[-1][3]:
        block *= dims.pop()[1]
    if not dims:
        ctx.copy(y, x)
        return
    merged: list[list] = []
    for out_dim, in_dim, m, padded in dims:
        if not padded and merged and not merged[-1][3]:
            size = merged[-1][1] * in_dim
            merged[-1] = [size, size, np.arange(size, dtype=np.int64), False]
        else:
            merged.append([out_dim, in_dim, m, padded])
    if len(merged) > MAX_RANK:
        ctx.unsupported(f"{len(merged)} padded dims after collapsing; at most {MAX_RANK}")
    x_strides = [s * block for s in contiguous_strides(tuple(d[1] for d in merged))]
    value_t = ctx.const("pad_value", np.array([value], dtype=x.dtype)) if mode == "constant" \
        else None
    ctx.runtime("tensor")
    ctx.call("dlg_pad", y, x, value_t, x.dtype.itemsize, block, len(merged),
             ctx.const("pad_dims", np.array([d[0] for d in merged], np.int64)),
             ctx.const("pad_strides", np.array(x_strides, np.int64)),
             ctx.const("pad_maps", np.concatenate([d[2] for d in merged]).astype(np.int64)))


# -- shape ops left unfolded: copies of compile-time constants ----------------------------------

def _copy_constant(ctx: NodeContext, base: str, data: np.ndarray) -> None:
    y = ctx.output(0)
    data = np.asarray(data).astype(y.dtype)
    if data.size != y.size:
        ctx.unsupported(f"computed {data.size} values for an output of {y.size}")
    if y.size:
        ctx.copy(y, ctx.const(base, data.reshape(y.shape)))


@lowering("Shape")
def shape(ctx: NodeContext, start: int = 0, end: int | None = None) -> None:
    _copy_constant(ctx, "shape", np.array(shape_slice(ctx.input(0).shape, start, end), np.int64))


@lowering("Size")
def size(ctx: NodeContext) -> None:
    _copy_constant(ctx, "size", np.array(ctx.input(0).size, np.int64))


@lowering("ConstantOfShape")
def constant_of_shape(ctx: NodeContext, value=None) -> None:
    """A fill at run time (the output may be large); its shape is the static output shape."""
    y = ctx.output(0)
    v = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    if y.size == 0:
        return
    value_t = ctx.const("fill_value", v[:1].astype(y.dtype))
    ctx.runtime("tensor")
    ctx.call("dlg_fill", y, value_t, y.dtype.itemsize, y.size)


@lowering("Range")
def range_(ctx: NodeContext) -> None:
    y = ctx.output(0)
    start, limit, delta = (ctx.const_input(i, name).reshape(-1)[0].item()
                           for i, name in enumerate(("start", "limit", "delta")))
    if delta == 0:
        ctx.unsupported("delta is 0")
    count = max(int(math.ceil((limit - start) / delta)), 0)
    values = [start + k * delta for k in range(count)]
    _copy_constant(ctx, "range", np.array(values, dtype=y.dtype))
