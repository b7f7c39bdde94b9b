"""InlineConstantIf: an If whose condition is a compile-time constant becomes its branch.

Matches: ``If`` whose condition input has constant data (after folding: functions such as
AffineGrid's expansion branch on the rank of a static shape).

Rewrite: the taken branch's nodes move into the graph in place of the If, its initializers
become constants, and each If output becomes an ``Identity`` of the branch output (removed
later by RemoveIdentity). The branches may give outputs of different shapes, which ONNX
inference cannot type before the If is gone; its outputs are reset to unknown so that
re-inference types them.

Rejected (logged): a branch defining a name already used in the graph (names are kept as they
are, so nested subgraphs reading them stay valid).
"""
from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from ..ir import Graph, Node, Value
from ..ir.onnx_io import DEFAULT_DOMAINS, _attr_value
from .base import Pass, log


def _defined(branch) -> list[str]:
    names = [t.name for t in branch.initializer]
    for node in branch.node:
        names.extend(o for o in node.output if o)
    return names


class InlineConstantIf(Pass):
    name = "inline-constant-if"

    def run(self, graph: Graph) -> Graph:
        if not any(n.op_type == "If" and not n.domain and graph.const(n.input(0)) is not None
                   for n in graph.nodes):
            return graph
        graph = graph.copy()
        nodes: list[Node] = []
        for node in graph.nodes:
            cond = graph.const(node.input(0)) if node.op_type == "If" and not node.domain \
                else None
            if cond is None or not self._inline(graph, node, bool(np.asarray(cond).reshape(-1)[0]),
                                                nodes):
                nodes.append(node)
        graph.nodes = nodes
        return graph

    def _inline(self, graph: Graph, node: Node, cond: bool, nodes: list[Node]) -> bool:
        branch = node.attrs.get("then_branch" if cond else "else_branch")
        if branch is None or len(branch.output) != len(node.outputs):
            log.debug("%s: keeping %s: branch outputs do not match", self.name, node.describe())
            return False
        clashes = [n for n in _defined(branch) if n in graph.values]
        if clashes:
            log.debug("%s: keeping %s: the branch redefines %s", self.name, node.describe(),
                      clashes[:3])
            return False
        for init in branch.initializer:
            data = numpy_helper.to_array(init)
            graph.values[init.name] = Value(init.name, data.dtype, data=data)
        for n in branch.node:
            domain = "" if n.domain in DEFAULT_DOMAINS else n.domain
            attrs = {a.name: _attr_value(a) for a in n.attribute}
            nodes.append(Node(n.op_type, list(n.input), list(n.output), attrs, n.name, domain))
            for out in n.output:
                if out:
                    graph.values[out] = Value(out, None, None)
        for out, inner in zip(node.outputs, branch.output):
            if out:
                nodes.append(Node("Identity", [inner.name], [out], {}, f"{node.name}_{out}"))
                graph.values[out] = Value(out, None, None)
        log.debug("%s: %s takes its %s branch", self.name, node.describe(),
                  "then" if cond else "else")
        return True
