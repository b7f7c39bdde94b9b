"""EliminateDeadCode: drop what cannot reach a graph output.

Matches:
* nodes none of whose outputs is read (directly or through later nodes) by a graph output;
* values, constants included, that no remaining node reads or writes and that are not graph
  inputs or outputs.

Reads from subgraph attributes (If/Loop bodies reading outer-scope values) count as uses.
Graph inputs are never removed, even when unused: they are the model's calling convention.
"""
from __future__ import annotations

from ..ir import Graph, Node
from .base import Pass, log


def live_nodes(graph: Graph) -> list[Node]:
    """The nodes, in order, that contribute to some graph output."""
    live = set(graph.outputs)
    keep = []
    for node in reversed(graph.nodes):
        if any(out in live for out in node.outputs if out):
            keep.append(node)
            live.update(n for n in node.inputs + node.implicit_inputs() if n)
    keep.reverse()
    return keep


def used_values(graph: Graph) -> set[str]:
    """Names that must stay in the value table."""
    used = set(graph.inputs) | set(graph.outputs)
    for node in graph.nodes:
        used.update(node.inputs + node.outputs + node.implicit_inputs())
    used.discard("")
    return used


class EliminateDeadCode(Pass):
    name = "eliminate-dead-code"

    def run(self, graph: Graph) -> Graph:
        graph = graph.copy()
        kept = live_nodes(graph)
        kept_ids = {id(node) for node in kept}
        for node in graph.nodes:
            if id(node) not in kept_ids:
                log.debug("%s: dropping %s: no output reaches a graph output",
                          self.name, node.describe())
        graph.nodes = kept
        used = used_values(graph)
        graph.values = {name: v for name, v in graph.values.items() if name in used}
        return graph
