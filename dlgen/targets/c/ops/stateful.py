"""Sequence-mixing ops that carry a recurrent state (ONNX opset 27): CausalConvWithState and
LinearAttention, as calls to runtime/stateful.c.

The kernels compute in float32; float16/bfloat16 tensors are widened into float32 scratch and
rounded back (attention.py's _Widened), which is also what the ONNX reference does (it
accumulates LinearAttention's state in float32).
"""
from __future__ import annotations

import math

import numpy as np

from ....ir.dtypes import is_half
from ..lower import NodeContext, Tensor
from ..registry import lowering
from .attention import _Widened

_CONV_ACTIVATIONS = {"none": 0, "silu": 1, "swish": 1}
_UPDATE_RULES = ("linear", "gated", "delta", "gated_delta")


def _require_float(ctx: NodeContext, *tensors: Tensor | None) -> None:
    for t in tensors:
        if t is not None and not (t.dtype == np.float32 or is_half(t.dtype)):
            ctx.unsupported(f"element type {t.dtype.name} is not supported (float32, float16 or "
                            "bfloat16 needed)")


def _expect(ctx: NodeContext, what: str, t: Tensor | None, shape: tuple[int, ...]) -> None:
    if t is not None and tuple(t.shape) != tuple(shape):
        ctx.unsupported(f"{what} shape {list(t.shape)} does not match {list(shape)}")


@lowering("CausalConvWithState")
def causal_conv_with_state(ctx: NodeContext, activation: str = "none") -> None:
    x, w, bias, past = (ctx.input(i) for i in range(4))
    y, present = ctx.output(0), ctx.output(1)
    _require_float(ctx, x, w, bias, past)
    if activation not in _CONV_ACTIVATIONS:
        ctx.unsupported(f"activation {activation!r} is not one of none, silu, swish")
    if x.rank != 3 or w.rank != 3:
        ctx.unsupported(f"input {list(x.shape)} and weight {list(w.shape)} must be rank 3")
    batch, channels, length = x.shape
    kernel = w.shape[2]
    if kernel < 1:
        ctx.unsupported("the kernel must have at least one tap")
    _expect(ctx, "weight", w, (channels, 1, kernel))
    _expect(ctx, "bias", bias, (channels,))
    _expect(ctx, "past_state", past, (batch, channels, kernel - 1))
    io = _Widened(ctx)
    ctx.runtime("stateful", "attention", "half")  # widening lives in attention.c
    ctx.call("dlg_causal_conv_f32", batch, channels, length, kernel, io.load(x), io.load(w),
             io.load(bias), io.load(past), _CONV_ACTIVATIONS[activation], io.store(y),
             io.store(present) if present is not None and present.size else None)
    io.finish()


def _heads(ctx: NodeContext, what: str, t: Tensor, heads: int) -> int:
    """The head size of a [batch, seq, heads * size] tensor."""
    if t.rank != 3:
        ctx.unsupported(f"{what} must be rank 3 [batch, seq, heads * size], got "
                        f"{list(t.shape)}")
    if t.shape[2] % heads:
        ctx.unsupported(f"{what} hidden size {t.shape[2]} is not a multiple of {heads} heads")
    return t.shape[2] // heads


@lowering("LinearAttention")
def linear_attention(ctx: NodeContext, chunk_size: int = 64, kv_num_heads: int = 0,
                     q_num_heads: int = 0, scale: float = 0.0,
                     update_rule: str = "gated_delta") -> None:
    q, k, v, past, decay, beta = (ctx.input(i) for i in range(6))
    y, present = ctx.output(0), ctx.output(1)
    _require_float(ctx, q, k, v, past, decay, beta)
    if update_rule not in _UPDATE_RULES:
        ctx.unsupported(f"update_rule {update_rule!r} is not one of {', '.join(_UPDATE_RULES)}")
    if kv_num_heads < 1 or q_num_heads < 1 or q_num_heads % kv_num_heads:
        ctx.unsupported(f"q_num_heads {q_num_heads} must be a positive multiple of "
                        f"kv_num_heads {kv_num_heads}")
    gated, delta = update_rule in ("gated", "gated_delta"), update_rule in ("delta",
                                                                            "gated_delta")
    if gated != (decay is not None) or delta != (beta is not None):
        ctx.unsupported(f"update_rule {update_rule!r} needs "
                        f"{'a' if gated else 'no'} decay and {'a' if delta else 'no'} beta input")
    qk_size = _heads(ctx, "query", q, q_num_heads)
    if _heads(ctx, "key", k, kv_num_heads) != qk_size:
        ctx.unsupported("query and key head sizes differ")
    v_size = _heads(ctx, "value", v, kv_num_heads)
    batch, seq = q.shape[:2]
    for what, t in (("key", k), ("value", v)):
        if t.shape[:2] != (batch, seq):
            ctx.unsupported(f"{what} batch/seq {list(t.shape[:2])} differ from the query's")
    _expect(ctx, "past_state", past, (batch, kv_num_heads, qk_size, v_size))
    decay_width = beta_width = 0
    if decay is not None:
        decay_width = decay.shape[-1]
        if decay.rank != 3 or decay.shape[:2] != (batch, seq) or \
                decay_width not in (kv_num_heads, kv_num_heads * qk_size):
            ctx.unsupported(f"decay shape {list(decay.shape)} is not [batch, seq, kv_num_heads"
                            " or kv_num_heads * head_size]")
    if beta is not None:
        beta_width = beta.shape[-1]
        if beta.rank != 3 or beta.shape[:2] != (batch, seq) or beta_width not in (kv_num_heads,
                                                                                   1):
            ctx.unsupported(f"beta shape {list(beta.shape)} is not [batch, seq, kv_num_heads "
                            "or 1]")
    if not scale:
        scale = 1.0 / math.sqrt(qk_size)
    io = _Widened(ctx)
    state = (io.store(present) if present is not None
             else ctx.scratch(batch * kv_num_heads * qk_size * v_size))
    ctx.runtime("stateful", "attention", "half")  # widening lives in attention.c
    ctx.call("dlg_linear_attention_f32", batch, seq, q_num_heads, kv_num_heads, qk_size, v_size,
             io.load(q), io.load(k), io.load(v), io.load(past), io.load(decay), decay_width,
             io.load(beta), beta_width, float(np.float32(scale)), io.store(y), state,
             ctx.scratch(v_size))
    io.finish()
