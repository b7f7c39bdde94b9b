"""FlexAttention (domain ai.onnx.preview, version 1) as three calls to runtime/flex_attention.c
with the optional ``score_mod`` / ``prob_mod`` subgraphs compiled inline between them
(control.py's body lowering):

    scores = (Q sqrt(scale)) (K sqrt(scale))^T   [B, Hq, L, S], float32 scratch
    scores = score_mod(scores)                   (a subgraph on the whole tensor)
    probs  = softmax(scores) over S
    probs  = prob_mod(probs)
    Y      = probs V                             (grouped-query: head h reads h / (Hq / Hkv))

The softmax is computed in float32, as the reference does for float32/float16/bfloat16 inputs
(half inputs are widened to float32 scratch, attention.py's _Widened). float64 inputs and a
softmax_precision other than float are refused.
"""
from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from ....ir.dtypes import is_half
from ..lower import NodeContext, Tensor
from ..registry import lowering
from .attention import _Widened
from .control import body_code, lower_body

TEMPLATE = "ops/flex_attention.c.j2"


def _modifier(ctx: NodeContext, attr: str, src: str, shape: tuple[int, ...]) -> str:
    """Run subgraph ``attr`` on the float32 tensor at ``src``; return where its result is."""
    body = lower_body(ctx, attr, [(np.dtype(np.float32), shape)])
    if len(body.graph.inputs) != 1 or len(body.graph.outputs) != 1:
        ctx.unsupported(f"{body.what} must have one input and one output")
    out = body.output(0)
    if out.dtype != np.float32 or tuple(out.shape) != tuple(shape):
        ctx.unsupported(f"{body.what} returns {out.dtype} {list(out.shape)}, expected float32 "
                        f"{list(shape)}")
    dst = ctx.scratch(int(np.prod(shape)))
    ctx.emit(TEMPLATE, "modifier", code=body_code(ctx, body, {0: src}, {0: dst}))
    return dst


def _check(ctx: NodeContext, q: Tensor, k: Tensor, v: Tensor) -> None:
    for t in (q, k, v):
        if t.rank != 4:
            ctx.unsupported(f"Q, K and V must be 4-D, got {list(t.shape)}")
        if t.dtype != q.dtype or not (t.dtype == np.float32 or is_half(t.dtype)):
            ctx.unsupported(f"element types {q.dtype.name}/{k.dtype.name}/{v.dtype.name} are "
                            "not supported (float32, float16 or bfloat16 needed; float64 "
                            "would need a double-precision kernel)")
    b, hq, _, e = q.shape
    if k.shape[0] != b or v.shape[0] != b or k.shape[3] != e or k.shape[1] != v.shape[1] \
            or k.shape[2] != v.shape[2]:
        ctx.unsupported(f"Q {list(q.shape)}, K {list(k.shape)} and V {list(v.shape)} do not "
                        "agree")
    if hq % k.shape[1]:
        ctx.unsupported(f"{hq} query heads are not a multiple of {k.shape[1]} kv heads")


@lowering("FlexAttention", domain="ai.onnx.preview")
def flex_attention(ctx: NodeContext, scale: float | None = None, score_mod=None, prob_mod=None,
                   softmax_precision: int | None = None) -> None:
    q_t, k_t, v_t, y_t = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    _check(ctx, q_t, k_t, v_t)
    if softmax_precision not in (None, TensorProto.FLOAT):
        ctx.unsupported(f"softmax_precision {softmax_precision} is not supported (the softmax "
                        "is computed in float32)")
    batch, q_heads, q_len, qk_size = q_t.shape
    kv_heads, kv_len, v_size = k_t.shape[1], k_t.shape[2], v_t.shape[3]
    if scale is None:
        scale = 1.0 / math.sqrt(qk_size)
    # sqrt(scale) in float32, as the reference scales Q and K.
    scale_sqrt = float(np.sqrt(np.float32(scale)))
    shape = (batch, q_heads, q_len, kv_len)
    io = _Widened(ctx)
    ctx.runtime("flex_attention", "attention", "half")  # widening lives in attention.c
    scores = ctx.scratch(int(np.prod(shape)))
    ctx.call("dlg_flex_scores_f32", batch, q_heads, kv_heads, q_len, kv_len, qk_size,
             scale_sqrt, io.load(q_t), io.load(k_t), scores)
    if score_mod is not None:
        scores = _modifier(ctx, "score_mod", scores, shape)
    ctx.call("dlg_flex_softmax_f32", batch * q_heads * q_len, kv_len, scores)
    if prob_mod is not None:
        scores = _modifier(ctx, "prob_mod", scores, shape)
    ctx.call("dlg_flex_combine_f32", batch, q_heads, kv_heads, q_len, kv_len, v_size, scores,
             io.load(v_t), io.store(y_t))
    io.finish()
