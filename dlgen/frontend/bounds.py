"""Data-dependent output shapes: compile-time upper bounds plus run-time dims.

Some ops decide the size of their outputs from the data: NonZero, Unique, NonMaxSuppression,
Compress with a run-time condition, TopK with a run-time k. ONNX shape inference leaves such
dims unknown (a static size declared by the model holds only for the data it was exported
with, so it is replaced too). ``apply_bounds`` gives each such value a bound shape (``Value.shape``, the most
elements the op can produce) and marks the data-dependent dims in ``Value.dynamic``. Targets
size buffers by the bound and learn the actual dims at run time (the C target: an ``int64_t``
dims array per value, written by the kernel; generated code returns DLG_ERR_BOUND instead of
writing past a buffer when the actual size would exceed the bound).

Bounds, per op (the count shared by all of a node's dynamic outputs):

* NonZero:            [rank(X), N], N <= numel(X)
* Unique:             Y, indices, counts: U <= numel(X) (no axis) or X.shape[axis];
                      inverse_indices is static
* Compress:           the kept count <= min(len(condition), axis size or numel(X))
* TopK (run-time k):  k <= X.shape[axis]
* NonMaxSuppression:  [S, 3], S <= batches * classes * min(boxes, max_output_boxes_per_class)
                      (max_output_boxes_per_class only when it is a compile-time constant)

A user can lower a bound with the compile option ``bounds`` ({value name: max size}, CLI
``--bound NAME=N``): naming any dynamic output of a node lowers the count of all of them.

Consumers: a dynamic value may be a graph output, or flow through the shape-preserving ops in
``PASS_THROUGH`` (their output gets the same bound shape and dims); any other consumer is
refused with an error naming the value and the op.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ..errors import BadInput, Unsupported
from ..ir import Graph, Node
from ..text import quote

# Elementwise ops with one data input whose output has the input's shape: they run over the
# bound buffer (producers zero its unused tail) and copy the run-time dims.
PASS_THROUGH = frozenset({
    "Identity", "Cast", "Neg", "Abs", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt",
    "Floor", "Ceil", "Round", "Sign", "Not", "Reciprocal",
})

Outputs = list[tuple[tuple[int, ...], tuple[bool, ...]] | None]


def _numel(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _axis(node: Node, rank: int, default: int | None) -> int | None:
    axis = node.attrs.get("axis", default)
    if axis is None:
        return None
    axis = int(axis)
    if not -rank <= axis < max(rank, 1):
        raise Unsupported(f"{node.describe()}: axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def _non_zero(graph: Graph, node: Node) -> Outputs:
    x = graph.values[node.inputs[0]]
    return [((len(x.shape), x.size), (False, True))]


def _unique(graph: Graph, node: Node) -> Outputs:
    x = graph.values[node.inputs[0]]
    axis = _axis(node, len(x.shape), None)
    if axis is None:
        n = x.size
        y = ((n,), (True,))
    else:
        n = x.shape[axis]
        y = (x.shape, tuple(d == axis for d in range(len(x.shape))))
    count = ((n,), (True,))
    return [y, count, ((n,), (False,)), count]


def _compress(graph: Graph, node: Node) -> Outputs | None:
    x, cond = graph.values[node.inputs[0]], graph.values[node.inputs[1]]
    axis = _axis(node, len(x.shape), None)
    length = cond.size
    if axis is None:
        shape, dims = [min(length, x.size)], [True]
    else:
        shape = list(x.shape)
        shape[axis] = min(length, x.shape[axis])
        dims = [d == axis for d in range(len(x.shape))]
    if cond.is_const:  # a constant condition fixes the shape
        kept = int(np.count_nonzero(np.asarray(cond.data).reshape(-1)[:shape[dims.index(True)]]))
        shape[dims.index(True)] = kept
        return [(tuple(shape), tuple(False for _ in dims))]
    return [(tuple(shape), tuple(dims))]


def _top_k(graph: Graph, node: Node) -> Outputs | None:
    if len(node.inputs) < 2 or graph.values[node.inputs[1]].is_const:
        return None  # k is an attribute or a constant: ONNX inference knows the shape
    x = graph.values[node.inputs[0]]
    axis = _axis(node, len(x.shape), -1)
    out = (x.shape, tuple(d == axis for d in range(len(x.shape))))
    return [out, out]


def _nms(graph: Graph, node: Node) -> Outputs:
    boxes, scores = graph.values[node.inputs[0]], graph.values[node.inputs[1]]
    batches, classes, n = scores.shape
    per_class = n
    max_out = graph.const(node.input(2))
    if max_out is not None:
        limit = int(np.asarray(max_out).reshape(-1)[0]) if max_out.size else 0
        per_class = max(0, min(n, limit))
    del boxes
    return [((batches * classes * per_class, 3), (True, False))]


RULES: dict[str, Callable[[Graph, Node], Outputs | None]] = {
    "NonZero": _non_zero,
    "Unique": _unique,
    "Compress": _compress,
    "TopK": _top_k,
    "NonMaxSuppression": _nms,
}


def _inputs_known(graph: Graph, node: Node) -> bool:
    return all(not name or (name in graph.values and graph.values[name].shape is not None)
               for name in node.inputs)


def apply_bounds(graph: Graph, bounds: Mapping[str, int] | None = None) -> Graph:
    """Give data-dependent values a bound shape and ``dynamic`` flags (see the module doc)."""
    bounds = {str(k): int(v) for k, v in (bounds or {}).items()}
    for name, limit in bounds.items():
        if limit < 0:
            raise BadInput(f"bound {quote(name)}={limit} must be >= 0")
    needs = any(n.op_type in RULES and not n.domain for n in graph.nodes)
    if not needs and not bounds:
        return graph
    graph = graph.copy()
    used: set[str] = set()
    for node in graph.nodes:
        if node.domain:
            continue
        rule = RULES.get(node.op_type)
        # Applied even where the model declares a static output shape: that shape only holds
        # for the data the model was exported with.
        if rule is not None and _inputs_known(graph, node):
            shapes = rule(graph, node)
            if shapes is not None:
                _set_outputs(graph, node, shapes, bounds, used)
                continue
        _pass_through(graph, node)
    unused = sorted(set(bounds) - used)
    if unused:
        dynamic = [n for n, v in graph.values.items() if v.is_dynamic]
        raise BadInput(f"--bound names {', '.join(quote(n) for n in unused)}, which "
                       f"{'is' if len(unused) == 1 else 'are'} not the output of an op with a "
                       f"data-dependent shape",
                       hint="values with data-dependent shapes: "
                            + (", ".join(quote(n) for n in dynamic[:20]) or "none"))
    return graph


def _set_outputs(graph: Graph, node: Node, shapes: Outputs, bounds: dict[str, int],
                 used: set[str]) -> None:
    names = [o for o, s in zip(node.outputs, shapes) if o and s is not None and any(s[1])]
    limits = [bounds[n] for n in names if n in bounds]
    used.update(n for n in names if n in bounds)
    for name, spec in zip(node.outputs, shapes):
        if not name or spec is None:
            continue
        shape, dynamic = spec
        if limits:
            shape = tuple(min(d, min(limits)) if dyn else d for d, dyn in zip(shape, dynamic))
        value = graph.values[name]
        value.shape = tuple(int(d) for d in shape)
        value.dynamic = tuple(dynamic) if any(dynamic) else None


def _pass_through(graph: Graph, node: Node) -> None:
    """Propagate dynamic dims through shape-preserving ops; refuse every other consumer."""
    dynamic_in = [n for n in node.inputs + node.implicit_inputs()
                  if n and n in graph.values and graph.values[n].is_dynamic]
    if not dynamic_in:
        return
    source = graph.values[dynamic_in[0]]
    if node.op_type in PASS_THROUGH and node.inputs[0] == source.name and len(dynamic_in) == 1:
        for name in node.outputs:
            if name:
                value = graph.values[name]
                value.shape, value.dynamic = source.shape, source.dynamic
        return
    raise Unsupported(
        f"value {quote(source.name)} has a data-dependent shape (at most "
        f"{list(source.shape)}), and {node.describe()} cannot consume it",
        hint="values with data-dependent shapes (NonZero, Unique, NonMaxSuppression, Compress "
             "or TopK with run-time inputs) may be graph outputs or flow through "
             + ", ".join(sorted(PASS_THROUGH)) + "; try `-t onnxruntime`, or make the input "
             "that decides the size a constant")


__all__ = ["apply_bounds", "RULES", "PASS_THROUGH"]
