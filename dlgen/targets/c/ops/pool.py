"""MaxPool, AveragePool, LpPool, GlobalMaxPool, GlobalAveragePool, MaxUnpool and RoiAlign as
calls to runtime/pool.c.

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
    ctx.runtime("pool", "geometry")
    ctx.call("dlg_maxpool_f32", x.shape[0] * x.shape[1],
             geometry_table(ctx, axes, "maxpool_geometry"), x, y, indices, index_strides)


@lowering("AveragePool")
def average_pool(ctx: NodeContext, auto_pad: str = "NOTSET", ceil_mode: int = 0,
                 count_include_pad: int = 0, dilations=None, kernel_shape=None, pads=None,
                 strides=None) -> None:
    x, y = ctx.input(0), ctx.output(0)
    axes = _pool_axes(ctx, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    ctx.runtime("pool", "geometry")
    ctx.call("dlg_avgpool_f32", x.shape[0] * x.shape[1],
             geometry_table(ctx, axes, "avgpool_geometry"), int(bool(count_include_pad)), x, y)


def _global_pool(ctx: NodeContext, func: str) -> None:
    x, y = ctx.input(0), ctx.output(0)
    if x.dtype != np.float32 or x.rank < 3:
        ctx.unsupported(f"input must be float32 of rank >= 3 (got {x.dtype.name}, "
                        f"rank {x.rank})")
    ctx.runtime("pool", "geometry")
    ctx.call(func, x.shape[0] * x.shape[1], int(np.prod(x.shape[2:], dtype=np.int64)), x, y)


@lowering("GlobalMaxPool")
def global_max_pool(ctx: NodeContext) -> None:
    _global_pool(ctx, "dlg_global_maxpool_f32")


@lowering("GlobalAveragePool")
def global_average_pool(ctx: NodeContext) -> None:
    _global_pool(ctx, "dlg_global_avgpool_f32")


@lowering("LpPool")
def lp_pool(ctx: NodeContext, auto_pad: str = "NOTSET", ceil_mode: int = 0, dilations=None,
            kernel_shape=None, p: int = 2, pads=None, strides=None) -> None:
    x, y = ctx.input(0), ctx.output(0)
    axes = _pool_axes(ctx, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    if p <= 0:
        ctx.unsupported(f"p={p} must be positive")
    ctx.runtime("pool", "geometry")
    ctx.call("dlg_lppool_f32", x.shape[0] * x.shape[1],
             geometry_table(ctx, axes, "lppool_geometry"), float(p), x, y)


@lowering("MaxUnpool")
def max_unpool(ctx: NodeContext, kernel_shape=None, pads=None, strides=None) -> None:
    """Scatter X to the flat positions in I (MaxPool's Indices) of a zeroed Y. Y's shape is
    the static output shape: from output_shape (a constant, or a specialized input) or from
    the attributes."""
    x, indices, y = ctx.input(0), ctx.input(1), ctx.output(0)
    spatial = spatial_dims(ctx, x)
    if indices.dtype != np.int64 or indices.shape != x.shape:
        ctx.unsupported(f"indices must be int64 of X's shape {x.shape}")
    if kernel_shape is None:
        ctx.unsupported("kernel_shape is required")
    win = make_window(ctx, spatial, kernel_shape, strides, None, pads, "NOTSET")
    want = ctx.const_input(2, "output_shape")
    if want is None:
        want = list(x.shape[:2]) + [
            (size - 1) * s - win.pads[i] - win.pads[i + spatial] + k
            for i, (size, s, k) in enumerate(zip(x.shape[2:], win.strides, win.kernel_shape))]
    if tuple(int(v) for v in want) != tuple(y.shape):
        ctx.unsupported(f"the output shape {tuple(y.shape)} (from shape inference) differs "
                        f"from {tuple(int(v) for v in want)}")
    ctx.runtime("pool", "geometry")
    ctx.call("dlg_maxunpool_f32", x.size, x, indices, y.size, y)


ROI_ALIGN_MODES = ("avg", "max")
ROI_COORDINATE_MODES = ("half_pixel", "output_half_pixel")


@lowering("RoiAlign")
def roi_align(ctx: NodeContext, coordinate_transformation_mode: str = "half_pixel",
              mode: str = "avg", output_height: int = 1, output_width: int = 1,
              sampling_ratio: int = 0, spatial_scale: float = 1.0) -> None:
    x, rois, batch_indices, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    if x.dtype != np.float32 or x.rank != 4 or rois.dtype != np.float32:
        ctx.unsupported("X must be float32 N x C x H x W and rois float32")
    if mode not in ROI_ALIGN_MODES:
        ctx.unsupported(f"mode {mode!r} is not one of {', '.join(ROI_ALIGN_MODES)}")
    if coordinate_transformation_mode not in ROI_COORDINATE_MODES:
        ctx.unsupported(f"coordinate_transformation_mode {coordinate_transformation_mode!r} "
                        f"is not one of {', '.join(ROI_COORDINATE_MODES)}")
    if batch_indices.dtype != np.int64 or rois.shape != (batch_indices.size, 4):
        ctx.unsupported(f"rois {rois.shape} and int64 batch_indices {batch_indices.shape} "
                        "must be [num_rois, 4] and [num_rois]")
    _, channels, height, width = x.shape
    if y.shape != (rois.shape[0], channels, output_height, output_width):
        ctx.unsupported(f"output shape {y.shape} does not match the attributes")
    ctx.runtime("pool", "geometry")
    ctx.call("dlg_roi_align_f32", channels, height, width, rois.shape[0], output_height,
             output_width, int(sampling_ratio), float(spatial_scale),
             int(coordinate_transformation_mode == "half_pixel"), int(mode == "max"),
             x, rois, batch_indices, y)
