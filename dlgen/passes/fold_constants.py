"""FoldConstants: compute at compile time what only depends on constants.

Matches:
* ``Constant`` nodes: their attribute becomes the data of their output value;
* standard-domain nodes whose inputs are all constants (omitted optional inputs allowed),
  evaluated with ``onnx.reference``; their outputs become constant values.

Skips, each logged at debug level on ``dlgen.passes`` with the reason: non-standard domains,
nodes with subgraph attributes, random ops, inputs over ``max_input_bytes``, outputs over
``max_output_bytes``, non-tensor or non-numeric results, and evaluation errors.

A graph output that becomes constant stays a graph output: a constant value of that name.
"""
from __future__ import annotations

import numpy as np
import onnx

from ..ir import Graph, Node, Value
from ..ir.evaluate import run_node
from .base import Pass, log

MiB = 1024 * 1024

RANDOM_OPS = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike",
                        "RandomUniformLike", "Bernoulli", "Multinomial"})

# Constant attribute -> how to turn it into an array.
_CONSTANT_ATTRS = {
    "value": np.asarray,
    "value_float": lambda v: np.asarray(v, dtype=np.float32),
    "value_floats": lambda v: np.asarray(v, dtype=np.float32),
    "value_int": lambda v: np.asarray(v, dtype=np.int64),
    "value_ints": lambda v: np.asarray(v, dtype=np.int64),
}


def constant_node_data(node: Node) -> np.ndarray | None:
    """The data of a ``Constant`` node, or None for attribute kinds folded by evaluation."""
    for attr, convert in _CONSTANT_ATTRS.items():
        if attr in node.attrs:
            return convert(node.attrs[attr])
    return None


def _has_subgraph(node: Node) -> bool:
    def is_graph(v):
        return isinstance(v, (onnx.GraphProto, Graph)) or (
            isinstance(v, list) and any(isinstance(x, (onnx.GraphProto, Graph)) for x in v))
    return any(is_graph(v) for v in node.attrs.values())


def _inputs_constant(graph: Graph, node: Node) -> bool:
    return all(not name or graph.const(name) is not None for name in node.inputs)


def _declared_bytes(graph: Graph, name: str) -> int | None:
    value = graph.values.get(name)
    if value is None or value.dtype is None or value.shape is None:
        return None
    return value.nbytes


def _set_constant(graph: Graph, name: str, data: np.ndarray) -> None:
    declared = graph.values.get(name)
    dtype = declared.dtype if declared is not None and declared.dtype is not None else data.dtype
    graph.values[name] = Value(name, dtype, data=np.asarray(data).astype(dtype, copy=False))


def _too_large(what: str, nbytes: int, limit_name: str, limit: int) -> str:
    return f"too large: {what} are {nbytes} bytes > {limit_name}={limit}"


class FoldConstants(Pass):
    name = "fold-constants"

    def __init__(self, max_output_bytes: int = 16 * MiB, max_input_bytes: int = 64 * MiB):
        self.max_output_bytes = max_output_bytes
        self.max_input_bytes = max_input_bytes

    def run(self, graph: Graph) -> Graph:
        graph = graph.copy()
        kept = []
        for node in graph.nodes:
            if not self._fold(graph, node):
                kept.append(node)
        graph.nodes = kept
        return graph

    # -- one node ------------------------------------------------------------------------
    def _fold(self, graph: Graph, node: Node) -> bool:
        """Fold ``node`` into constants; True when it was folded and can be dropped."""
        if not _inputs_constant(graph, node):
            return False
        if node.domain:
            if node.inputs:
                self._skip(node, f"domain '{node.domain}' is not evaluated")
            return False
        if node.op_type == "Constant":
            data = constant_node_data(node)
            if data is not None:
                _set_constant(graph, node.outputs[0], data)
                return True
        reason = self._check(graph, node)
        if reason:
            self._skip(node, reason)
            return False
        return self._evaluate(graph, node)

    def _check(self, graph: Graph, node: Node) -> str | None:
        """Why ``node`` must not be evaluated, or None."""
        if node.op_type in RANDOM_OPS:
            return "random op"
        if _has_subgraph(node):
            return "has a subgraph attribute"
        in_bytes = sum(graph.const(n).nbytes for n in dict.fromkeys(node.inputs) if n)
        if in_bytes > self.max_input_bytes:
            return _too_large("inputs", in_bytes, "max_input_bytes", self.max_input_bytes)
        out_bytes = [_declared_bytes(graph, n) for n in node.outputs if n]
        known = sum(b for b in out_bytes if b is not None)
        if known > self.max_output_bytes:
            return _too_large("outputs", known, "max_output_bytes", self.max_output_bytes)
        return None

    def _evaluate(self, graph: Graph, node: Node) -> bool:
        env = {n: graph.const(n) for n in node.inputs if n}
        try:
            results = run_node(graph, node, env)
        except Exception as exc:  # noqa: BLE001 - any evaluation failure means "do not fold"
            self._skip(node, f"evaluation error: {type(exc).__name__}: {exc}")
            return False
        reason = self._check_results(results)
        if reason:
            self._skip(node, reason)
            return False
        for name, data in zip(node.outputs, results):
            if name:
                _set_constant(graph, name, np.asarray(data))
        return True

    def _check_results(self, results: list) -> str | None:
        if not all(isinstance(r, (np.ndarray, np.generic)) for r in results):
            return "non-tensor result"
        arrays = [np.asarray(r) for r in results]
        if any(a.dtype.kind not in "biuf" for a in arrays):
            return "non-numeric result"
        total = sum(a.nbytes for a in arrays)
        if total > self.max_output_bytes:
            return _too_large("outputs", total, "max_output_bytes", self.max_output_bytes)
        return None

    def _skip(self, node: Node, reason: str) -> None:
        log.debug("%s: not folding %s: %s", self.name, node.describe(), reason)
