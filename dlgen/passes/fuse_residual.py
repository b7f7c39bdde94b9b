"""FuseResidual: fold a residual Add into the Conv that feeds it.

Pattern: ``y = Add(Conv(x, w[, b]), z)`` (either operand order; a two-input Sum too) with
Conv in the standard domain and ``z`` of exactly the Conv output's shape and dtype (no
broadcasting).

Check: the Conv output is not a graph output and the Add is its only consumer.

Rewrite: ``FusedConv(x, w, b, z)`` in domain "dlgen" (ONNX Runtime's FusedConv convention:
``y = act(conv(x, w) + b + z)``), at the Add's place in the node order, writing the Add's
output; FuseActivation can then add the activation that follows (ResNet's Add + Relu).
"""
from __future__ import annotations

from ..ir import Graph, Node
from ..ir.evaluate import FUSED_DOMAIN
from .base import Pass, log


def _residual(graph: Graph, add: Node, producers: dict, consumers: dict) -> tuple[Node, str] | str:
    """The Conv feeding ``add`` and the other operand, or why they cannot be fused."""
    for conv_in, z in ((add.input(0), add.input(1)), (add.input(1), add.input(0))):
        conv = producers.get(conv_in)
        if conv is None or conv.op_type != "Conv" or conv.domain:
            continue
        if conv_in in graph.outputs or len(consumers.get(conv_in, [])) != 1:
            return f"the output of {conv.describe()} has other uses"
        if conv_in == z:
            return "both operands are the Conv output"
        a, b = graph.values.get(conv_in), graph.values.get(z)
        if a is None or b is None or a.shape is None or a.shape != b.shape or a.dtype != b.dtype:
            return "the residual operand's shape or dtype differs from the Conv output's"
        return conv, z
    return ""


def _is_add(node: Node) -> bool:
    """Add, or a two-input Sum (what older exporters write for residuals)."""
    if node.domain:
        return False
    return node.op_type == "Add" or (node.op_type == "Sum" and len(node.inputs) == 2)


class FuseResidual(Pass):
    name = "fuse-residual"

    def run(self, graph: Graph) -> Graph:
        graph = graph.copy()
        for add in [n for n in graph.nodes if _is_add(n)]:
            found = _residual(graph, add, graph.producers(), graph.consumers())
            if isinstance(found, str):
                if found:
                    log.debug("%s: not fusing %s: %s", self.name, add.describe(), found)
                continue
            conv, z = found
            inputs = [conv.input(0), conv.input(1), conv.input(2), z]
            fused = Node("FusedConv", inputs, [add.outputs[0]], dict(conv.attrs), conv.name,
                         FUSED_DOMAIN)
            graph.values.pop(conv.outputs[0], None)
            graph.nodes = [fused if n is add else n for n in graph.nodes if n is not conv]
            graph.opsets.setdefault(FUSED_DOMAIN, 1)
        return graph
