"""Normalizations as calls to runtime/norm.c: LayerNormalization, RMSNormalization,
GroupNormalization, InstanceNormalization, LRN, LpNormalization, MeanVarianceNormalization.

All are float32. Scale and bias must already have the shape the kernel indexes (the normalized
shape for Layer/RMS, [C] for Group/Instance); other broadcasts are refused.
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext, Tensor
from ..registry import lowering
from .reduce import _reduced_axes, reduce_layout
from .tensor import normalize_axis

MAX_RANK = 8  # DLG_NORM_MAX_RANK in runtime_c/include/dlgen/norm.h


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


def _float32(ctx: NodeContext, *tensors: Tensor | None) -> None:
    for t in tensors:
        if t is not None and t.dtype != np.float32:
            ctx.unsupported(f"element type {t.dtype.name} is not supported (float32 needed)")


def _check_size(ctx: NodeContext, t: Tensor | None, size: int, what: str) -> None:
    if t is not None and t.size != size:
        ctx.unsupported(f"{what} of shape {t.shape} does not have the {size} elements this "
                        "kernel indexes (broadcast scale/bias are not supported)")


@lowering("LayerNormalization", "RMSNormalization")
def layer_norm(ctx: NodeContext, axis: int = -1, epsilon: float = 1e-5,
               stash_type: int = 1) -> None:
    """Each row of X viewed as [prod(shape[:axis]), prod(shape[axis:])] is normalised; the
    statistics are computed in double whatever ``stash_type`` says."""
    rms = ctx.node.op_type == "RMSNormalization"
    x, scale, bias = ctx.input(0), ctx.input(1), None if rms else ctx.input(2)
    y, mean, inv_std = ctx.output(0), ctx.output(1), ctx.output(2)
    _float32(ctx, x, scale, bias, mean, inv_std)
    if rms and (mean is not None or inv_std is not None):
        ctx.unsupported("RMSNormalization has one output")
    a = normalize_axis(ctx, axis, x.rank)
    outer, n = _prod(x.shape[:a]), _prod(x.shape[a:])
    _check_size(ctx, scale, n, "scale")
    _check_size(ctx, bias, n, "bias")
    if x.size == 0:
        return
    ctx.runtime("norm")
    ctx.call("dlg_layer_norm_f32", y, mean, inv_std, x, scale, bias, outer, n, float(epsilon),
             int(rms))


def _group_norm_call(ctx: NodeContext, groups: int, epsilon: float) -> None:
    x, scale, bias, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    _float32(ctx, x, scale, bias)
    if x.rank < 2:
        ctx.unsupported(f"input must be [N, C, ...], got shape {x.shape}")
    batch, channels = x.shape[:2]
    if groups <= 0 or channels % groups:
        ctx.unsupported(f"{channels} channels do not split into {groups} groups")
    _check_size(ctx, scale, channels, "scale")
    _check_size(ctx, bias, channels, "bias")
    if x.size == 0:
        return
    ctx.runtime("norm")
    ctx.call("dlg_group_norm_f32", y, x, scale, bias, batch, groups, channels // groups,
             _prod(x.shape[2:]), float(epsilon))


@lowering("GroupNormalization")
def group_norm(ctx: NodeContext, num_groups: int, epsilon: float = 1e-5,
               stash_type: int = 1) -> None:
    """Opset 21: scale and bias per channel [C]. Opset 18 took them per group; that version is
    deprecated (the ONNX checker rejects it) and refused here."""
    if ctx.program.graph.opset < 21:
        ctx.unsupported("GroupNormalization before opset 21 (scale and bias per group) is "
                        "deprecated; re-export with opset 21 (per-channel scale and bias)")
    _group_norm_call(ctx, int(num_groups), epsilon)


@lowering("InstanceNormalization")
def instance_norm(ctx: NodeContext, epsilon: float = 1e-5) -> None:
    x = ctx.input(0)
    _group_norm_call(ctx, x.shape[1] if x.rank >= 2 else 0, epsilon)


@lowering("LRN")
def lrn(ctx: NodeContext, size: int, alpha: float = 1e-4, beta: float = 0.75,
        bias: float = 1.0) -> None:
    x, y = ctx.input(0), ctx.output(0)
    _float32(ctx, x)
    if x.rank < 2 or size < 1:
        ctx.unsupported(f"needs an [N, C, ...] input and size >= 1 (shape {x.shape}, "
                        f"size {size})")
    if x.size == 0:
        return
    ctx.runtime("norm")
    ctx.call("dlg_lrn_f32", y, x, x.shape[0], x.shape[1], _prod(x.shape[2:]), int(size),
             float(alpha), float(beta), float(bias))


@lowering("LpNormalization")
def lp_norm(ctx: NodeContext, axis: int = -1, p: int = 2) -> None:
    x, y = ctx.input(0), ctx.output(0)
    _float32(ctx, x)
    if p not in (1, 2):
        ctx.unsupported(f"p = {p} (only 1 and 2 are defined)")
    a = normalize_axis(ctx, axis, x.rank)
    if x.size == 0:
        return
    ctx.runtime("norm")
    ctx.call("dlg_lp_norm_f32", y, x, _prod(x.shape[:a]), x.shape[a], _prod(x.shape[a + 1:]),
             int(p))


@lowering("MeanVarianceNormalization")
def mean_variance_norm(ctx: NodeContext, axes=(0, 2, 3)) -> None:
    x, y = ctx.input(0), ctx.output(0)
    _float32(ctx, x)
    if x.size == 0:
        return
    reduced = _reduced_axes(ctx, list(axes), 0, x.rank)
    dims, strides = reduce_layout(x.shape, reduced)
    if len(dims) > MAX_RANK:
        ctx.unsupported(f"{len(dims)} alternating kept/reduced dim groups; "
                        f"at most {MAX_RANK} are supported")
    stats = _prod([d for d, r in zip(x.shape, reduced) if not r])
    count = x.size // stats
    ctx.runtime("norm")
    ctx.call("dlg_mvn_f32", y, x, len(dims), ctx.const("mvn_dims", np.array(dims, np.int64)),
             ctx.const("mvn_strides", np.array(strides, np.int64)), stats, count,
             ctx.scratch(2 * stats, np.float64))
