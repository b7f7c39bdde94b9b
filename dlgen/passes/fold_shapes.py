"""FoldShapes: turn shape computations on static shapes into constants.

Matches:
* ``Shape`` (with opset-15 ``start``/``end``) and ``Size`` of a value whose shape is fully
  static: the node goes, its output becomes an int64 constant. FoldConstants then folds the
  Gather/Concat/Unsqueeze/Slice/Cast/... chains that PyTorch exports build on top of them.
* ``Reshape`` with a constant shape input and ``Expand`` with a constant shape input whose
  output value has no shape yet: the output shape is computed (Reshape: 0 copies the input
  dim unless ``allowzero``, -1 is inferred) so that later passes and lowering see it.

Nodes whose input shape is unknown are left as they are (logged at debug level).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Value
from .base import Pass, log


def shape_slice(shape: tuple[int, ...], start: int = 0, end: int | None = None) -> tuple[int, ...]:
    """``Shape``'s output for a static ``shape`` (negative bounds count from the end, clamped)."""
    rank = len(shape)
    end = rank if end is None else end
    start = min(max(start + rank if start < 0 else start, 0), rank)
    end = min(max(end + rank if end < 0 else end, 0), rank)
    return tuple(shape[start:end])


def reshape_shape(in_shape: tuple[int, ...], target: np.ndarray,
                  allowzero: bool) -> tuple[int, ...]:
    """The output shape of ``Reshape(x, target)``; raises ValueError when it is invalid."""
    dims = [int(d) for d in np.asarray(target).reshape(-1)]
    if not allowzero:
        dims = [in_shape[i] if d == 0 and i < len(in_shape) else d for i, d in enumerate(dims)]
    if dims.count(-1) > 1:
        raise ValueError(f"more than one -1 in reshape target {dims}")
    total = int(np.prod(in_shape, dtype=np.int64))
    if -1 in dims:
        known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
        if known == 0 or total % known:
            raise ValueError(f"cannot infer -1 in {dims} for {total} elements")
        dims[dims.index(-1)] = total // known
    if int(np.prod(dims, dtype=np.int64)) != total or any(d < 0 for d in dims):
        raise ValueError(f"cannot reshape {list(in_shape)} to {dims}")
    return tuple(dims)


def _static_shape(graph: Graph, name: str) -> tuple[int, ...] | None:
    value = graph.values.get(name)
    return None if value is None else value.shape


def _fold_shape_op(graph: Graph, node: Node) -> np.ndarray | None:
    shape = _static_shape(graph, node.input(0))
    if shape is None:
        log.debug("fold-shapes: keeping %s: input shape is not static", node.describe())
        return None
    if node.op_type == "Size":
        return np.asarray(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    start, end = node.attrs.get("start", 0), node.attrs.get("end")
    return np.asarray(shape_slice(shape, start, end), dtype=np.int64)


def _output_shape(graph: Graph, node: Node) -> tuple[int, ...] | None:
    """The static output shape of a Reshape/Expand with a constant shape input, if computable."""
    in_shape, target = _static_shape(graph, node.input(0)), graph.const(node.input(1))
    if in_shape is None or target is None:
        return None
    try:
        if node.op_type == "Reshape":
            return reshape_shape(in_shape, target, bool(node.attrs.get("allowzero", 0)))
        return tuple(np.broadcast_shapes(in_shape, tuple(int(d) for d in target.reshape(-1))))
    except ValueError as exc:
        log.debug("fold-shapes: no output shape for %s: %s", node.describe(), exc)
        return None


def _set_output_shape(graph: Graph, node: Node) -> None:
    out = node.outputs[0]
    value = graph.values.get(out)
    if value is not None and value.shape is not None:
        return
    shape = _output_shape(graph, node)
    if shape is None:
        return
    source = graph.values.get(node.input(0))
    dtype = value.dtype if value is not None and value.dtype is not None else source.dtype
    graph.values[out] = Value(out, dtype, shape)


class FoldShapes(Pass):
    name = "fold-shapes"

    def run(self, graph: Graph) -> Graph:
        graph = graph.copy()
        kept = []
        for node in graph.nodes:
            if node.domain == "" and node.op_type in ("Shape", "Size"):
                data = _fold_shape_op(graph, node)
                if data is not None:
                    out = node.outputs[0]
                    graph.values[out] = Value(out, np.int64, data=data)
                    continue
            elif node.domain == "" and node.op_type in ("Reshape", "Expand"):
                _set_output_shape(graph, node)
            kept.append(node)
        graph.nodes = kept
        return graph
