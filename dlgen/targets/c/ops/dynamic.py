"""Ops whose output size depends on the data: NonZero, Unique, NonMaxSuppression (kernels in
runtime/dynamic.c), plus the run-time forms of Compress (layout.py) and TopK (reduce.py).

Their outputs carry a compile-time bound shape and ``dynamic`` dims (frontend/bounds.py);
every kernel writes the data-dependent size through ``ctx.dim(...)`` and returns
DLG_ERR_BOUND rather than exceed the bound (``ctx.call_checked``). See lower.py's docstring.
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext, Tensor
from ..registry import lowering
from .tensor import normalize_axis

SUFFIXES = {"float32": "f32", "float64": "f64", "int8": "i8", "int16": "i16", "int32": "i32",
            "int64": "i64", "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
            "bool": "u8"}
# Unique compares 16-bit floats by value (stored as bits; NonZero would see -0.0 as non-zero).
UNIQUE_SUFFIXES = {**SUFFIXES, "float16": "f16", "bfloat16": "bf16"}
MAX_NONZERO_RANK = 8  # dlg_nonzero keeps the multi-index in a local of this size


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


def _suffix(ctx: NodeContext, t: Tensor, table: dict[str, str] = SUFFIXES) -> str:
    if t.dtype.name not in table:
        ctx.unsupported(f"element type {t.dtype.name} is not supported (float32/float64, "
                        "integers or bool needed)")
    return table[t.dtype.name]


def _require_dynamic(ctx: NodeContext, t: Tensor) -> None:
    if not t.is_dynamic:  # bounds.py always marks these; a static shape here is a bug upstream
        ctx.unsupported(f"output {t.name!r} has a static shape {list(t.shape)} but its size "
                        "depends on the data")


@lowering("NonZero")
def non_zero(ctx: NodeContext) -> None:
    """Y [rank, N]: N (<= numel(X), or the user's bound) is written at run time."""
    x, y = ctx.input(0), ctx.output(0)
    suffix = _suffix(ctx, x)
    if not 1 <= x.rank <= MAX_NONZERO_RANK:
        ctx.unsupported(f"a rank-{x.rank} input (1 to {MAX_NONZERO_RANK} dims supported)")
    _require_dynamic(ctx, y)
    ctx.runtime("dynamic", "half")
    ctx.call_checked(f"dlg_nonzero_{suffix}", y, ctx.dim(y, 1), x, x.rank,
                     ctx.const("nonzero_dims", np.array(x.shape, np.int64)), y.shape[1])


@lowering("Unique")
def unique(ctx: NodeContext, axis=None, sorted: int = 1) -> None:
    """Unique elements (no axis, over the flattened input) or slices along ``axis``; every
    output may be omitted. Y, indices and counts share the run-time count U; inverse_indices
    is static."""
    x, y = ctx.input(0), ctx.output(0)
    suffix = _suffix(ctx, x, UNIQUE_SUFFIXES)
    if axis is None:
        outer, dim, inner, a = 1, x.size, 1, 0
    else:
        a = normalize_axis(ctx, axis, x.rank)
        outer, dim, inner = _prod(x.shape[:a]), x.shape[a], _prod(x.shape[a + 1:])
    outs = [ctx.output(i) for i in range(4)]
    count_out = next((t for t in (outs[0], outs[1], outs[3]) if t is not None), None)
    if count_out is None:  # only inverse_indices is wanted
        bound = dim
    else:
        _require_dynamic(ctx, count_out)
        bound = count_out.shape[a if count_out is y else 0]
    first = outs[1] if outs[1] is not None else ctx.scratch(max(bound, 1), np.int64)
    inverse = outs[2] if outs[2] is not None else ctx.scratch(max(dim, 1), np.int64)
    counts = outs[3] if outs[3] is not None else ctx.scratch(max(bound, 1), np.int64)
    values = y if y is not None else ctx.scratch(max(outer * bound * inner, 1), x.dtype)
    count = (ctx.dim(count_out, a if count_out is y else 0) if count_out is not None
             else ctx.scratch(1, np.int64))
    ctx.runtime("dynamic", "half")
    ctx.call_checked(f"dlg_unique_{suffix}", values, first, inverse, counts, count, x, outer,
                     dim, inner, int(bool(sorted)), bound, ctx.scratch(max(2 * dim, 1), np.int64))
    for t in outs:  # the other outputs with the count take it from the kernel's
        if t is not None and t is not count_out and t.is_dynamic:
            axis_t = a if t is y else 0
            ctx.emit("common.c.j2", "copy", dst=ctx.dim(t, axis_t), src=count, nbytes=8)


@lowering("NonMaxSuppression")
def non_max_suppression(ctx: NodeContext, center_point_box: int = 0) -> None:
    """selected_indices [S, 3] with S at run time. max_output_boxes_per_class, iou_threshold
    and score_threshold are read at run time (compile-time constants work the same way)."""
    boxes, scores, y = ctx.input(0), ctx.input(1), ctx.output(0)
    if boxes.dtype != np.float32 or scores.dtype != np.float32:
        ctx.unsupported(f"element type {boxes.dtype.name} is not supported (float32 needed)")
    if boxes.rank != 3 or boxes.shape[2] != 4 or scores.rank != 3:
        ctx.unsupported(f"boxes {list(boxes.shape)} and scores {list(scores.shape)} are not "
                        "[batches, boxes, 4] and [batches, classes, boxes]")
    batches, classes, n = scores.shape
    if boxes.shape[:2] != (batches, n):
        ctx.unsupported(f"boxes {list(boxes.shape)} do not match scores {list(scores.shape)}")
    if center_point_box not in (0, 1):
        ctx.unsupported(f"center_point_box = {center_point_box} (0 or 1)")
    _require_dynamic(ctx, y)
    optional = [ctx.input(2), ctx.input(3), ctx.input(4)]
    for t, dtype in zip(optional, (np.int64, np.float32, np.float32)):
        if t is not None and (t.dtype != dtype or t.size != 1):
            ctx.unsupported(f"input {t.name!r} must hold one {np.dtype(dtype).name} value")
    ctx.runtime("dynamic", "half")
    ctx.call_checked("dlg_non_max_suppression_f32", y, ctx.dim(y, 0), boxes, scores, batches,
                     classes, n, *optional, int(center_point_box), y.shape[0],
                     ctx.scratch(max(n, 1), np.uint8))


def compress_runtime(ctx: NodeContext, axis=None) -> None:
    """Compress with a run-time condition (layout.py handles a constant one): the kept count
    (at most min(len(condition), axis size or numel)) is decided by the kernel."""
    x, cond, y = ctx.input(0), ctx.input(1), ctx.output(0)
    if cond.dtype != np.bool_ or cond.rank != 1:
        ctx.unsupported(f"the condition must be a 1-D bool tensor, not {cond.dtype.name} "
                        f"{list(cond.shape)}")
    _require_dynamic(ctx, y)
    if axis is None:
        outer, dim, inner, a = 1, x.size, 1, 0
    else:
        a = normalize_axis(ctx, axis, x.rank)
        outer, dim, inner = _prod(x.shape[:a]), x.shape[a], _prod(x.shape[a + 1:])
    ctx.runtime("dynamic", "half")
    ctx.call_checked("dlg_compress", y, ctx.dim(y, a), x, cond, cond.size, outer, dim,
                     inner * x.dtype.itemsize, y.shape[a])


def top_k_runtime(ctx: NodeContext, axis: int, largest: int, suffix: str) -> None:
    """TopK with a run-time k (reduce.py handles a constant one): dlg_set_count checks
    0 <= k <= bound (the axis size, or the user's bound) and stores it in the outputs' dims,
    then reduce.c's dlg_top_k writes [outer, k, inner] compactly."""
    x, k, values, indices = ctx.input(0), ctx.input(1), ctx.output(0), ctx.output(1)
    if k.dtype != np.int64 or k.size != 1:
        ctx.unsupported(f"k must hold one int64 value, not {k.dtype.name} {list(k.shape)}")
    a = normalize_axis(ctx, axis, x.rank)
    outer, axis_dim, inner = _prod(x.shape[:a]), x.shape[a], _prod(x.shape[a + 1:])
    outs = [t for t in (values, indices) if t is not None]
    for t in outs:
        _require_dynamic(ctx, t)
    bound = outs[0].shape[a]
    count = ctx.dim(outs[0], a)
    ctx.runtime("dynamic", "half", "reduce")
    ctx.call_checked("dlg_set_count", count, f"{ctx.ref(k)}[0]", bound)
    for t in outs[1:]:
        ctx.emit("common.c.j2", "copy", dst=ctx.dim(t, a), src=count, nbytes=8)
    if outer * inner * bound == 0:
        return
    if values is None:
        values = ctx.scratch(outer * bound * inner, x.dtype)
    if indices is None:
        indices = ctx.scratch(outer * bound * inner, np.int64)
    ctx.call(f"dlg_top_k_{suffix}", values, indices, x, outer, axis_dim, inner,
             f"(size_t)*{count}", int(bool(largest)))
