"""Model statistics for `dlgen inspect`: parameters, FLOPs, op counts, C-target support."""
from __future__ import annotations

from collections import Counter

import numpy as np

from .ir import Graph, Node


def _size(graph: Graph, name: str) -> int:
    v = graph.values.get(name) if name else None
    return 0 if v is None or v.shape is None else int(np.prod(v.shape, dtype=np.int64))


def node_flops(graph: Graph, node: Node) -> int:
    """Multiply-adds counted as 2 FLOPs; elementwise ops as 1 per output element."""
    op = node.op_type
    out = _size(graph, node.outputs[0]) if node.outputs else 0
    if op in ("Conv", "FusedConv"):
        w = graph.values[node.inputs[1]]
        per_output = int(np.prod(w.shape[1:], dtype=np.int64))  # C/group * kernel
        return 2 * out * per_output
    if op in ("Gemm", "FusedGemm", "MatMul", "FusedMatMul"):
        a = graph.values[node.inputs[0]].shape
        transA = node.attrs.get("transA", 0) if "Gemm" in op else 0
        k = a[-2] if transA else a[-1]
        return 2 * out * int(k)
    if op in ("LSTM", "GRU"):
        x, w = graph.values[node.inputs[0]].shape, graph.values[node.inputs[1]].shape
        r = graph.values[node.inputs[2]].shape
        steps_batch = int(x[0] * x[1])
        return 2 * steps_batch * int(np.prod(w, dtype=np.int64) + np.prod(r, dtype=np.int64)) // 1
    return out


def summarize(graph: Graph) -> dict:
    consts = [v for v in graph.values.values() if v.is_const]
    flops = sum(node_flops(graph, n) for n in graph.nodes)
    return {
        "nodes": len(graph.nodes),
        "ops": dict(sorted(Counter(n.op_type if not n.domain else f"{n.domain}::{n.op_type}"
                                   for n in graph.nodes).items())),
        "parameters": int(sum(v.size for v in consts)),
        "weights_bytes": int(sum(v.nbytes for v in consts)),
        "flops": int(flops),
    }
