"""DeformConv (opset 19) as a call to runtime/deform.c, 2-D and float32 like ONNX Runtime.

The window geometry (pads, strides, dilations, output size) is resolved with conv.py's
helpers; offset groups, the optional mask and bias, and grouped convolution are the kernel's.
Sampling is bilinear with zero padding (GridSample with align_corners=1, as the ONNX reference
and ONNX Runtime).
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext, Tensor
from ..registry import lowering
from .conv import check_output_shape, make_window, window_axes


def _check(ctx: NodeContext, what: str, t: Tensor | None, shape: tuple[int, ...]) -> None:
    if t is None:
        return
    if t.dtype != np.float32:
        ctx.unsupported(f"{what} element type {t.dtype.name} is not supported (float32 needed)")
    if tuple(t.shape) != shape:
        ctx.unsupported(f"{what} shape {list(t.shape)} does not match {list(shape)}")


@lowering("DeformConv")
def deform_conv(ctx: NodeContext, dilations=None, group: int = 1, kernel_shape=None,
                offset_group: int = 1, pads=None, strides=None) -> None:
    x, w, offset, b, mask = (ctx.input(i) for i in range(5))
    y = ctx.output(0)
    if x.rank != 4:
        ctx.unsupported(f"input rank {x.rank} is not supported (2-D DeformConv, rank 4, "
                        "as ONNX Runtime)")
    batch, channels = x.shape[:2]
    maps = w.shape[0]
    if group < 1 or channels % group or maps % group or w.rank != 4 \
            or w.shape[1] * group != channels:
        ctx.unsupported(f"group={group} does not fit {channels} input channels and weights "
                        f"of shape {list(w.shape)}")
    if offset_group < 1 or channels % offset_group:
        ctx.unsupported(f"offset_group={offset_group} does not divide {channels} channels")
    if kernel_shape is not None and tuple(kernel_shape) != tuple(w.shape[2:]):
        ctx.unsupported(f"kernel_shape {list(kernel_shape)} differs from the weights' spatial "
                        f"shape {list(w.shape[2:])}")
    win = make_window(ctx, 2, w.shape[2:], strides, dilations, pads, "NOTSET")
    axes = window_axes(ctx, x.shape[2:], win)
    check_output_shape(ctx, axes, y)
    (kh, kw), (oh, ow) = w.shape[2:], y.shape[2:]
    taps = offset_group * kh * kw
    _check(ctx, "X", x, x.shape)
    _check(ctx, "W", w, w.shape)
    _check(ctx, "offset", offset, (batch, 2 * taps, oh, ow))
    _check(ctx, "B", b, (maps,))
    _check(ctx, "mask", mask, (batch, taps, oh, ow))
    h, v = axes
    geom = ctx.const("deform_geometry", np.array(
        [h.size, v.size, h.out, v.out, h.kernel, v.kernel, h.stride, v.stride,
         h.dilation, v.dilation, h.pad_begin, v.pad_begin], np.int64))
    ctx.runtime("deform")
    ctx.call("dlg_deform_conv2d_f32", batch, channels, maps, group, offset_group, geom, x, w,
             offset, mask, b, y, ctx.scratch(oh * ow))
