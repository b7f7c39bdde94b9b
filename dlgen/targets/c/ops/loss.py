"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss as calls to runtime/loss.c.

Both view the scores as [N, C, inner] (inner = d1 * ... * dk) and the target as [N, inner].
SoftmaxCrossEntropyLoss is LogSoftmax along C (reduce.c's kernel, written to the optional
log_prob output or to scratch) followed by the negative log likelihood.
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext
from ..registry import lowering

REDUCTIONS = {"none": "DLG_LOSS_NONE", "sum": "DLG_LOSS_SUM", "mean": "DLG_LOSS_MEAN"}


def _geometry(ctx: NodeContext) -> tuple[int, int, int]:
    """(N, C, inner) of the scores, after checking dtypes and the target's shape."""
    x, target, weight = ctx.input(0), ctx.input(1), ctx.input(2)
    if x.dtype != np.float32:
        ctx.unsupported(f"element type {x.dtype.name} is not supported (float32 needed)")
    if target.dtype != np.int64:
        ctx.unsupported(f"target element type {target.dtype.name} is not supported "
                        "(int64 needed)")
    if weight is not None and weight.dtype != np.float32:
        ctx.unsupported(f"weight element type {weight.dtype.name} is not supported "
                        "(float32 needed)")
    if x.rank < 2:
        ctx.unsupported(f"scores must have rank >= 2 ([N, C, ...]), got shape {x.shape}")
    n, c = x.shape[:2]
    if tuple(target.shape) != (n,) + tuple(x.shape[2:]):
        ctx.unsupported(f"target shape {target.shape} does not match scores {x.shape}")
    return n, c, int(np.prod(x.shape[2:], dtype=np.int64))


def _reduction(ctx: NodeContext, reduction: str) -> str:
    if reduction not in REDUCTIONS:
        ctx.unsupported(f"reduction {reduction!r} is not one of none, sum, mean")
    return REDUCTIONS[reduction]


def _nll_call(ctx: NodeContext, log_prob, geometry, reduction: str, ignore_index) -> None:
    n, c, inner = geometry
    use_ignore = ignore_index is not None
    ctx.runtime("loss")
    ctx.call("dlg_nll_loss_f32", ctx.output(0), log_prob, ctx.input(1), ctx.input(2),
             n, c, inner, int(ignore_index) if use_ignore else 0, int(use_ignore),
             _reduction(ctx, reduction))


@lowering("NegativeLogLikelihoodLoss")
def nll_loss(ctx: NodeContext, reduction: str = "mean", ignore_index: int | None = None) -> None:
    geometry = _geometry(ctx)
    _nll_call(ctx, ctx.input(0), geometry, reduction, ignore_index)


@lowering("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy_loss(ctx: NodeContext, reduction: str = "mean",
                               ignore_index: int | None = None) -> None:
    n, c, inner = geometry = _geometry(ctx)
    _reduction(ctx, reduction)
    log_prob = ctx.output(1)
    if log_prob is None:
        log_prob = ctx.scratch(n * c * inner, np.float32)
    work = ctx.scratch(2 * inner, np.float32) if inner > 1 else None
    ctx.runtime("reduce")
    ctx.call("dlg_softmax_f32", log_prob, ctx.input(0), n, c, inner, 1, work)
    _nll_call(ctx, log_prob, geometry, reduction, ignore_index)
