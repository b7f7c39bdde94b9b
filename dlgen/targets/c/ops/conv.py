"""Conv (and dlgen::FusedConv), ConvTranspose and inference BatchNormalization as calls to
runtime/conv.c.

The sliding-window geometry (kernel, strides, dilations, pads, auto_pad, ceil_mode) is resolved
here, in Python, into one int64 table per node whose layout conv.h and pool.h describe; the
pooling lowerings (pool.py) share these helpers. Output sizes are recomputed the way ONNX
Runtime does and must agree with the graph's inferred shapes, otherwise the node is refused
(ONNX shape inference and ONNX Runtime disagree on a few pooling corner cases).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..lower import NodeContext, Tensor
from ..registry import lowering
from .activation import act_args
from .gemm import BLAS_MIN_DEPTH, BLAS_MIN_ROWS
from .packing import NR, pack_conv_weights, pack_winograd_weights

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
MAX_SPATIAL_DIMS = 3  # the kernels' geometry tables hold D, H, W
UNUSED_AXIS = [1, 1, 1, 1, 1, 0, 0]  # a size-1 leading axis of a 1-D or 2-D window


@dataclass(frozen=True)
class Axis:
    """One spatial axis of a sliding window: a row of the kernels' geometry table."""

    size: int
    out: int
    kernel: int
    stride: int
    dilation: int
    pad_begin: int
    pad_end: int

    def row(self) -> list[int]:
        return [self.size, self.out, self.kernel, self.stride, self.dilation,
                self.pad_begin, self.pad_end]


@dataclass(frozen=True)
class Window:
    """A node's window attributes, defaults filled in (``pads`` as ONNX: all begins, all ends)."""

    kernel_shape: Sequence[int]
    strides: Sequence[int]
    dilations: Sequence[int]
    pads: Sequence[int]
    auto_pad: str = "NOTSET"
    ceil_mode: int = 0


def make_window(ctx: NodeContext, spatial: int, kernel_shape, strides, dilations, pads,
                auto_pad: str, ceil_mode: int = 0) -> Window:
    """Fill in attribute defaults and check every list has one entry per spatial axis."""
    win = Window(list(kernel_shape), list(strides or [1] * spatial),
                 list(dilations or [1] * spatial), list(pads or [0] * (2 * spatial)),
                 auto_pad or "NOTSET", int(ceil_mode))
    for name, values, want in [("kernel_shape", win.kernel_shape, spatial),
                               ("strides", win.strides, spatial),
                               ("dilations", win.dilations, spatial),
                               ("pads", win.pads, 2 * spatial)]:
        if len(values) != want:
            ctx.unsupported(f"{name} has {len(values)} values, expected {want} for "
                            f"{spatial} spatial dim(s)")
    if win.auto_pad not in AUTO_PADS:
        ctx.unsupported(f"auto_pad {win.auto_pad!r} is not one of {', '.join(AUTO_PADS)}")
    if min(win.kernel_shape) < 1 or min(win.strides) < 1 or min(win.dilations) < 1:
        ctx.unsupported("kernel_shape, strides and dilations must be positive")
    if win.auto_pad == "NOTSET" and min(win.pads) < 0:
        ctx.unsupported(f"negative pads {win.pads} are not supported")
    return win


def same_pads(size: int, stride: int, extent: int, auto_pad: str) -> tuple[int, int]:
    """(begin, end) pads of auto_pad SAME_UPPER/SAME_LOWER: the output gets ceil(size / stride)
    positions; an odd total pad puts the extra cell at the end (UPPER) or the beginning (LOWER).
    A kernel smaller than the stride needs no pad (ONNX Runtime clamps the total at 0 too)."""
    total = max(0, (-(-size // stride) - 1) * stride + extent - size)
    begin = (total + 1) // 2 if auto_pad == "SAME_LOWER" else total // 2
    return begin, total - begin


def output_size(size: int, extent: int, stride: int, begin: int, end: int, ceil_mode: int) -> int:
    """Output positions along one axis (floor or ceil mode). In ceil mode the last window must
    start inside the input or its leading padding, else it is dropped (ONNX, ONNX Runtime)."""
    span = size + begin + end - extent
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + begin:
        out -= 1
    return out


def window_axes(ctx: NodeContext, spatial_shape: Sequence[int], win: Window, *,
                same_uses_dilation: bool = True) -> list[Axis]:
    """Resolve pads (auto_pad) and output sizes per spatial axis.

    ``same_uses_dilation``: whether SAME padding is computed from the dilated kernel extent (the
    ONNX spec, used for Conv) or the plain kernel size (what ONNX Runtime does for pooling).
    """
    n = len(spatial_shape)
    axes = []
    for i, size in enumerate(spatial_shape):
        k, s, d = win.kernel_shape[i], win.strides[i], win.dilations[i]
        extent = (k - 1) * d + 1
        if win.auto_pad == "VALID":
            begin, end = 0, 0
        elif win.auto_pad.startswith("SAME"):
            begin, end = same_pads(size, s, extent if same_uses_dilation else k, win.auto_pad)
        else:
            begin, end = win.pads[i], win.pads[i + n]
        out = output_size(size, extent, s, begin, end, win.ceil_mode)
        if out < 1:
            ctx.unsupported(f"spatial axis {i}: a window of extent {extent} does not fit the "
                            f"input of size {size} with pads ({begin}, {end})")
        axes.append(Axis(size, out, k, s, d, begin, end))
    return axes


def check_output_shape(ctx: NodeContext, axes: list[Axis], y: Tensor) -> None:
    want = tuple(a.out for a in axes)
    if tuple(y.shape[2:]) != want:
        ctx.unsupported(f"the output's spatial shape {tuple(y.shape[2:])} (from shape "
                        f"inference) differs from {want}, which ONNX Runtime computes from the "
                        "attributes; refusing rather than guessing")


def geometry_table(ctx: NodeContext, axes: list[Axis], base: str) -> Tensor:
    """The int64 [3, 7] geometry table of conv.h/pool.h, leading unused axes of size 1."""
    rows = [UNUSED_AXIS] * (MAX_SPATIAL_DIMS - len(axes)) + [a.row() for a in axes]
    return ctx.const(base, np.array(rows, dtype=np.int64))


def spatial_dims(ctx: NodeContext, x: Tensor) -> int:
    """Number of spatial dims of an N x C x ... input; refuses ranks the kernels cannot do."""
    if x.dtype != np.float32:
        ctx.unsupported(f"element type {x.dtype.name} is not supported (float32 needed)")
    if not 3 <= x.rank <= 2 + MAX_SPATIAL_DIMS:
        ctx.unsupported(f"input rank {x.rank} is not supported (1 to {MAX_SPATIAL_DIMS} "
                        "spatial dims, i.e. rank 3 to 5)")
    return x.rank - 2


def _check_conv_shapes(ctx: NodeContext, x: Tensor, w: Tensor, b: Tensor | None,
                       group: int) -> None:
    channels, maps = x.shape[1], w.shape[0]
    if w.dtype != np.float32 or (b is not None and b.dtype != np.float32):
        ctx.unsupported("weights and bias must be float32")
    if w.rank != x.rank:
        ctx.unsupported(f"weight rank {w.rank} differs from input rank {x.rank}")
    if group < 1 or channels % group or maps % group or w.shape[1] * group != channels:
        ctx.unsupported(f"group={group} does not fit {channels} input channels and weights "
                        f"of shape {w.shape}")
    if b is not None and b.shape != (maps,):
        ctx.unsupported(f"bias shape {b.shape} is not ({maps},)")


@lowering("Conv")
@lowering("FusedConv", domain="dlgen")
def conv(ctx: NodeContext, auto_pad: str = "NOTSET", dilations=None, group: int = 1,
         kernel_shape=None, pads=None, strides=None, activation: str | None = None,
         activation_params=()) -> None:
    x, w, b, z, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.input(3), ctx.output(0)
    spatial = spatial_dims(ctx, x)
    _check_conv_shapes(ctx, x, w, b, group)
    if z is not None and (z.shape != y.shape or z.dtype != y.dtype):
        ctx.unsupported(f"the residual input's shape {z.shape} differs from the output's "
                        f"{y.shape}")
    if kernel_shape is None:
        kernel_shape = w.shape[2:]
    elif tuple(kernel_shape) != tuple(w.shape[2:]):
        ctx.unsupported(f"kernel_shape {list(kernel_shape)} differs from the weights' spatial "
                        f"shape {list(w.shape[2:])}")
    win = make_window(ctx, spatial, kernel_shape, strides, dilations, pads, auto_pad)
    axes = window_axes(ctx, x.shape[2:], win, same_uses_dilation=True)
    check_output_shape(ctx, axes, y)
    act = act_args(ctx, activation, activation_params)
    ctx.runtime("conv", "geometry")
    geom = geometry_table(ctx, axes, "conv_geometry")
    batch, channels, maps = x.shape[0], x.shape[1], w.shape[0]
    if ctx.fast and group == channels == maps:
        ctx.call("dlg_conv_depthwise_f32", batch, channels, geom, x, w, b, z, y, *act)
    elif winograd_wanted(ctx, axes, group, channels, maps):
        _conv_winograd(ctx, axes, geom, act)
    elif ctx.kernels == "cblas" and blas_conv_wins(ctx, group):
        # im2col of one group into scratch (none for a pointwise conv, which reads X as it is),
        # then one sgemm per image and group.
        pointwise = all(a.kernel == 1 and a.stride == 1 and a.size == a.out for a in axes)
        out_plane = int(np.prod(y.shape[2:]))
        col = None if pointwise else ctx.scratch(
            channels // group * int(np.prod(w.shape[2:])) * out_plane)
        ctx.call("dlg_conv_im2col_f32", batch, channels, maps, group, geom, x, w, b, z, y, col,
                 *act)
    elif ctx.kernels in ("portable", "cblas") and w.data is not None:
        packed = ctx.const("conv_packed_weights", pack_conv_weights(w.data, group))
        ctx.call("dlg_conv_packed_f32", batch, channels, maps, group, geom, x, packed, b, z, y,
                 *act)
    else:
        ctx.call("dlg_conv_f32", batch, channels, maps, group, geom, x, w, b, z, y, *act)


# Winograd F(4x4, 3x3) (runtime winograd.h). With winograd=auto it is chosen where it measured
# faster than the implicit GEMM (docs/ARCHITECTURE.md, "Winograd convolution"): at least
# WINOGRAD_MIN_IN_CHANNELS input channels (below, the transforms outweigh the GEMM savings),
# at least WINOGRAD_MIN_TILES 4x4 output tiles per image (fewer waste most of a 16-tile GEMM
# panel and the clipped parts of border tiles), and at least WINOGRAD_MIN_TILES_LARGE tiles
# when the transformed weights (4x the plain ones) exceed WINOGRAD_LARGE_WEIGHTS floats, as
# they are then streamed from memory for too little work.
WINOGRAD_MIN_IN_CHANNELS = 16
WINOGRAD_MIN_TILES = 9
WINOGRAD_MIN_TILES_LARGE = 16
WINOGRAD_LARGE_WEIGHTS = 36 * 256 * 256
# Tiles per block: the block's transformed inputs and GEMM results (scratch of
# 36 * block * (Cin + Cout) floats) stay within about this many floats (512 KiB, measured as
# fast as or faster than 1 to 8 MiB: the block stays in L2), at least NR tiles.
WINOGRAD_SCRATCH_FLOATS = 1 << 17


def winograd_eligible(ctx: NodeContext, axes: list[Axis], group: int) -> bool:
    """Whether dlg_conv_winograd_f32 can compute this Conv: portable or cblas kernels,
    constant weights, 2-D, 3x3, stride 1, dilation 1, one group."""
    return (ctx.kernels in ("portable", "cblas") and ctx.input(1).data is not None
            and len(axes) == 2 and group == 1
            and all(a.kernel == 3 and a.stride == 1 and a.dilation == 1 for a in axes))


def winograd_wanted(ctx: NodeContext, axes: list[Axis], group: int, channels: int,
                    maps: int) -> bool:
    """The winograd option (auto|on|off) applied to an eligible Conv."""
    mode = ctx.program.winograd
    if mode == "off" or not winograd_eligible(ctx, axes, group):
        return False
    if mode == "on":
        return True
    tiles = winograd_tiles(axes)
    large = 36 * channels * maps > WINOGRAD_LARGE_WEIGHTS
    return (channels >= WINOGRAD_MIN_IN_CHANNELS and tiles >= WINOGRAD_MIN_TILES
            and (tiles >= WINOGRAD_MIN_TILES_LARGE or not large))


def winograd_tiles(axes: list[Axis]) -> int:
    """4x4 output tiles per image."""
    return -(-axes[0].out // 4) * -(-axes[1].out // 4)


def winograd_tile_block(channels: int, maps: int, tiles: int) -> int:
    """Tiles per block (a multiple of NR): all of an image's tiles when the scratch allows."""
    fit = WINOGRAD_SCRATCH_FLOATS // (36 * (channels + maps)) // NR * NR
    return max(NR, min(fit, -(-tiles // NR) * NR))


def _conv_winograd(ctx: NodeContext, axes: list[Axis], geom: Tensor, act) -> None:
    x, w, b, z, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.input(3), ctx.output(0)
    channels, maps = x.shape[1], w.shape[0]
    block = winograd_tile_block(channels, maps, winograd_tiles(axes))
    ctx.runtime("winograd")  # with its src/opt dependencies (target.py OPT_DEPENDS)
    packed = ctx.const("conv_winograd_weights", pack_winograd_weights(w.data))
    scratch = ctx.scratch(36 * block * (channels + maps))
    ctx.call("dlg_conv_winograd_f32", x.shape[0], channels, maps, geom, x, packed, b, z, y,
             scratch, block, *act)


# --kernels cblas sends a convolution to the BLAS (an explicit im2col, or none for a pointwise
# conv, then cblas_sgemm) only where that measured faster than the portable kernels on one
# core (docs/ARCHITECTURE.md, "Where --kernels cblas calls the BLAS"): one group, and an
# im2col GEMM at least BLAS_MIN_DEPTH deep (K = input channels x taps) with at least
# BLAS_MIN_ROWS rows (M = output channels), the thresholds of Gemm (ops/gemm.py). Smaller GEMMs
# lose to the BLAS's per-call packing of both operands and to the extra pass over Y for bias
# and activation; depthwise convs and the 3x3 convs Winograd takes are decided before.
def blas_conv_wins(ctx: NodeContext, group: int) -> bool:
    """Whether --kernels cblas computes this Conv with the BLAS; always for weights known only
    at run time, which the portable kernels could not pre-pack."""
    w = ctx.input(1)
    if w.data is None:
        return True
    depth = int(np.prod(w.shape[1:]))
    return group == 1 and depth >= BLAS_MIN_DEPTH and w.shape[0] >= BLAS_MIN_ROWS


def _output_used(ctx: NodeContext, i: int) -> bool:
    out = ctx.output(i)
    graph = ctx.program.graph
    return out is not None and (out.name in graph.outputs or out.name in graph.consumers())


@lowering("BatchNormalization", inplace=True)
def batch_normalization(ctx: NodeContext, epsilon: float = 1e-5, momentum: float = 0.9,
                        training_mode: int = 0, spatial: int = 1) -> None:
    x, y = ctx.input(0), ctx.output(0)
    if training_mode:
        ctx.unsupported("training_mode=1 is not supported (inference only)")
    if not spatial:
        ctx.unsupported("spatial=0 (per-element statistics) is not supported")
    extra = [i for i in range(1, len(ctx.outputs)) if _output_used(ctx, i)]
    if extra:
        ctx.unsupported(f"output(s) {extra} (training statistics) are used; only output 0 "
                        "is supported")
    if x.dtype != np.float32 or x.rank < 2:
        ctx.unsupported(f"input must be float32 of rank >= 2 (got {x.dtype.name}, "
                        f"rank {x.rank})")
    channels = x.shape[1]
    params = [ctx.input(i) for i in range(1, 5)]
    if any(p.shape != (channels,) or p.dtype != np.float32 for p in params):
        ctx.unsupported(f"scale, B, mean and var must be float32 of shape ({channels},)")
    plane = int(np.prod(x.shape[2:], dtype=np.int64))
    ctx.runtime("norm")
    ctx.call("dlg_batchnorm_f32", x.shape[0], channels, plane, float(epsilon), *params, x, y)


def transpose_pads(in_size: int, stride: int, extent: int, output_padding: int, out: int,
                   auto_pad: str) -> int:
    """pad_begin of a ConvTranspose axis whose output size is known (from output_shape or
    SAME): the total padding stride*(in-1) + output_padding + extent - out is split as the
    ONNX spec says, the odd cell at the end for SAME_UPPER and at the beginning otherwise.
    A negative total (output_shape larger than the full result) leaves zeros at the end."""
    total = stride * (in_size - 1) + output_padding + extent - out
    return total // 2 if auto_pad == "SAME_UPPER" else total - total // 2


def _transpose_axes(ctx: NodeContext, x: Tensor, win: Window, output_padding,
                    output_shape) -> list[Axis]:
    spatial = x.rank - 2
    output_padding = list(output_padding or [0] * spatial)
    if len(output_padding) != spatial:
        ctx.unsupported(f"output_padding has {len(output_padding)} values, expected {spatial}")
    if output_shape is not None:
        output_shape = list(output_shape)[-spatial:]  # also accept the full N, C, ... form
        if len(output_shape) != spatial:
            ctx.unsupported(f"output_shape {output_shape} has fewer than {spatial} values")
    axes = []
    for i, size in enumerate(x.shape[2:]):
        k, s, d = win.kernel_shape[i], win.strides[i], win.dilations[i]
        extent = (k - 1) * d + 1
        full = s * (size - 1) + output_padding[i] + extent
        if output_shape is not None:
            out = int(output_shape[i])
            begin = transpose_pads(size, s, extent, output_padding[i], out, win.auto_pad)
        elif win.auto_pad.startswith("SAME"):
            out = size * s
            begin = transpose_pads(size, s, extent, output_padding[i], out, win.auto_pad)
        elif win.auto_pad == "VALID":
            begin, out = 0, full
        else:
            begin, out = win.pads[i], full - win.pads[i] - win.pads[i + spatial]
        if out < 1:
            ctx.unsupported(f"spatial axis {i}: the output size {out} is not positive")
        axes.append(Axis(size, out, k, s, d, begin, full - out - begin))
    return axes


@lowering("ConvTranspose")
def conv_transpose(ctx: NodeContext, auto_pad: str = "NOTSET", dilations=None, group: int = 1,
                   kernel_shape=None, output_padding=None, output_shape=None, pads=None,
                   strides=None) -> None:
    x, w, b, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    spatial = spatial_dims(ctx, x)
    channels, maps = x.shape[1], w.shape[1] * group
    if w.dtype != np.float32 or (b is not None and b.dtype != np.float32):
        ctx.unsupported("weights and bias must be float32")
    if w.rank != x.rank or group < 1 or w.shape[0] != channels or channels % group:
        ctx.unsupported(f"weights of shape {w.shape} and group={group} do not fit "
                        f"{channels} input channels")
    if b is not None and b.shape != (maps,):
        ctx.unsupported(f"bias shape {b.shape} is not ({maps},)")
    if kernel_shape is not None and tuple(kernel_shape) != tuple(w.shape[2:]):
        ctx.unsupported(f"kernel_shape {list(kernel_shape)} differs from the weights' spatial "
                        f"shape {list(w.shape[2:])}")
    win = make_window(ctx, spatial, w.shape[2:], strides, dilations, pads, auto_pad)
    axes = _transpose_axes(ctx, x, win, output_padding, output_shape)
    want = (x.shape[0], maps, *(a.out for a in axes))
    if tuple(y.shape) != want:
        ctx.unsupported(f"the output shape {tuple(y.shape)} (from shape inference) differs "
                        f"from {want}, which ONNX Runtime computes from the attributes")
    # The kernel reads the geometry with in/out as X's and Y's sizes (see conv.h).
    ctx.runtime("deconv", "geometry")
    ctx.call("dlg_conv_transpose_f32", x.shape[0], channels, maps, group,
             geometry_table(ctx, axes, "conv_transpose_geometry"), x, w, b, y)
