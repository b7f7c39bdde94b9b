"""Layout ops: data rearranged by rules fixed at compile time, for every dtype the C target
stores (except Col2Im, which sums, and is float32).

* Reused strided copies from tensor.py: Tile (a broadcast of X over doubled dims),
  DepthToSpace/SpaceToDepth (a 6-D transpose), CenterCropPad (tensor.c's dlg_pad with
  per-axis index maps), Compress with a constant condition (tensor.c's gather).
* Kernels in runtime/layout.c: Trilu, ReverseSequence, OneHot, Col2Im.
* EyeLike depends on the static shape only: a copy of a compile-time constant.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..lower import NodeContext
from ..registry import lowering
from .broadcast import contiguous_strides
from .dynamic import compress_runtime
from .tensor import MAX_RANK, normalize_axis, strided_copy


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


# -- strided copies --------------------------------------------------------------------------

@lowering("Tile")
def tile(ctx: NodeContext) -> None:
    """Y viewed as [r0, d0, r1, d1, ...] reads X with stride 0 along every repeat dim."""
    x, y = ctx.input(0), ctx.output(0)
    repeats = [int(r) for r in ctx.const_input(1, "repeats").reshape(-1)]
    if len(repeats) != x.rank or any(r < 0 for r in repeats):
        ctx.unsupported(f"repeats {repeats} for a rank-{x.rank} input")
    if y.size == 0:
        return
    dims, strides = [], []
    for r, d, s in zip(repeats, x.shape, contiguous_strides(x.shape)):
        dims += [r, d]
        strides += [0, s]
    strided_copy(ctx, replace(y, shape=tuple(dims)), x, strides)


def _block_params(ctx: NodeContext, blocksize, mode) -> tuple[int, str]:
    x = ctx.input(0)
    if x.rank != 4:
        ctx.unsupported(f"a rank-{x.rank} input (NCHW needed)")
    mode = _text(mode)
    if mode not in ("DCR", "CRD"):
        ctx.unsupported(f"mode {mode!r} (DCR or CRD)")
    if blocksize is None or int(blocksize) < 1:
        ctx.unsupported("blocksize is missing or < 1")
    return int(blocksize), mode


@lowering("DepthToSpace")
def depth_to_space(ctx: NodeContext, blocksize=None, mode="DCR") -> None:
    """Y[n, c, h*b+i, w*b+j] = X[n, (i*b+j)*C'+c, h, w] (DCR) or X[n, (c*b+i)*b+j, h, w] (CRD)."""
    x, y = ctx.input(0), ctx.output(0)
    b, mode = _block_params(ctx, blocksize, mode)
    n, c, h, w = x.shape
    if mode == "DCR":  # X as [n, i, j, c', h, w]
        s = contiguous_strides((n, b, b, c // (b * b), h, w))
        strides = [s[0], s[3], s[4], s[1], s[5], s[2]]
    else:  # X as [n, c', i, j, h, w]
        s = contiguous_strides((n, c // (b * b), b, b, h, w))
        strides = [s[0], s[1], s[4], s[2], s[5], s[3]]
    # Y as [n, c', h, i, w, j]
    strided_copy(ctx, replace(y, shape=(n, c // (b * b), h, b, w, b)), x, strides)


@lowering("SpaceToDepth")
def space_to_depth(ctx: NodeContext, blocksize=None, mode="DCR") -> None:
    """The inverse of DepthToSpace in the same mode."""
    x, y = ctx.input(0), ctx.output(0)
    b, mode = _block_params(ctx, blocksize, mode)
    n, c, h, w = x.shape
    s = contiguous_strides((n, c, h // b, b, w // b, b))  # X as [n, c, h', i, w', j]
    if mode == "DCR":  # Y as [n, i, j, c, h', w']
        dims, strides = (n, b, b, c, h // b, w // b), [s[0], s[3], s[5], s[1], s[2], s[4]]
    else:  # Y as [n, c, i, j, h', w']
        dims, strides = (n, c, b, b, h // b, w // b), [s[0], s[1], s[3], s[5], s[2], s[4]]
    strided_copy(ctx, replace(y, shape=dims), x, strides)


@lowering("CenterCropPad")
def center_crop_pad(ctx: NodeContext, axes=None) -> None:
    """Per axis, the centred window: crops start at (in - out) // 2, pads put X at
    (out - in) // 2 and zeros around it. One dlg_pad call with an index map per dim."""
    x, y = ctx.input(0), ctx.output(0)
    ctx.const_input(1, "shape")  # the static output shape already holds it
    if x.rank > MAX_RANK:
        ctx.unsupported(f"rank {x.rank} (at most {MAX_RANK})")
    if y.size == 0:
        return
    maps = []
    for out_dim, in_dim in zip(y.shape, x.shape):
        i = np.arange(out_dim, dtype=np.int64)
        if out_dim <= in_dim:
            maps.append(i + (in_dim - out_dim) // 2)
        else:
            j = i - (out_dim - in_dim) // 2
            maps.append(np.where((j >= 0) & (j < in_dim), j, -1))
    ctx.runtime("tensor")
    ctx.call("dlg_pad", y, x, ctx.const("crop_pad_zero", np.zeros(1, x.dtype)),
             x.dtype.itemsize, 1, x.rank,
             ctx.const("crop_pad_dims", np.array(y.shape, np.int64)),
             ctx.const("crop_pad_strides", np.array(contiguous_strides(x.shape), np.int64)),
             ctx.const("crop_pad_maps", np.concatenate(maps).astype(np.int64)))


@lowering("Compress")
def compress(ctx: NodeContext, axis=None) -> None:
    """A compile-time condition gathers fixed slices; a run-time one gives an output of
    data-dependent size (dynamic.py)."""
    x, y = ctx.input(0), ctx.output(0)
    if ctx.input(1).data is None:
        return compress_runtime(ctx, axis)
    cond = np.asarray(ctx.const_input(1, "condition")).reshape(-1).astype(bool)
    if axis is None:
        outer, dim, inner = 1, x.size, 1
    else:
        a = normalize_axis(ctx, axis, x.rank)
        outer, dim, inner = _prod(x.shape[:a]), x.shape[a], _prod(x.shape[a + 1:])
    keep = np.nonzero(cond[:dim])[0].astype(np.int64)
    if keep.size * outer * inner != y.size:
        ctx.unsupported(f"the condition keeps {keep.size} slices but the output has shape "
                        f"{list(y.shape)}")
    if y.size == 0:
        return
    ctx.runtime("tensor")
    ctx.call("dlg_gather_i64", y, x, ctx.const("compress_index", keep), keep.size, outer, dim,
             inner * x.dtype.itemsize)


# -- constants ---------------------------------------------------------------------------------

@lowering("EyeLike")
def eye_like(ctx: NodeContext, dtype=None, k: int = 0) -> None:
    """Ones on the k-th diagonal of the 2-D output: fixed by the static shape."""
    y = ctx.output(0)
    if y.rank != 2:
        ctx.unsupported(f"a rank-{y.rank} input (2-D needed)")
    if y.size:
        ctx.copy(y, ctx.const("eye", np.eye(y.shape[0], y.shape[1], int(k), dtype=y.dtype)))


# -- kernels in layout.c -----------------------------------------------------------------------

@lowering("Trilu")
def trilu(ctx: NodeContext, upper: int = 1) -> None:
    x, y = ctx.input(0), ctx.output(0)
    k_in = ctx.const_input(1, "k")
    k = 0 if k_in is None else int(np.asarray(k_in).reshape(-1)[0])
    if x.rank < 2:
        ctx.unsupported(f"a rank-{x.rank} input (at least 2-D needed)")
    if y.size == 0:
        return
    rows, cols = x.shape[-2], x.shape[-1]
    ctx.runtime("layout")
    ctx.call("dlg_trilu", y, x, x.dtype.itemsize, _prod(x.shape[:-2]), rows, cols, k,
             int(bool(upper)))


@lowering("ReverseSequence")
def reverse_sequence(ctx: NodeContext, batch_axis: int = 1, time_axis: int = 0) -> None:
    x, lens, y = ctx.input(0), ctx.input(1), ctx.output(0)
    if {batch_axis, time_axis} != {0, 1}:
        ctx.unsupported(f"batch_axis {batch_axis}, time_axis {time_axis} (0 and 1 needed)")
    if lens.dtype != np.int64:
        ctx.unsupported(f"sequence_lens of type {lens.dtype.name} (int64 needed)")
    if y.size == 0:
        return
    inner = _prod(x.shape[2:]) * x.dtype.itemsize
    strides = [s * x.dtype.itemsize for s in contiguous_strides(x.shape)]
    ctx.runtime("layout")
    ctx.call("dlg_reverse_sequence", y, x, lens, x.shape[batch_axis], x.shape[time_axis],
             strides[batch_axis], strides[time_axis], inner)


ONEHOT_KERNELS = {"int64": "dlg_onehot_i64", "int32": "dlg_onehot_i32",
                  "float32": "dlg_onehot_f32"}


@lowering("OneHot")
def one_hot(ctx: NodeContext, axis: int = -1) -> None:
    indices, values, y = ctx.input(0), ctx.input(2), ctx.output(0)
    ctx.const_input(1, "depth")  # the static output shape holds it
    if indices.dtype.name not in ONEHOT_KERNELS:
        ctx.unsupported(f"indices of type {indices.dtype.name} "
                        f"({', '.join(ONEHOT_KERNELS)} supported)")
    a = normalize_axis(ctx, axis, y.rank)
    if y.size == 0:
        return
    ctx.runtime("layout")
    ctx.call(ONEHOT_KERNELS[indices.dtype.name], y, indices, values, y.dtype.itemsize,
             _prod(y.shape[:a]), y.shape[a], _prod(y.shape[a + 1:]))


@lowering("Col2Im")
def col2im(ctx: NodeContext, dilations=None, pads=None, strides=None) -> None:
    x, y = ctx.input(0), ctx.output(0)
    image = [int(v) for v in ctx.const_input(1, "image_shape").reshape(-1)]
    block = [int(v) for v in ctx.const_input(2, "block_shape").reshape(-1)]
    r = len(image)
    dilations = list(dilations or [1] * r)
    pads = list(pads or [0] * (2 * r))
    strides = list(strides or [1] * r)
    if x.dtype != np.float32:
        ctx.unsupported(f"data of type {x.dtype.name} (float32 supported)")
    if r > MAX_RANK or not (len(block) == len(dilations) == len(strides) == r
                             and len(pads) == 2 * r):
        ctx.unsupported("image_shape, block_shape, dilations, pads and strides disagree "
                        "on the number of spatial dims")
    grid = [(image[i] + pads[i] + pads[i + r] - dilations[i] * (block[i] - 1) - 1)
            // strides[i] + 1 for i in range(r)]
    if _prod(grid) != x.shape[2] or x.shape[1] % _prod(block):
        ctx.unsupported(f"input of shape {list(x.shape)} does not match the blocks")
    if y.size == 0:
        return
    table = np.array([image, block, grid, strides, pads[:r], dilations], np.int64)
    ctx.runtime("layout")
    ctx.call("dlg_col2im_f32", y, x, x.shape[0] * (x.shape[1] // _prod(block)), r,
             ctx.const("col2im_params", table))
