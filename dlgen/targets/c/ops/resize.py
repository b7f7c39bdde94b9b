"""Resampling: Resize (and the older Upsample), GridSample, AffineGrid. float32 data, except
nearest-mode Resize, which copies elements of any dtype.

Resize is separable: along every resized axis, each output index reads a few input indices
(taps) with weights that depend only on the static shapes and the constant scales/sizes/roi.
Python computes those per-axis tap tables here, following the ONNX reference (coordinate
transformation, nearest rounding, cubic coefficient, exclude_outside, antialias, edge clamping);
the runtime kernel only sums products of taps. Axes left unchanged carry no table.

GridSample reads its sampling positions from a run-time grid, so its kernel does the whole
computation (denormalize, pad, interpolate) per output point.
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext
from ..registry import lowering
from .tensor import MAX_RANK, normalize_axis

NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
COORD_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
               "asymmetric", "tf_crop_and_resize")


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


# -- per-axis tap tables --------------------------------------------------------------------

def source_coords(ctm: str, out_dim: int, in_dim: int, scale: float, roi) -> tuple:
    """(x_ori, extrapolated or None): the input coordinate of every output index."""
    y = np.arange(out_dim, dtype=np.float64)
    width = scale * in_dim  # the output width before rounding
    extrapolated = None
    if ctm == "align_corners":
        x = np.zeros(out_dim) if width == 1 else y * (in_dim - 1) / (width - 1)
    elif ctm == "asymmetric":
        x = y / scale
    elif ctm == "tf_crop_and_resize":
        start, end = roi
        if width == 1:
            x = np.full(out_dim, (end - start) * (in_dim - 1) / 2)
        else:
            x = y * (end - start) * (in_dim - 1) / (width - 1)
        x = x + start * (in_dim - 1)
        extrapolated = (x < 0) | (x > in_dim - 1)
    elif ctm == "pytorch_half_pixel":
        x = np.full(out_dim, -0.5) if width == 1 else (y + 0.5) / scale - 0.5
    elif ctm == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    else:  # half_pixel_symmetric
        offset = in_dim / 2 * (1 - out_dim / width)
        x = offset + (y + 0.5) / scale - 0.5
    return x, extrapolated


def _nearest_coeffs(ratio: float, nearest_mode: str) -> list[float]:
    if ratio == 1.0:
        return [0.0, 1.0]
    pick_ceil = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5,
                 "floor": False, "ceil": True}[nearest_mode]
    return [0.0, 1.0] if pick_ceil else [1.0, 0.0]


def _keys(x: float, a: float) -> float:
    """Keys' cubic convolution kernel with coefficient a."""
    x = abs(x)
    if x <= 1:
        return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    if x < 2:
        return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
    return 0.0


def _cubic_coeffs(ratio: float, a: float) -> list[float]:
    return [_keys(ratio + 1, a), _keys(ratio, a), _keys(1 - ratio, a), _keys(2 - ratio, a)]


def _antialias_coeffs(ratio: float, scale: float, mode: str, a: float) -> list[float]:
    """The interpolation kernel stretched by 1/scale when downsampling, normalized."""
    scale = min(scale, 1.0)
    if mode == "linear":
        start = int(np.floor(-1 / scale) + 1)
        args = (np.arange(start, 2 - start) - ratio) * scale
        c = np.clip(1 - np.abs(args), 0, 1)
    else:
        start = int(np.floor(-2 / scale) + 1)
        args = [scale * (i - ratio) for i in range(start, 2 - start)]
        c = np.array([_keys(x, a) for x in args])
    return list(c / c.sum())


def axis_taps(x: np.ndarray, in_dim: int, scale: float, mode: str, nearest_mode: str,
              cubic_a: float, exclude_outside: bool, antialias: bool):
    """(indices [out, n], weights [out, n]) for the source coordinates ``x`` along one axis.

    Neighbours are the n input indices nearest x (ties to the smaller), as in the ONNX
    reference; indices outside the input are clamped (edge padding)."""
    x_int = np.floor(x)
    ratios = np.where(x == x_int, 1.0, x - x_int)

    def coeffs(r: float) -> list[float]:
        if mode == "nearest":
            return _nearest_coeffs(r, nearest_mode)
        if antialias:
            return _antialias_coeffs(r, scale, mode, cubic_a)
        return [1 - r, r] if mode == "linear" else _cubic_coeffs(r, cubic_a)

    weights = np.array([coeffs(float(r)) for r in ratios], np.float64).reshape(len(x), -1)
    n = weights.shape[1]
    pad = -(-n // 2)
    xp = x + pad
    p = np.floor(xp).astype(np.int64)
    frac = xp - p
    if n % 2 == 0:
        first = np.where(frac == 0, -(n // 2), -(n // 2) + 1)
    else:
        first = np.where(frac <= 0.5, -((n - 1) // 2), -((n - 1) // 2) + 1)
    idx = (p + first)[:, None] + np.arange(n)[None, :] - pad
    if exclude_outside:
        weights = np.where((idx < 0) | (idx >= in_dim), 0.0, weights)
        total = weights.sum(axis=1, keepdims=True)
        weights = weights / np.where(total == 0, 1.0, total)
    idx = np.clip(idx, 0, in_dim - 1)
    if mode == "nearest":  # keep the chosen neighbour only
        pick = np.argmax(weights, axis=1)
        rows = np.arange(len(x))
        idx, weights = idx[rows, pick][:, None], np.ones((len(x), 1))
    return idx, weights


# -- Resize / Upsample ------------------------------------------------------------------------

def _resize_params(ctx: NodeContext, rank: int, axes, policy: str):
    """(scales per dim or None, roi per dim as (start, end)) from the constant inputs.

    With sizes, the scales follow from the static shapes, except that keep_aspect_ratio_policy
    not_larger/not_smaller uses one scale (the smallest/largest) for all the given axes."""
    if ctx.node.op_type == "Upsample" or ctx.program.graph.opset < 11:
        scales_in, roi_in, sizes_in = ctx.const_input(1, "scales"), None, None
    else:
        roi_in = ctx.const_input(1, "roi")
        scales_in = ctx.const_input(2, "scales")
        sizes_in = ctx.const_input(3, "sizes")
    axes = list(range(rank)) if axes is None else [normalize_axis(ctx, a, rank) for a in axes]
    scales = None
    if scales_in is not None and scales_in.size:
        scales = [1.0] * rank
        for a, s in zip(axes, scales_in.reshape(-1).tolist()):
            scales[a] = float(s)
    elif sizes_in is None or sizes_in.size == 0:
        ctx.unsupported("neither scales nor sizes is given")
    elif policy != "stretch":
        x = ctx.input(0)
        ratios = [int(n) / x.shape[a] for a, n in zip(axes, sizes_in.reshape(-1).tolist())]
        one = min(ratios) if policy == "not_larger" else max(ratios)
        scales = [one if d in axes else 1.0 for d in range(rank)]
    roi = [(0.0, 1.0)] * rank
    if roi_in is not None and roi_in.size:
        flat = roi_in.reshape(-1).astype(np.float64).tolist()
        if len(flat) != 2 * len(axes):
            ctx.unsupported(f"roi has {len(flat)} values for {len(axes)} axes")
        for k, a in enumerate(axes):
            roi[a] = (flat[k], flat[k + len(axes)])
    return scales, roi, axes


def _check_choice(ctx: NodeContext, what: str, value: str, choices) -> None:
    if value not in choices:
        ctx.unsupported(f"{what} {value!r} (supported: {', '.join(choices)})")


@lowering("Resize", "Upsample")
def resize(ctx: NodeContext, mode="nearest", coordinate_transformation_mode="half_pixel",
           nearest_mode="round_prefer_floor", cubic_coeff_a: float = -0.75,
           exclude_outside: int = 0, extrapolation_value: float = 0.0, antialias: int = 0,
           axes=None, keep_aspect_ratio_policy="stretch", scales=None) -> None:
    x, y = ctx.input(0), ctx.output(0)
    mode, ctm = _text(mode), _text(coordinate_transformation_mode)
    nearest_mode = _text(nearest_mode)
    if ctx.node.op_type == "Upsample" or ctx.program.graph.opset < 11:
        # Upsample and Resize-10 map coordinates asymmetrically and round nearest down.
        ctm, nearest_mode = "asymmetric", "floor"
        mode = "linear" if mode == "bilinear" else mode
    _check_choice(ctx, "mode", mode, ("nearest", "linear", "cubic"))
    _check_choice(ctx, "coordinate_transformation_mode", ctm, COORD_MODES)
    _check_choice(ctx, "nearest_mode", nearest_mode, NEAREST_MODES)
    if x.dtype != np.float32 and mode != "nearest":
        ctx.unsupported(f"{mode} mode on {x.dtype.name} data (float32 supported; nearest "
                        "works on every dtype)")
    if scales is not None:  # Upsample-7 attribute
        scale_list = [float(s) for s in scales]
        roi = [(0.0, 1.0)] * x.rank
    else:
        policy = _text(keep_aspect_ratio_policy)
        _check_choice(ctx, "keep_aspect_ratio_policy", policy,
                      ("stretch", "not_larger", "not_smaller"))
        scale_list, roi, _ = _resize_params(ctx, x.rank, axes, policy)
    if y.size == 0:
        return
    _emit_resize(ctx, scale_list, roi, mode, ctm, nearest_mode, float(cubic_coeff_a),
                 bool(exclude_outside), float(extrapolation_value), bool(antialias))


def _emit_resize(ctx: NodeContext, scales, roi, mode, ctm, nearest_mode, cubic_a,
                 exclude_outside, extrapolation, antialias) -> None:
    x, y = ctx.input(0), ctx.output(0)
    taps, indices, weights = [], [], []
    for d in range(x.rank):
        in_dim, out_dim = x.shape[d], y.shape[d]
        # With sizes (and keep_aspect_ratio_policy), the scale is what the output shape implies.
        scale = scales[d] if scales is not None else out_dim / in_dim
        if scale == 1.0 and out_dim == in_dim and roi[d] == (0.0, 1.0):
            taps.append(0)  # identity along this axis: no table
            continue
        if in_dim == 0:
            ctx.unsupported(f"axis {d} is empty but the output is not")
        coords, extrapolated = source_coords(ctm, out_dim, in_dim, scale, roi[d])
        idx, w = axis_taps(coords, in_dim, scale, mode, nearest_mode, cubic_a,
                           exclude_outside, antialias)
        if extrapolated is not None:
            idx[extrapolated, 0] = -1  # the kernel writes extrapolation_value there
        taps.append(idx.shape[1])
        indices.append(idx.reshape(-1))
        weights.append(w.reshape(-1))
    if len(x.shape) > MAX_RANK:
        ctx.unsupported(f"rank {x.rank} (at most {MAX_RANK})")
    if not indices:
        ctx.copy(y, x)
        return
    ctx.runtime("resize")
    if x.dtype != np.float32:  # nearest: one tap per dim, the element is copied
        ctx.call("dlg_resize_nearest", y, x, x.dtype.itemsize, x.rank,
                 ctx.const("resize_x_dims", np.array(x.shape, np.int64)),
                 ctx.const("resize_y_dims", np.array(y.shape, np.int64)),
                 ctx.const("resize_taps", np.array(taps, np.int64)),
                 ctx.const("resize_index", np.concatenate(indices).astype(np.int64)),
                 ctx.const("resize_extrapolation", np.array([extrapolation], x.dtype)))
        return
    ctx.call("dlg_resize_f32", y, x, x.rank,
             ctx.const("resize_x_dims", np.array(x.shape, np.int64)),
             ctx.const("resize_y_dims", np.array(y.shape, np.int64)),
             ctx.const("resize_taps", np.array(taps, np.int64)),
             ctx.const("resize_index", np.concatenate(indices).astype(np.int64)),
             ctx.const("resize_weight", np.concatenate(weights).astype(np.float32)),
             float(extrapolation))


# -- GridSample --------------------------------------------------------------------------------

GRID_MODES = {"nearest": "DLG_GRID_NEAREST", "linear": "DLG_GRID_LINEAR",
              "bilinear": "DLG_GRID_LINEAR", "cubic": "DLG_GRID_CUBIC",
              "bicubic": "DLG_GRID_CUBIC"}
GRID_PADDING = {"zeros": "DLG_GRID_ZEROS", "border": "DLG_GRID_BORDER",
                "reflection": "DLG_GRID_REFLECTION"}


@lowering("GridSample")
def grid_sample(ctx: NodeContext, mode="linear", padding_mode="zeros",
                align_corners: int = 0) -> None:
    x, grid, y = ctx.input(0), ctx.input(1), ctx.output(0)
    mode, padding_mode = _text(mode), _text(padding_mode)
    _check_choice(ctx, "mode", mode, tuple(GRID_MODES))
    _check_choice(ctx, "padding_mode", padding_mode, tuple(GRID_PADDING))
    if x.dtype != np.float32 or grid.dtype != np.float32:
        ctx.unsupported(f"X of type {x.dtype.name} and grid of type {grid.dtype.name} "
                        "(float32 supported)")
    spatial = x.rank - 2
    if spatial not in (1, 2, 3) or grid.shape[-1] != spatial:
        ctx.unsupported(f"a rank-{x.rank} input with a grid of shape {list(grid.shape)} "
                        "(1 to 3 spatial dims supported)")
    if y.size == 0:
        return
    n_points = int(np.prod(grid.shape[1:-1], dtype=np.int64))
    ctx.runtime("resize")
    ctx.call("dlg_grid_sample_f32", y, x, grid, x.shape[0], x.shape[1], spatial,
             ctx.const("grid_x_dims", np.array(x.shape[2:], np.int64)), n_points,
             GRID_MODES[mode], GRID_PADDING[padding_mode], int(bool(align_corners)))


# -- AffineGrid --------------------------------------------------------------------------------

def affine_base(dims, align_corners: bool) -> np.ndarray:
    """[points, spatial + 1]: every output point's normalized coordinates, innermost dim
    first (x = width, y = height, z = depth), then 1."""
    def coords(n: int) -> np.ndarray:
        if align_corners:
            # A single point sits at -1 as in the ONNX reference (PyTorch puts it at 0,
            # ONNX Runtime at 1).
            return np.linspace(-1.0, 1.0, n) if n > 1 else np.array([-1.0])
        return (2 * np.arange(n) + 1) / n - 1
    mesh = np.meshgrid(*[coords(int(n)) for n in dims], indexing="ij")
    columns = [m.reshape(-1) for m in reversed(mesh)] + [np.ones(mesh[0].size)]
    return np.stack(columns, axis=1)


@lowering("AffineGrid")
def affine_grid(ctx: NodeContext, align_corners: int = 0) -> None:
    theta, y = ctx.input(0), ctx.output(0)
    size = [int(v) for v in ctx.const_input(1, "size").reshape(-1)]
    spatial = len(size) - 2
    if theta.dtype != np.float32:
        ctx.unsupported(f"theta of type {theta.dtype.name} (float32 supported)")
    if spatial not in (2, 3) or theta.shape[1:] != (spatial, spatial + 1):
        ctx.unsupported(f"theta of shape {list(theta.shape)} with size {size}")
    if y.size == 0:
        return
    base = affine_base(size[2:], bool(align_corners))
    ctx.runtime("resize")
    ctx.call("dlg_affine_grid_f32", y, theta, ctx.const("affine_base", base.astype(np.float32)),
             theta.shape[0], base.shape[0], spatial)
