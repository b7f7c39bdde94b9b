"""The pass contract: a named, standalone Graph -> Graph transformation."""
from __future__ import annotations

import logging

from ..ir import Graph

log = logging.getLogger("dlgen.passes")


class Pass:
    """Subclasses set ``name`` and implement ``run``; they return a graph and never edit the input."""

    name = "pass"

    def run(self, graph: Graph) -> Graph:
        raise NotImplementedError

    def __call__(self, graph: Graph) -> Graph:
        result = self.run(graph)
        log.debug("%s: %d -> %d nodes", self.name, len(graph.nodes), len(result.nodes))
        return result
