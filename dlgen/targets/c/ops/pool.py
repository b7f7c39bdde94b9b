"""MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool as calls to runtime/pool.c.

Window geometry is resolved with conv.py's helpers, the way ONNX Runtime does for pooling:
SAME pads come from the undilated kernel size, and in ceil mode a last window that would start
past the input and its leading padding is dropped.
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext
from ..registry import lowering
from .conv import (MAX_SPATIAL_DIMS, Axis, check_output_shape, geometry_table, make_window,
                   spatial_dims, window_axes)


def _pool_axes(ctx: NodeContext, kernel_shape, strides, dilations, pads, auto_pad,
               ceil_mode) -> list[Axis]:
    x, y = ctx.input(0), ctx.output(0)
    spatial = spatial_dims(ctx, x)
    if kernel_shape is None:
        ctx.unsupported("kernel_shape is required")
    win = make_window(ctx, spatial, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    axes = window_axes(ctx, x.shape[2:], win, same_uses_dilation=False)
    check_output_shape(ctx, axes, y)
    return axes


def _index_strides(spatial_shape: tuple[int, ...], storage_order: int) -> np.ndarray:
    """Strides turning a (D, H, W) position into the flat Indices value: row-major for
    storage_order 0, column-major (first axis fastest) for 1; unused leading axes get 0."""
    sizes = list(spatial_shape)
    if storage_order:
        strides = [int(np.prod(sizes[:i], dtype=np.int64)) for i in range(len(sizes))]
    else:
        strides = [int(np.prod(sizes[i + 1:], dtype=np.int64)) for i in range(len(sizes))]
    return np.array([0] * (MAX_SPATIAL_DIMS - len(sizes)) + strides, dtype=np.int64)


@lowering("MaxPool")
def max_pool(ctx: NodeContext, auto_pad: str = "NOTSET", ceil_mode: int = 0, dilations=None,
             kernel_shape=None, pads=None, storage_order: int = 0, strides=None) -> None:
    x, y, indices = ctx.input(0), ctx.output(0), ctx.output(1)
    axes = _pool_axes(ctx, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    index_strides = None
    if indices is not None:
        index_strides = ctx.const("maxpool_index_strides",
                                  _index_strides(x.shape[2:], storage_order))
    ctx.runtime("pool")
    ctx.call("dlg_maxpool_f32", x.shape[0] * x.shape[1],
             geometry_table(ctx, axes, "maxpool_geometry"), x, y, indices, index_strides)


@lowering("AveragePool")
def average_pool(ctx: NodeContext, auto_pad: str = "NOTSET", ceil_mode: int = 0,
                 count_include_pad: int = 0, dilations=None, kernel_shape=None, pads=None,
                 strides=None) -> None:
    x, y = ctx.input(0), ctx.output(0)
    axes = _pool_axes(ctx, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    ctx.runtime("pool")
    ctx.call("dlg_avgpool_f32", x.shape[0] * x.shape[1],
             geometry_table(ctx, axes, "avgpool_geometry"), int(bool(count_include_pad)), x, y)


def _global_pool(ctx: NodeContext, func: str) -> None:
    x, y = ctx.input(0), ctx.output(0)
    if x.dtype != np.float32 or x.rank < 3:
        ctx.unsupported(f"input must be float32 of rank >= 3 (got {x.dtype.name}, "
                        f"rank {x.rank})")
    ctx.runtime("pool")
    ctx.call(func, x.shape[0] * x.shape[1], int(np.prod(x.shape[2:], dtype=np.int64)), x, y)


@lowering("GlobalMaxPool")
def global_max_pool(ctx: NodeContext) -> None:
    _global_pool(ctx, "dlg_global_maxpool_f32")


@lowering("GlobalAveragePool")
def global_average_pool(ctx: NodeContext) -> None:
    _global_pool(ctx, "dlg_global_avgpool_f32")
