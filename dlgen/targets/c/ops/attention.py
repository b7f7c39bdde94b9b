"""Transformer ops: Attention (opset 23/24, and the window attributes of 25) and RotaryEmbedding,
as calls to runtime/attention.c.

Both ops accept the 4-D layout [batch, heads, seq, head_size] and the 3-D layout
[batch, seq, heads * head_size]; the lowering describes either with element strides
(batch, head, position), so the kernels never transpose.

The kernels compute in float32. A float16/bfloat16 Attention widens its inputs to float32
scratch first and rounds its outputs back at the end (so it computes more precisely than a
half-precision softmax would).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from ....ir.dtypes import is_half
from ..lower import NodeContext, Tensor, c_literal
from ..registry import lowering
from .broadcast import broadcast_strides

# softmax_precision values accepted; the softmax is computed in float32 for all of them.
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


def _require_float(ctx: NodeContext, *tensors: Tensor | None) -> None:
    dtype = tensors[0].dtype
    for t in tensors:
        if t is not None and (t.dtype != dtype or not (dtype == np.float32 or is_half(dtype))):
            ctx.unsupported(f"element types {[u.dtype.name for u in tensors if u is not None]} "
                            "are not supported (all float32, float16 or bfloat16 needed)")


class _Widened:
    """float16/bfloat16 tensors of one node as float32 scratch: inputs are widened when loaded,
    outputs are computed in scratch and rounded back by ``finish``. float32 passes through."""

    def __init__(self, ctx: NodeContext):
        self.ctx = ctx
        self.stores: list[tuple[Tensor, str]] = []

    def load(self, t: Tensor | None) -> Tensor | str | None:
        if t is None or not is_half(t.dtype):
            return t
        scratch = self.ctx.scratch(t.size)
        self.ctx.call("dlg_attention_widen", t.size, int(t.dtype.name == "bfloat16"), t, scratch)
        return scratch

    def store(self, t: Tensor | None) -> Tensor | str | None:
        if t is None or not is_half(t.dtype):
            return t
        scratch = self.ctx.scratch(t.size)
        self.stores.append((t, scratch))
        return scratch

    def finish(self) -> None:
        for t, scratch in self.stores:
            self.ctx.call("dlg_attention_narrow", t.size, int(t.dtype.name == "bfloat16"),
                          scratch, t)


def _size(v: int) -> str:
    return f"{int(v)}u"


def _sizes(vs) -> str:
    return "{" + ", ".join(_size(v) for v in vs) + "}"


def _i64(v: int) -> str:
    return f"INT64_C({int(v)})"


def _kv_cache(ctx: NodeContext, io: _Widened, x: Tensor, new: Heads, past: Tensor | None,
              present: Tensor | None, what: str) -> tuple[Tensor | str, Heads]:
    """K or V with its cache: concat(past, new) into the present output (or scratch)."""
    if past is None and present is None:
        return io.load(x), new
    past_len = 0
    if past is not None:
        if past.rank != 4 or past.shape[:2] != (new.batch, new.heads) or past.shape[3] != new.size:
            ctx.unsupported(f"past_{what} shape {list(past.shape)} does not match {what} "
                            f"[{new.batch}, {new.heads}, *, {new.size}]")
        past_len = past.shape[2]
    total = past_len + new.seq
    dst = (io.store(present) if present is not None
           else ctx.scratch(new.batch * new.heads * total * new.size))
    ctx.call("dlg_attention_concat_f32", new.batch, new.heads, past_len, new.seq, new.size,
             io.load(past), io.load(x), *new.strides, dst)
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
    if mask.dtype == ctx.input(0).dtype:
        return mask, None, strides, length
    ctx.unsupported(f"attn_mask of type {mask.dtype.name} is not supported (bool or the type "
                    f"of Q, {ctx.input(0).dtype.name})")


def _check_forms(ctx: NodeContext, softmax_precision: int | None, qk_mode: int) -> None:
    q, k, v, past_key, past_value, nonpad = (ctx.input(i) for i in (0, 1, 2, 4, 5, 6))
    _require_float(ctx, q, k, v, past_key, past_value)
    if q.rank != k.rank or q.rank != v.rank:
        ctx.unsupported("Q, K and V must have the same rank")
    if softmax_precision is not None and softmax_precision not in _SOFTMAX_PRECISIONS:
        ctx.unsupported(f"softmax_precision {softmax_precision} is not supported for float32 "
                        "inputs (float or double, computed in float32)")
    if qk_mode not in (0, 1, 2, 3):
        ctx.unsupported(f"qk_matmul_output_mode {qk_mode} is not 0 to 3")
    if (past_key is None) != (past_value is None):
        ctx.unsupported("past_key and past_value must be given together")
    if nonpad is not None and nonpad.dtype != np.int64:
        ctx.unsupported("nonpad_kv_seqlen must be int64")
    if nonpad is not None and past_key is not None:
        ctx.unsupported("nonpad_kv_seqlen cannot be combined with past_key/past_value")


@lowering("Attention")
def attention(ctx: NodeContext, is_causal: int = 0, kv_num_heads: int | None = None,
              q_num_heads: int | None = None, qk_matmul_output_mode: int = 0,
              scale: float | None = None, softcap: float = 0.0,
              softmax_precision: int | None = None, left_window_size: int = -1,
              right_window_size: int = -1) -> None:
    _check_forms(ctx, softmax_precision, qk_matmul_output_mode)
    q_t, k_t, v_t, past = ctx.input(0), ctx.input(1), ctx.input(2), ctx.input(4)
    q = heads_view(ctx, q_t, q_num_heads, "Q")
    k_new = heads_view(ctx, k_t, kv_num_heads, "K")
    v_new = heads_view(ctx, v_t, kv_num_heads, "V")
    if k_new.heads != v_new.heads or k_new.seq != v_new.seq or q.size != k_new.size:
        ctx.unsupported("K and V (and the head sizes of Q and K) do not agree")
    if q.heads % k_new.heads:
        ctx.unsupported(f"{q.heads} query heads are not a multiple of {k_new.heads} kv heads")
    y_t = ctx.output(0)
    y = heads_view(ctx, y_t, q.heads if y_t.rank == 3 else None, "Y")
    total = k_new.seq + (past.shape[2] if past is not None else 0)
    fmask, bmask, mask_strides, mask_len = _mask_args(ctx, ctx.input(3),
                                                      (q.batch, q.heads, q.seq, total))
    io = _Widened(ctx)
    k, keys = _kv_cache(ctx, io, k_t, k_new, past, ctx.output(1), "key")
    v, values = _kv_cache(ctx, io, v_t, v_new, ctx.input(5), ctx.output(2), "value")
    if scale is None:
        scale = 1.0 / math.sqrt(q.size)
    fields = [
        ("batch", _size(q.batch)), ("q_heads", _size(q.heads)), ("kv_heads", _size(keys.heads)),
        ("q_len", _size(q.seq)), ("kv_len", _size(keys.seq)), ("qk_size", _size(q.size)),
        ("v_size", _size(values.size)), ("q_stride", _sizes(q.strides)),
        ("k_stride", _sizes(keys.strides)), ("v_stride", _sizes(values.strides)),
        ("y_stride", _sizes(y.strides)), ("mask_stride", _sizes(mask_strides)),
        ("mask_len", _size(mask_len)),
        # Q and K are each scaled by sqrt(scale), rounded to float32, as the spec describes.
        ("scale_sqrt", c_literal(float(np.float32(math.sqrt(scale))))),
        ("softcap", c_literal(float(softcap) if softcap > 0 else 0.0)),
        ("is_causal", str(int(bool(is_causal)))), ("left_window", _i64(left_window_size)),
        ("right_window", _i64(right_window_size)),
        ("past_len", _i64(total - k_new.seq)), ("qk_mode", str(int(qk_matmul_output_mode))),
    ]
    ctx.runtime("attention", "half")  # attention.c includes half.h
    args = [io.load(q_t), k, v, io.load(fmask), bmask, ctx.input(6), io.store(y_t),
            io.store(ctx.output(3)), ctx.scratch(keys.seq)]
    ctx.emit("ops/attention.c.j2", "attention", fields=fields,
             func="dlg_attention_f32", args=[ctx.arg(a) for a in args])
    io.finish()


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
    ctx.runtime("attention", "half")  # attention.c includes half.h
    ctx.call("dlg_rotary_embedding_f32", x.batch, x.heads, x.seq, x.size, rot,
             int(bool(interleaved)), *x.strides, x_t, cos_t, sin_t, rows, pos, ctx.output(0))
