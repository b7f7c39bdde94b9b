"""Gated linear units: SwiGLU (opset 28), one fused elementwise loop over the gate and value."""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext, c_literal
from ..registry import lowering
from .elementwise import check_types, compute_dtype, emit_broadcast


@lowering("SwiGLU")
def swiglu(ctx: NodeContext, alpha: float = 1.0) -> None:
    a, b, y = ctx.input(0), ctx.input(1), ctx.output(0)
    check_types(ctx, a.dtype, "F")
    if tuple(a.shape) != tuple(b.shape):
        ctx.unsupported(f"gate shape {list(a.shape)} and value shape {list(b.shape)} differ "
                        f"(SwiGLU does not broadcast)")
    compute = compute_dtype(a.dtype)  # float for float16/bfloat16
    suffix = "" if compute == np.float64 else "f"
    alpha_c = c_literal(float(alpha), compute)
    # Swish(a) * b = a * sigmoid(alpha * a) * b, written so that exp never overflows into NaN.
    expr = f"a / (1 + exp{suffix}(-{alpha_c} * a)) * b"
    emit_broadcast(ctx, expr, y, {"a": a, "b": b})
