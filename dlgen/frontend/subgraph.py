"""Control-flow bodies (If branches, Loop and Scan bodies) as static-shaped dlgen Graphs.

The IR keeps a body as the ONNX ``GraphProto`` attribute of its node. A body may read values
of the enclosing graphs ("captures"). ``body_graph`` turns a body into a standalone Graph:

* its inputs are the body's formal inputs (typed by the caller from the op's semantics: a
  Loop's iteration number, a Scan's slices...) followed by its captures, in sorted order;
* ONNX shape inference runs with the outer types known, captured constants given as data;
* the ``simplify`` passes run (capture data folds like any constant), and every value must
  end up with a static shape, else ShapeError says which.

Captures stay graph inputs (carrying their constant data when the outer value has some), so a
consumer can map them back to the outer values, and no constant is duplicated.

``loop_can_stop_early`` decides whether a Loop may end before its trip count, which makes its
scan outputs' length data-dependent.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import ShapeError
from ..ir import Graph, Value, from_onnx
from ..ir import dtypes
from ..ir.graph import subgraph_free_names
from ..text import quote

# Captured constants up to this size are given to ONNX inference as data (shape-like values).
_INFER_DATA_BYTES = 64 * 1024


def captures(body: onnx.GraphProto) -> list[str]:
    """Outer-scope names ``body`` reads, sorted (the order of the extra graph inputs)."""
    return sorted(subgraph_free_names(body))


def _info(name: str, dtype, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtypes.to_onnx(dtype),
                                         None if shape is None else list(shape))


def body_graph(body: onnx.GraphProto, formals: Sequence[tuple[np.dtype, tuple] | None],
               outer: Mapping[str, Value], opsets: Mapping[str, int], what: str) -> Graph:
    """``body`` as a static-shaped Graph; ``formals[k]`` types formal input k (None: as declared).

    ``outer`` maps outer-scope names to their Values; ``what`` names the body in errors
    (e.g. "the body of Loop 'l1'").
    """
    from ..passes import simplify  # the passes import the frontend
    from .shapes import infer_shapes, reinfer, require_static

    proto = onnx.GraphProto()
    proto.CopyFrom(body)
    if len(formals) != len(body.input):
        raise ShapeError(f"{what} declares {len(body.input)} inputs, the op gives it "
                         f"{len(formals)}", hint="the model is invalid; re-export it")
    for info, formal in zip(proto.input, formals):
        if formal is not None:
            info.CopyFrom(_info(info.name, *formal))
    names = captures(body)
    for name in names:
        value = outer.get(name)
        if value is None or value.dtype is None or value.shape is None:
            raise ShapeError(f"{what} reads outer value {quote(name)} whose type or shape is "
                             f"unknown", hint="bind every dynamic input with --input-shape")
        if value.data is not None and value.data.nbytes <= _INFER_DATA_BYTES:
            proto.initializer.append(numpy_helper.from_array(np.asarray(value.data), name))
        else:
            proto.input.append(_info(name, value.dtype, value.shape))
    model = helper.make_model(proto, opset_imports=[helper.make_opsetid(d, v)
                                                    for d, v in opsets.items()])
    model.ir_version = min(model.ir_version, 10)
    graph = from_onnx(infer_shapes(model))
    graph.opsets = dict(opsets)
    graph.inputs = [i.name for i in body.input] + names
    for name in names:  # captures: graph inputs that carry the outer constant data, if any
        value = outer[name]
        graph.values[name] = Value(name, value.dtype, value.shape, value.data)
    graph.name = body.name or "body"
    graph = simplify(graph)
    if any(v.shape is None or v.dtype is None for v in graph.values.values()):
        graph = simplify(reinfer(graph))
    try:
        require_static(graph)
    except ShapeError as exc:
        raise ShapeError(f"{what}: {exc.message}", hint=exc.hint) from exc
    return graph


def _through_identity(graph: Graph, name: str) -> str:
    producers = graph.producers()
    while name in producers and producers[name].op_type == "Identity":
        name = producers[name].inputs[0]
    return name


def loop_can_stop_early(body: Graph, cond_init: np.ndarray | None, has_cond: bool) -> bool:
    """Whether a Loop with this (converted) body may stop before its trip count.

    It cannot when the initial condition is absent or a constant true and the body's condition
    output is a constant true or (through Identity nodes) its condition input.
    """
    if has_cond and (cond_init is None or not bool(np.asarray(cond_init).reshape(-1)[0])):
        return True
    out = _through_identity(body, body.outputs[0])
    if out == body.inputs[1]:
        return False
    data = body.const(out)
    return data is None or not bool(np.asarray(data).reshape(-1)[0])


# -- the ops' formal inputs and output shapes ------------------------------------------------

def _typed(values: Mapping[str, Value], name: str) -> tuple[np.dtype, tuple] | None:
    value = values.get(name) if name else None
    if value is None or value.dtype is None or value.shape is None:
        return None
    return value.dtype, value.shape


def loop_formals(values: Mapping[str, Value], node) -> list[tuple[np.dtype, tuple] | None]:
    """A Loop body's formal inputs: iteration number, condition, then the carried values."""
    scalar = [(np.dtype(np.int64), ()), (np.dtype(np.bool_), ())]
    return scalar + [_typed(values, n) for n in node.inputs[2:]]


def _axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


class ScanSpec:
    """A Scan node's layout (opset 9+): states, scan inputs/outputs with axes and directions."""

    def __init__(self, node, values: Mapping[str, Value]):
        attrs = node.attrs
        self.num_scan = int(attrs["num_scan_inputs"])
        self.num_states = len(node.inputs) - self.num_scan
        scans = node.inputs[self.num_states:]
        self.in_axes = list(attrs.get("scan_input_axes") or [0] * self.num_scan)
        self.in_dirs = list(attrs.get("scan_input_directions") or [0] * self.num_scan)
        self.num_scan_out = len(node.outputs) - self.num_states
        self.out_axes = list(attrs.get("scan_output_axes") or [0] * self.num_scan_out)
        self.out_dirs = list(attrs.get("scan_output_directions") or [0] * self.num_scan_out)
        self.in_types = [_typed(values, n) for n in scans]
        self.length = None
        for k, typed in enumerate(self.in_types):
            if typed is not None:
                self.in_axes[k] = _axis(self.in_axes[k], len(typed[1]))
                self.length = typed[1][self.in_axes[k]]

    def formals(self, values: Mapping[str, Value], node) -> list:
        states = [_typed(values, n) for n in node.inputs[:self.num_states]]
        slices = [None if t is None else (t[0], t[1][:a] + t[1][a + 1:])
                  for t, a in zip(self.in_types, self.in_axes)]
        return states + slices

    def out_shape(self, k: int, slice_shape: tuple) -> tuple:
        """The shape of scan output ``k`` whose per-step slice has ``slice_shape``."""
        axis = _axis(self.out_axes[k], len(slice_shape) + 1)
        return slice_shape[:axis] + (self.length,) + slice_shape[axis:]
