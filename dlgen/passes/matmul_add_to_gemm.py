"""MatMulAddToGemm: ``Add(MatMul(A, B), C)`` with constant B and C becomes ``Gemm(A, B, C)``.

Pattern: an Add one of whose inputs is written by a MatMul and the other is a constant.

Check: A is 2-D [M, K] with a known shape and a floating-point dtype; B is a constant [K, N];
the bias C has A's dtype and broadcasts one-way to [M, N] (e.g. [N], [1, N], [M, 1], [M, N]);
the MatMul output is not a graph output and the Add is its only consumer.

Rewrite: one Gemm (named after the MatMul) writing the Add's output; the MatMul output value
goes. Rejected matches are logged at debug level with the reason.
"""
from __future__ import annotations

from ..ir import Graph, Node
from .base import Pass, log


def broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether ``shape`` broadcasts one-way (numpy rules) to ``target``."""
    if len(shape) > len(target):
        return False
    return all(d in (1, t) for d, t in zip(reversed(shape), reversed(target)))


def _matmul_operand(graph: Graph, add: Node) -> tuple[Node, str] | None:
    """The MatMul feeding ``add`` and the name of ``add``'s other input, if any."""
    producers = graph.producers()
    for i in (0, 1):
        node = producers.get(add.input(i))
        if node is not None and node.op_type == "MatMul" and not node.domain:
            return node, add.input(1 - i)
    return None


def _check(graph: Graph, matmul: Node, bias: str) -> str | None:
    out = matmul.outputs[0]
    if out in graph.outputs:
        return "matmul output is a graph output"
    users = graph.consumers().get(out, [])
    if len(users) != 1:
        return f"matmul output has {len(users)} consumers"
    a, b, c = graph.values.get(matmul.input(0)), graph.const(matmul.input(1)), graph.const(bias)
    if a is None or a.shape is None or a.dtype is None:
        return "A has no known shape"
    if len(a.shape) != 2:
        return f"A is {len(a.shape)}-D, not 2-D"
    if a.dtype.kind != "f":
        return f"A is {a.dtype}, not floating point"
    if b is None or b.ndim != 2:
        return "B is not a constant 2-D matrix"
    if c is None:
        return "bias is not a constant"
    if c.dtype != a.dtype:
        return f"bias is {c.dtype}, A is {a.dtype}"
    if not broadcasts_to(c.shape, (a.shape[0], b.shape[1])):
        return f"bias shape {list(c.shape)} does not broadcast to {[a.shape[0], b.shape[1]]}"
    return None


def _rewrite(graph: Graph, matmul: Node, add: Node, bias: str) -> None:
    attrs = {}
    if graph.opset < 7:
        attrs["broadcast"] = 1  # Gemm-6 broadcasts C only when asked to
    gemm = Node("Gemm", [matmul.input(0), matmul.input(1), bias], [add.outputs[0]], attrs,
                matmul.name, "")
    graph.values.pop(matmul.outputs[0], None)
    graph.nodes = [gemm if n is matmul else n for n in graph.nodes if n is not add]


class MatMulAddToGemm(Pass):
    name = "matmul-add-to-gemm"

    def run(self, graph: Graph) -> Graph:
        graph = graph.copy()
        for add in [n for n in graph.nodes if n.op_type == "Add" and not n.domain]:
            match = _matmul_operand(graph, add)
            if match is None:
                continue
            matmul, bias = match
            reason = _check(graph, matmul, bias)
            if reason:
                log.debug("%s: not fusing %s and %s: %s", self.name, matmul.describe(),
                          add.describe(), reason)
                continue
            _rewrite(graph, matmul, add, bias)
        return graph
