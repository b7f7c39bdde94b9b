"""Weights pre-packed at compile time into the panel layouts of runtime sgemm.h, so the fast
kernels read them with unit stride and never repack at run time.

MR and NR mirror DLG_SGEMM_MR / DLG_SGEMM_NR (a test checks they agree with the header).
"""
from __future__ import annotations

import numpy as np

MR = 6   # rows of the micro-kernel's register tile: A panels
NR = 16  # columns of the register tile: B panels


def _pad_to(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def pack_b(b: np.ndarray) -> np.ndarray:
    """B [K, N] -> column panels [ceil(N / NR), K, NR], zero-padded: B(k, n) is at
    ``[n // NR, k, n % NR]``."""
    k, n = b.shape
    padded = np.zeros((k, _pad_to(n, NR)), dtype=np.float32)
    padded[:, :n] = b
    return np.ascontiguousarray(padded.reshape(k, -1, NR).transpose(1, 0, 2))


def pack_a(a: np.ndarray) -> np.ndarray:
    """A [M, K] -> row panels [ceil(M / MR), K, MR], zero-padded: A(m, k) is at
    ``[m // MR, k, m % MR]``."""
    m, k = a.shape
    padded = np.zeros((_pad_to(m, MR), k), dtype=np.float32)
    padded[:m] = a
    return np.ascontiguousarray(padded.reshape(-1, MR, k).transpose(0, 2, 1))


def pack_conv_weights(w: np.ndarray, groups: int) -> np.ndarray:
    """Conv weights [M, C / groups, k...] -> per group, pack_a of its [M / groups, C / groups *
    taps] matrix (conv.h's dlg_conv_packed_f32 layout)."""
    rows = w.reshape(groups, w.shape[0] // groups, -1)
    return np.concatenate([pack_a(g).ravel() for g in rows])


# Winograd F(4x4, 3x3) weight transform G (runtime winograd.h): U = G g G^T per channel pair.
WINOGRAD_G = np.array([[1 / 4, 0, 0],
                       [-1 / 6, -1 / 6, -1 / 6],
                       [-1 / 6, 1 / 6, -1 / 6],
                       [1 / 24, 1 / 12, 1 / 6],
                       [1 / 24, -1 / 12, 1 / 6],
                       [0, 0, 1]], dtype=np.float64)


def pack_winograd_weights(w: np.ndarray) -> np.ndarray:
    """Conv weights [M, C, 3, 3] -> U = G g G^T computed in float64, then per transform position
    xi = 6 * i + j the [M, C] matrix U_xi packed by pack_a (winograd.h's
    dlg_conv_winograd_f32 layout: 36 A matrices one after the other)."""
    u = np.einsum("ik,mckl,jl->ijmc", WINOGRAD_G, w.astype(np.float64), WINOGRAD_G)
    return np.concatenate([pack_a(u[i, j]).ravel() for i in range(6) for j in range(6)])
