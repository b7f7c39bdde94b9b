"""Transformer ops: Attention (opset 23/24, and the window attributes of 25) and RotaryEmbedding,
as calls to runtime/attention.c.

Both ops accept the 4-D layout [batch, heads, seq, head_size] and the 3-D layout
[batch, seq, heads * head_size]; the lowering describes either with element strides
(batch, head, position), so the kernels never transpose.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from ..lower import NodeContext, Tensor, c_literal
from ..registry import lowering
from .broadcast import broadcast_strides

# softmax_precision values computed (in float32) for float32 inputs.
_SOFTMAX_PRECISIONS = {TensorProto.FLOAT, TensorProto.DOUBLE}


@dataclass
class Heads:
    """One of Q, K, V, Y seen as [batch, heads, seq, size] with (batch, head, seq) strides."""

    batch: int
    heads: int
    seq: int
    size: int
    strides: tuple[int, int, int]


def heads_view(ctx: NodeContext, t: Tensor, num_heads: int | None, what: str) -> Heads:
    if t.rank == 4:
        b, h, s, d = t.shape
        return Heads(b, h, s, d, (h * s * d, s * d, d))
    if t.rank != 3:
        ctx.unsupported(f"{what} must be 3-D or 4-D, got shape {list(t.shape)}")
    if not num_heads:
        ctx.unsupported(f"3-D {what} needs the q_num_heads/kv_num_heads attributes")
    b, s, hidden = t.shape
    if hidden % num_heads:
        ctx.unsupported(f"{what} hidden size {hidden} is not a multiple of {num_heads} heads")
    d = hidden // num_heads
    return Heads(b, num_heads, s, d, (s * hidden, d, hidden))


def _require_f32(ctx: NodeContext, *tensors: Tensor | None) -> None:
    for t in tensors:
        if t is not None and t.dtype != np.float32:
            ctx.unsupported(f"element type {t.dtype.name} is not supported (float32 needed)")


def _c_fields(fields: dict) -> list[tuple[str, str]]:
    out = []
    for name, value in fields.items():
        if isinstance(value, (list, tuple)):
            text = "{" + ", ".join(f"{int(v)}u" for v in value) + "}"
        elif isinstance(value, float):
            text = c_literal(value)
        elif name in ("left_window", "right_window", "past_len"):
            text = f"INT64_C({int(value)})"
        elif name in ("is_causal", "qk_mode"):
            text = str(int(value))
        else:
            text = f"{int(value)}u"
        out.append((name, text))
    return out


def _kv_cache(ctx: NodeContext, x: Tensor, new: Heads, past: Tensor | None,
              present: Tensor | None, what: str) -> tuple[Tensor | str, Heads]:
    """K or V with its cache: concat(past, new) into the present output (or scratch)."""
    if past is None and present is None:
        return x, new
    past_len = 0
    if past is not None:
        if past.rank != 4 or past.shape[:2] != (new.batch, new.heads) or past.shape[3] != new.size:
            ctx.unsupported(f"past_{what} shape {list(past.shape)} does not match {what} "
                            f"[{new.batch}, {new.heads}, *, {new.size}]")
        past_len = past.shape[2]
    total = past_len + new.seq
    dst = present if present is not None else ctx.scratch(new.batch * new.heads * total * new.size)
    ctx.call("dlg_attention_concat_f32", new.batch, new.heads, past_len, new.seq, new.size,
             past, x, *new.strides, dst)
    cache = Heads(new.batch, new.heads, total, new.size,
                  (new.heads * total * new.size, total * new.size, new.size))
    return dst, cache


def _mask_args(ctx: NodeContext, mask: Tensor | None, target: tuple[int, ...]):
    """(float mask, bool mask, strides, covered keys) for the attn_mask input."""
    if mask is None:
        return None, None, [0, 0, 0, 0], target[3]
    if mask.rank > 4 or mask.rank == 0:
        ctx.unsupported(f"attn_mask of rank {mask.rank} is not supported (1 to 4 needed)")
    length = mask.shape[-1]
    if length > target[3]:
        ctx.unsupported(f"attn_mask covers {length} keys but there are only {target[3]}")
    full = target[:3] + (length,)
    try:
        np.broadcast_shapes(mask.shape, full)
    except ValueError:
        ctx.unsupported(f"attn_mask shape {list(mask.shape)} does not broadcast to {list(full)}")
    strides = broadcast_strides(mask.shape, full)
    if mask.dtype == np.bool_:
        return None, mask, strides, length
    if mask.dtype == np.float32:
        return mask, None, strides, length
    ctx.unsupported(f"attn_mask of type {mask.dtype.name} is not supported (bool or float32)")


@lowering("Attention")
def attention(ctx: NodeContext, is_causal: int = 0, kv_num_heads: int | None = None,
              q_num_heads: int | None = None, qk_matmul_output_mode: int = 0,
              scale: float | None = None, softcap: float = 0.0,
              softmax_precision: int | None = None, left_window_size: int = -1,
              right_window_size: int = -1) -> None:
    q_t, k_t, v_t = ctx.input(0), ctx.input(1), ctx.input(2)
    _require_f32(ctx, q_t, k_t, v_t, ctx.input(4), ctx.input(5))
    if q_t.rank != k_t.rank or q_t.rank != v_t.rank:
        ctx.unsupported("Q, K and V must have the same rank")
    if softmax_precision is not None and softmax_precision not in _SOFTMAX_PRECISIONS:
        ctx.unsupported(f"softmax_precision {softmax_precision} is not supported for float32 "
                        "inputs (float or double, computed in float32)")
    if qk_matmul_output_mode not in (0, 1, 2, 3):
        ctx.unsupported(f"qk_matmul_output_mode {qk_matmul_output_mode} is not 0 to 3")
    if (ctx.input(4) is None) != (ctx.input(5) is None):
        ctx.unsupported("past_key and past_value must be given together")
    q = heads_view(ctx, q_t, q_num_heads, "Q")
    k_new = heads_view(ctx, k_t, kv_num_heads, "K")
    v_new = heads_view(ctx, v_t, kv_num_heads, "V")
    if k_new.heads != v_new.heads or k_new.seq != v_new.seq or q.size != k_new.size:
        ctx.unsupported("K and V (and the head sizes of Q and K) do not agree")
    if q.heads % k_new.heads:
        ctx.unsupported(f"{q.heads} query heads are not a multiple of {k_new.heads} kv heads")
    k, keys = _kv_cache(ctx, k_t, k_new, ctx.input(4), ctx.output(1), "key")
    v, values = _kv_cache(ctx, v_t, v_new, ctx.input(5), ctx.output(2), "value")
    y_t = ctx.output(0)
    y = heads_view(ctx, y_t, q.heads if y_t.rank == 3 else None, "Y")
    past = ctx.input(4)
    target = (q.batch, q.heads, q.seq, keys.seq)
    fmask, bmask, mask_strides, mask_len = _mask_args(ctx, ctx.input(3), target)
    nonpad = ctx.input(6)
    if nonpad is not None and nonpad.dtype != np.int64:
        ctx.unsupported("nonpad_kv_seqlen must be int64")
    if scale is None:
        scale = 1.0 / math.sqrt(q.size)
    fields = {
        "batch": q.batch, "q_heads": q.heads, "kv_heads": keys.heads, "q_len": q.seq,
        "kv_len": keys.seq, "qk_size": q.size, "v_size": values.size,
        "q_stride": q.strides, "k_stride": keys.strides, "v_stride": values.strides,
        "y_stride": y.strides, "mask_stride": mask_strides, "mask_len": mask_len,
        # Q and K are each scaled by sqrt(scale), rounded to float32, as the spec describes.
        "scale_sqrt": float(np.float32(math.sqrt(scale))),
        "softcap": float(softcap) if softcap > 0 else 0.0,
        "is_causal": bool(is_causal), "left_window": left_window_size,
        "right_window": right_window_size, "past_len": past.shape[2] if past is not None else 0,
        "qk_mode": qk_matmul_output_mode,
    }
    qk_out = ctx.output(3)
    ctx.runtime("attention")
    args = [q_t, k, v, fmask, bmask, nonpad, y_t, qk_out, ctx.scratch(keys.seq)]
    ctx.emit("ops/attention.c.j2", "attention", fields=_c_fields(fields),
             func="dlg_attention_f32", args=[ctx.arg(a) for a in args])


@lowering("RotaryEmbedding", inplace=True)
def rotary_embedding(ctx: NodeContext, interleaved: int = 0, num_heads: int = 0,
                     rotary_embedding_dim: int = 0) -> None:
    x_t, cos_t, sin_t, pos = ctx.input(0), ctx.input(1), ctx.input(2), ctx.input(3)
    _require_f32(ctx, x_t, cos_t, sin_t)
    x = heads_view(ctx, x_t, num_heads, "input")
    rot = rotary_embedding_dim or x.size
    if rot % 2 or rot > x.size:
        ctx.unsupported(f"rotary_embedding_dim {rot} must be even and at most the head size "
                        f"{x.size}")
    if cos_t.shape != sin_t.shape or cos_t.shape[-1] != rot // 2:
        ctx.unsupported(f"cos/sin caches {list(cos_t.shape)}/{list(sin_t.shape)} do not end in "
                        f"rotary_embedding_dim/2 = {rot // 2}")
    if pos is not None:
        if pos.dtype != np.int64 or pos.shape != (x.batch, x.seq) or cos_t.rank != 2:
            ctx.unsupported("position_ids must be int64 [batch, seq] with 2-D caches")
        rows = cos_t.shape[0]
    else:
        if cos_t.shape != (x.batch, x.seq, rot // 2):
            ctx.unsupported(f"without position_ids the caches must be [batch, seq, "
                            f"{rot // 2}], got {list(cos_t.shape)}")
        rows = x.batch * x.seq
    ctx.runtime("attention")
    ctx.call("dlg_rotary_embedding_f32", x.batch, x.heads, x.seq, x.size, rot,
             int(bool(interleaved)), *x.strides, x_t, cos_t, sin_t, rows, pos, ctx.output(0))
