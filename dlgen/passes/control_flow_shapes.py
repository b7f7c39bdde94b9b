"""InferControlFlowShapes: static output shapes of If, Loop and Scan that ONNX leaves unknown.

ONNX shape inference leaves a Loop's scan outputs without a length, an If's outputs unknown
when its branches disagree on a dim, and anything after an outer value it could not type. With
the outer shapes (and constants) now known, each body is converted again
(frontend/subgraph.py, which re-runs inference inside it) and:

* If with a run-time condition: the outputs get the branches' shapes when both agree;
* Loop: carried outputs get the body's carried shapes; scan outputs get ``[M, ...]`` when the
  trip count M is a constant and the loop cannot stop early (absent or constant-true
  condition that the body passes through or keeps constant true);
* Scan (opset 9+): states as carried, scan outputs with the static sequence length inserted
  at their scan_output_axes.

Only nodes with an output of unknown dtype or shape are looked at; a body that does not convert
(unknown outer shapes, a data-dependent shape inside) is skipped and logged.
"""
from __future__ import annotations

from ..errors import DlgenError
from ..ir import Graph, Node
from .base import Pass, log

CONTROL_OPS = frozenset({"If", "Loop", "Scan"})


def _opsets(graph: Graph) -> dict[str, int]:
    return {**graph.opsets, "": graph.opset}


class InferControlFlowShapes(Pass):
    name = "infer-control-flow-shapes"

    def run(self, graph: Graph) -> Graph:
        todo = [n for n in graph.nodes if n.op_type in CONTROL_OPS and not n.domain
                and any(self._unknown(graph, o) for o in n.outputs if o)]
        if not todo:
            return graph
        graph = graph.copy()
        for node in graph.nodes:
            if node.op_type in CONTROL_OPS and not node.domain and any(
                    self._unknown(graph, o) for o in node.outputs if o):
                try:
                    shapes = getattr(self, f"_{node.op_type.lower()}")(graph, node)
                except DlgenError as exc:
                    log.debug("%s: no shapes for %s: %s", self.name, node.describe(), exc)
                    continue
                self._set(graph, node, shapes)
        return graph

    @staticmethod
    def _unknown(graph: Graph, name: str) -> bool:
        v = graph.values.get(name)
        return v is None or v.dtype is None or v.shape is None

    def _set(self, graph: Graph, node: Node, shapes: list) -> None:
        for name, typed in zip(node.outputs, shapes):
            if not name or typed is None or not self._unknown(graph, name):
                continue
            value = graph.values[name]
            value.dtype, value.shape = typed

    def _body(self, graph: Graph, node: Node, attr: str, formals: list) -> Graph:
        from ..frontend.subgraph import body_graph

        return body_graph(node.attrs[attr], formals, graph.values, _opsets(graph),
                          f"{attr} of {node.describe()}")

    @staticmethod
    def _types(body: Graph, start: int = 0) -> list:
        return [(body.values[n].dtype, body.values[n].shape) for n in body.outputs[start:]]

    def _if(self, graph: Graph, node: Node) -> list:
        if graph.const(node.input(0)) is not None:
            return []  # InlineConstantIf's job
        then = self._types(self._body(graph, node, "then_branch", []))
        other = self._types(self._body(graph, node, "else_branch", []))
        if then != other:
            log.debug("%s: the branches of %s give different shapes: %s vs %s", self.name,
                      node.describe(), then, other)
            return [a if a == b else None for a, b in zip(then, other)]
        return then

    def _loop(self, graph: Graph, node: Node) -> list:
        from ..frontend.subgraph import loop_can_stop_early, loop_formals

        body = self._body(graph, node, "body", loop_formals(graph.values, node))
        n_state = len(node.inputs) - 2
        shapes = self._types(body, 1)
        trip = graph.const(node.input(0))
        cond = node.input(1)
        if trip is None or loop_can_stop_early(body, graph.const(cond), bool(cond)):
            return shapes[:n_state]
        m = int(trip.reshape(-1)[0])
        return shapes[:n_state] + [(dtype, (m,) + shape) for dtype, shape in shapes[n_state:]]

    def _scan(self, graph: Graph, node: Node) -> list:
        from ..frontend.subgraph import ScanSpec

        if "directions" in node.attrs or graph.opset < 9:
            return []
        spec = ScanSpec(node, graph.values)
        if spec.length is None:
            return []
        body = self._body(graph, node, "body", spec.formals(graph.values, node))
        shapes = self._types(body)
        n = spec.num_states
        return shapes[:n] + [(dtype, spec.out_shape(k, shape))
                             for k, (dtype, shape) in enumerate(shapes[n:])]
