"""Gemm and MatMul (and their fused-activation forms) as calls to runtime/gemm.c."""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext
from ..registry import lowering
from .activation import act_args
from .broadcast import broadcast_shape, broadcast_strides
from .packing import pack_b

# --kernels cblas sends a product to the BLAS only where that measured faster than the portable
# kernels on one core (docs/ARCHITECTURE.md, "Where --kernels cblas calls the BLAS"): a deep
# GEMM (K >= BLAS_MIN_DEPTH) with at least BLAS_MIN_ROWS rows and columns. Smaller ones lose
# to the BLAS's run-time packing of both operands (the portable kernels get constant weights
# pre-packed) and to the extra pass over Y for bias and activation; a batch-1 Gemm (M = 1) is
# a matrix-vector product that only streams the weights, which pre-packed panels do best.
BLAS_MIN_DEPTH = 512
BLAS_MIN_ROWS = 128


def blas_wins(m: int, n: int, k: int) -> bool:
    """Whether --kernels cblas computes an M x N x K product with the BLAS."""
    return k >= BLAS_MIN_DEPTH and min(m, n) >= BLAS_MIN_ROWS


def _gemm_function(ctx: NodeContext, m: int, n: int, k: int, name: str = "gemm") -> str:
    """The runtime function of a product whose B is not pre-packed: the BLAS one where it
    wins with --kernels cblas, else the portable one."""
    use_blas = ctx.kernels == "cblas" and blas_wins(m, n, k)
    return f"dlg_{name}_blas_f32" if use_blas else f"dlg_{name}_f32"


@lowering("Gemm")
@lowering("FusedGemm", domain="dlgen")
def gemm(ctx: NodeContext, alpha: float = 1.0, beta: float = 1.0, transA: int = 0,
         transB: int = 0, activation: str | None = None, activation_params=()) -> None:
    a, b, c, y = ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(0)
    M, N = y.shape
    K = a.shape[0] if transA else a.shape[1]
    c_strides = [0, 0]
    if c is not None:
        c_strides = broadcast_strides(c.shape, (M, N))
    act = act_args(ctx, activation, activation_params)
    function = _gemm_function(ctx, M, N, K)
    if ctx.fast and b.data is not None and not function.endswith("blas_f32"):
        weights = (b.data.T if transB else b.data).astype(np.float32) * np.float32(alpha)
        packed = ctx.const("gemm_packed_b", pack_b(weights))
        ctx.runtime("gemm")
        ctx.call("dlg_gemm_packed_f32", int(bool(transA)), M, N, K, a, packed, float(beta), c,
                 c_strides[0], c_strides[1], y, *act)
        return
    ctx.runtime("gemm")
    ctx.call(function, int(bool(transA)), int(bool(transB)), M, N, K, float(alpha), a, b,
             float(beta), c, c_strides[0], c_strides[1], y, *act)


@lowering("MatMul")
@lowering("FusedMatMul", domain="dlgen")
def matmul(ctx: NodeContext, activation: str | None = None, activation_params=()) -> None:
    a, b, y = ctx.input(0), ctx.input(1), ctx.output(0)
    if a.dtype != np.float32:
        ctx.unsupported(f"element type {a.dtype.name} is not supported (float32 needed)")
    a_shape = (1,) + a.shape if a.rank == 1 else a.shape
    b_shape = b.shape + (1,) if b.rank == 1 else b.shape
    M, K = a_shape[-2:]
    N = b_shape[-1]
    act = act_args(ctx, activation, activation_params)
    ctx.runtime("gemm")
    if len(b_shape) == 2:
        # Every batch of A shares B: one GEMM over all rows of A.
        rows = int(np.prod(a_shape[:-1]))
        function = _gemm_function(ctx, rows, N, K)
        if ctx.fast and b.data is not None and not function.endswith("blas_f32"):
            packed = ctx.const("matmul_packed_b", pack_b(b.data.reshape(K, N)))
            ctx.call("dlg_gemm_packed_f32", 0, rows, N, K, a, packed, 0.0, None, 0, 0, y, *act)
            return
        ctx.call(function, 0, 0, rows, N, K, 1.0, a, b, 0.0, None, 0, 0, y, *act)
        return
    batch = broadcast_shape(a_shape[:-2], b_shape[:-2])
    index = np.indices(batch).reshape(len(batch), -1).T if batch else np.zeros((1, 0), int)
    sa = broadcast_strides(a_shape[:-2], batch)
    sb = broadcast_strides(b_shape[:-2], batch)
    a_off = (index @ np.array(sa, dtype=np.int64)) * (M * K) if batch else np.zeros(1, np.int64)
    b_off = (index @ np.array(sb, dtype=np.int64)) * (K * N) if batch else np.zeros(1, np.int64)
    a_tab = ctx.const("matmul_a_offsets", a_off.astype(np.int64))
    b_tab = ctx.const("matmul_b_offsets", b_off.astype(np.int64))
    ctx.call(_gemm_function(ctx, M, N, K, "matmul"), len(a_off), a_tab, b_tab, M, N, K, a, b, y,
             *act)
