"""RemoveIdentity: drop nodes whose output equals their first input.

Matches:
* ``Identity``;
* ``Dropout`` at inference: the mask output is absent or unused and ``training_mode`` is
  absent or a constant false (``ratio`` does not matter then);
* ``Reshape``/``Expand``/``Squeeze``/``Unsqueeze``/``Flatten`` whose output shape equals the
  input shape (both statically known) with the same dtype;
* ``Transpose`` with an identity permutation; ``Cast``/``CastLike`` to the input's own dtype.

Rewrite: readers of the output read the input instead. A graph output keeps its name: when the
removed node writes a graph output, the producer of its input is renamed to write the graph
output instead, which requires the input to be produced by a node, not be a graph input, a
constant or another graph output. Otherwise (e.g. an Identity from a graph input to a graph
output) the node stays. Values read by subgraph attributes are never renamed.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from ..ir.dtypes import from_onnx as dtype_from_onnx
from .base import Pass, log

SHAPE_OPS = frozenset({"Reshape", "Expand", "Squeeze", "Unsqueeze", "Flatten"})


def _shape(graph: Graph, name: str):
    value = graph.values.get(name)
    return None if value is None else value.shape


def _dtype(graph: Graph, name: str):
    value = graph.values.get(name)
    return None if value is None else value.dtype


def _same_type_and_shape(graph: Graph, a: str, b: str) -> bool:
    shape_a, shape_b = _shape(graph, a), _shape(graph, b)
    if shape_a is None or shape_a != shape_b:
        return False
    dtype_a, dtype_b = _dtype(graph, a), _dtype(graph, b)
    return dtype_a is None or dtype_b is None or dtype_a == dtype_b


def _is_used(graph: Graph, name: str) -> bool:
    return name in graph.outputs or name in graph.consumers()


def _dropout_is_identity(graph: Graph, node: Node) -> str | None:
    """None when an inference Dropout, else why not."""
    if len(node.outputs) > 1 and node.outputs[1] and _is_used(graph, node.outputs[1]):
        return "its mask output is used"
    training = node.input(2)
    if training:
        data = graph.const(training)
        if data is None:
            return "training_mode is not a constant"
        if bool(np.asarray(data).any()):
            return "training_mode is true"
    return None


def _transpose_is_identity(graph: Graph, node: Node) -> bool:
    perm = node.attrs.get("perm")
    if perm is not None:
        return list(perm) == list(range(len(perm)))
    shape = _shape(graph, node.input(0))
    return shape is not None and len(shape) <= 1


def _cast_is_identity(graph: Graph, node: Node) -> bool:
    source = _dtype(graph, node.input(0))
    if node.op_type == "Cast":
        target = dtype_from_onnx(node.attrs["to"]) if "to" in node.attrs else None
    else:
        target = _dtype(graph, node.input(1))
    return source is not None and source == target


def identity_input(graph: Graph, node: Node) -> str | None:
    """The input that ``node``'s output equals, or None when ``node`` is not a no-op."""
    if node.domain or not node.inputs or not node.input(0):
        return None
    op, src, out = node.op_type, node.input(0), node.outputs[0]
    if op == "Identity":
        return src
    if op == "Dropout":
        reason = _dropout_is_identity(graph, node)
        if reason:
            log.debug("remove-identity: keeping %s: %s", node.describe(), reason)
            return None
        return src
    if op in SHAPE_OPS:
        return src if _same_type_and_shape(graph, src, out) else None
    if op == "Transpose":
        return src if _transpose_is_identity(graph, node) else None
    if op in ("Cast", "CastLike"):
        return src if _cast_is_identity(graph, node) else None
    return None


def _implicitly_read(graph: Graph, name: str) -> bool:
    return any(name in node.implicit_inputs() for node in graph.nodes)


def _why_producer_cannot_rename(graph: Graph, src: str) -> str | None:
    if src in graph.inputs:
        return "its input is a graph input"
    if graph.const(src) is not None:
        return "its input is a constant"
    if src in graph.outputs:
        return "its input is also a graph output"
    if src not in graph.producers():
        return "its input has no producer"
    if _implicitly_read(graph, src):
        return "its input is read by a subgraph"
    return None


def _bypass(graph: Graph, node: Node, src: str) -> str | None:
    """Rewire the graph around ``node``; None when done, else why the node stays."""
    out = node.outputs[0]
    if _implicitly_read(graph, out):
        return "its output is read by a subgraph"
    if out not in graph.outputs:
        graph.rename_uses(out, src)
        return None
    reason = _why_producer_cannot_rename(graph, src)
    if reason:
        return f"it writes graph output '{out}' and {reason}"
    producer = graph.producers()[src]
    producer.outputs = [out if name == src else name for name in producer.outputs]
    graph.rename_uses(src, out)
    _merge_value_info(graph, src, out)
    return None


def _merge_value_info(graph: Graph, src: str, out: str) -> None:
    """``out`` now names what ``src`` named: keep whatever type information either had."""
    old, new = graph.values.pop(src, None), graph.values.get(out)
    if old is None:
        return
    if new is None:
        old.name = out
        graph.values[out] = old
        return
    if new.dtype is None:
        new.dtype = old.dtype
    if new.shape is None:
        new.shape = old.shape


class RemoveIdentity(Pass):
    name = "remove-identity"

    def run(self, graph: Graph) -> Graph:
        graph = graph.copy()
        for node in list(graph.nodes):
            src = identity_input(graph, node)
            if src is None:
                continue
            reason = _bypass(graph, node, src)
            if reason:
                log.debug("%s: keeping %s: %s", self.name, node.describe(), reason)
                continue
            graph.nodes = [n for n in graph.nodes if n is not node]
            for name in node.outputs:
                if name and name not in graph.outputs:
                    graph.values.pop(name, None)
        return graph
