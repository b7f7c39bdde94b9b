"""FoldBatchNorm: fold an inference BatchNormalization into the Conv or Gemm before it.

Pattern: ``y = BatchNormalization(Conv(x, W, b?), scale, beta, mean, var)`` (or ``Gemm(A, B, C?)``
with a 2-D output, normalized over its N dim).

Check: the Conv weight/bias (Gemm B/C) and all BN parameters are constants; BN runs in
inference mode (``training_mode`` 0, ``spatial`` 1) and only its first output is used; the
Conv/Gemm output is not a graph output and BN is its only consumer.

Rewrite, with ``s = scale / sqrt(var + eps)``:
* Conv: ``W' = W * s[:, None, ...]`` and ``b' = (b - mean) * s + beta`` (b = 0 when absent).
* Gemm: the N columns of op(B) are scaled by ``s`` (rows of B when ``transB``), and
  ``C' = (beta_attr * C - mean) * s + beta`` with ``beta_attr`` set to 1.
The Conv/Gemm then writes the BN's output; the BN node goes. Rejected matches are logged.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from .base import Pass, log

BASE_OPS = ("Conv", "Gemm")


def bn_scale_shift(graph: Graph, bn: Node) -> tuple[np.ndarray, np.ndarray] | str:
    """(s, beta - mean * s) in float64 for an inference BN, or why it cannot be folded."""
    params = [graph.const(bn.input(i)) for i in range(1, 5)]
    if any(p is None for p in params):
        return "BN parameters not constant"
    if bn.attrs.get("training_mode", 0):
        return "BN is in training mode"
    if not bn.attrs.get("spatial", 1):
        return "BN is not spatial"
    extra = [out for out in bn.outputs[1:] if out and _is_used(graph, out)]
    if extra:
        return f"BN output '{extra[0]}' is used"
    scale, beta, mean, var = (np.asarray(p, dtype=np.float64).reshape(-1) for p in params)
    s = scale / np.sqrt(var + float(bn.attrs.get("epsilon", 1e-5)))
    return s, beta - mean * s


def _is_used(graph: Graph, name: str) -> bool:
    return name in graph.outputs or name in graph.consumers()


def _check_base(graph: Graph, base: Node, bn: Node) -> str | None:
    out = base.outputs[0]
    kind = base.op_type.lower()
    if out in graph.outputs:
        return f"{kind} output is a graph output"
    users = graph.consumers().get(out, [])
    if len(users) != 1:
        return f"{kind} output has {len(users)} consumers"
    if graph.const(base.input(1)) is None:
        return "weights not constant"
    if base.input(2) and graph.const(base.input(2)) is None:
        return "bias not constant"
    return None


def _fold_conv(graph: Graph, conv: Node, s: np.ndarray, shift: np.ndarray) -> str | None:
    w = graph.const(conv.input(1))
    if w.shape[0] != s.shape[0]:
        return f"conv has {w.shape[0]} output channels, BN has {s.shape[0]}"
    b = graph.const(conv.input(2)) if conv.input(2) else np.zeros(w.shape[0])
    new_w = w.astype(np.float64) * s.reshape((-1,) + (1,) * (w.ndim - 1))
    new_b = np.asarray(b, dtype=np.float64) * s + shift
    conv.inputs = [conv.input(0),
                   graph.add_const(f"{conv.input(1)}_bnfold", new_w.astype(w.dtype)),
                   graph.add_const(f"{conv.input(2) or conv.input(1) + '_bias'}_bnfold",
                                   new_b.astype(w.dtype))]
    return None


def _fold_gemm(graph: Graph, gemm: Node, s: np.ndarray, shift: np.ndarray) -> str | None:
    b = graph.const(gemm.input(1))
    trans_b = bool(gemm.attrs.get("transB", 0))
    n = b.shape[0] if trans_b else b.shape[-1]
    if b.ndim != 2 or n != s.shape[0]:
        return f"gemm has {n} output columns, BN has {s.shape[0]}"
    scale = s[:, None] if trans_b else s[None, :]
    new_b = b.astype(np.float64) * scale
    c = graph.const(gemm.input(2)) if gemm.input(2) else np.zeros(1)
    beta_attr = float(gemm.attrs.get("beta", 1.0))
    new_c = beta_attr * np.asarray(c, dtype=np.float64) * s + shift
    gemm.inputs = [gemm.input(0),
                   graph.add_const(f"{gemm.input(1)}_bnfold", new_b.astype(b.dtype)),
                   graph.add_const(f"{gemm.input(2) or gemm.input(1) + '_bias'}_bnfold",
                                   new_c.astype(b.dtype))]
    gemm.attrs["beta"] = 1.0
    if graph.opset < 7:
        gemm.attrs["broadcast"] = 1  # Gemm-6 broadcasts C only when asked to
    return None


def _try_fold(graph: Graph, base: Node, bn: Node) -> str | None:
    """Fold ``bn`` into ``base``; None when done, else why not (the graph is unchanged)."""
    reason = _check_base(graph, base, bn)
    if reason:
        return reason
    params = bn_scale_shift(graph, bn)
    if isinstance(params, str):
        return params
    fold = _fold_conv if base.op_type == "Conv" else _fold_gemm
    old_out = base.outputs[0]
    reason = fold(graph, base, *params)
    if reason:
        return reason
    base.outputs = [bn.outputs[0]]
    graph.values.pop(old_out, None)
    for extra in bn.outputs[1:]:
        graph.values.pop(extra, None)
    return None


class FoldBatchNorm(Pass):
    name = "fold-batchnorm"

    def run(self, graph: Graph) -> Graph:
        graph = graph.copy()
        for bn in [n for n in graph.nodes if n.op_type == "BatchNormalization" and not n.domain]:
            base = graph.producers().get(bn.input(0))
            if base is None or base.domain or base.op_type not in BASE_OPS:
                continue
            reason = _try_fold(graph, base, bn)
            if reason:
                log.debug("%s: not folding %s into %s: %s", self.name, bn.describe(),
                          base.describe(), reason)
                continue
            graph.nodes = [n for n in graph.nodes if n is not bn]
        return graph
