"""Conversion between ONNX ModelProto and dlgen's Graph.

``from_onnx`` expects a model whose functions are already inlined (the frontend does that);
shapes come from the model's value_info, inputs and outputs (run shape inference first).
``to_onnx`` writes a standard model back, used for shape re-inference, the reference runner
and targets that consume ONNX.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, helper, numpy_helper

from . import dtypes
from .graph import Graph, Node, Value

DEFAULT_DOMAINS = ("", "ai.onnx")


def _static_shape(type_proto: onnx.TypeProto) -> tuple[int, ...] | None:
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    dims = []
    for d in type_proto.tensor_type.shape.dim:
        if d.HasField("dim_value") and d.dim_value >= 0:
            dims.append(int(d.dim_value))
        else:
            return None
    return tuple(dims)


def _attr_value(attr: AttributeProto) -> Any:
    if attr.type == AttributeProto.TENSOR:
        return numpy_helper.to_array(attr.t)
    if attr.type == AttributeProto.TENSORS:
        return [numpy_helper.to_array(t) for t in attr.tensors]
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8", errors="replace") for v in value]
    if attr.type in (AttributeProto.INTS, AttributeProto.FLOATS):
        return list(value)
    return value


def from_onnx(model: onnx.ModelProto) -> Graph:
    g = model.graph
    values: dict[str, Value] = {}

    def declare(info: onnx.ValueInfoProto) -> None:
        if not info.type.HasField("tensor_type"):
            return
        elem = info.type.tensor_type.elem_type
        if elem == 0:
            return
        values[info.name] = Value(info.name, dtypes.from_onnx(elem), _static_shape(info.type))

    for info in list(g.input) + list(g.value_info) + list(g.output):
        if info.name not in values or values[info.name].shape is None:
            declare(info)
    for init in g.initializer:
        values[init.name] = Value(init.name, dtypes.from_onnx(init.data_type),
                                  data=numpy_helper.to_array(init))
    init_names = {i.name for i in g.initializer}

    nodes = []
    for n in g.node:
        attrs = {a.name: _attr_value(a) for a in n.attribute}
        domain = "" if n.domain in DEFAULT_DOMAINS else n.domain
        if domain == "" and n.op_type == "Constant":
            nodes.append(Node("Constant", list(n.input), list(n.output), attrs, n.name, domain))
            continue
        nodes.append(Node(n.op_type, list(n.input), list(n.output), attrs, n.name, domain))
        for out in n.output:
            if out and out not in values:
                values[out] = Value(out, None, None)  # type unknown until inferred

    opsets = {("" if o.domain in DEFAULT_DOMAINS else o.domain): int(o.version)
              for o in model.opset_import}
    graph = Graph(
        nodes=nodes,
        inputs=[i.name for i in g.input if i.name not in init_names],
        outputs=[o.name for o in g.output],
        values=values,
        opset=opsets.get("", 1),
        name=g.name or "model",
        opsets=opsets,
    )
    return graph


def _attr_to_proto(name: str, value: Any) -> AttributeProto:
    if isinstance(value, np.ndarray):
        return helper.make_attribute(name, numpy_helper.from_array(value))
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        return helper.make_attribute(name, [numpy_helper.from_array(v) for v in value])
    if isinstance(value, (np.integer,)):
        value = int(value)
    if isinstance(value, (np.floating,)):
        value = float(value)
    return helper.make_attribute(name, value)


def _value_info(value: Value) -> onnx.ValueInfoProto:
    shape = list(value.shape) if value.shape is not None else None
    if shape is not None and value.is_dynamic:  # data-dependent dims: only bounded, unknown
        shape = [None if dyn else d for d, dyn in zip(shape, value.dynamic)]
    return helper.make_tensor_value_info(value.name, dtypes.to_onnx(value.dtype), shape)


def to_onnx(graph: Graph, *, with_value_info: bool = True) -> onnx.ModelProto:
    """A standard ONNX model for ``graph``; dlgen-domain (fused) nodes are written as they are."""
    nodes = []
    for n in graph.nodes:
        proto = helper.make_node(n.op_type, n.inputs, n.outputs, name=n.name or None,
                                 domain=n.domain or None)
        proto.attribute.extend(_attr_to_proto(k, v) for k, v in n.attrs.items())
        nodes.append(proto)
    consts = graph.constants
    read = {name for n in graph.nodes for name in n.inputs + n.implicit_inputs()}
    initializers = [numpy_helper.from_array(v.data, name) for name, v in consts.items()
                    if name in read or name in graph.outputs]
    inputs = [_value_info(graph.values[n]) for n in graph.inputs]
    outputs = [_value_info(graph.values[n]) for n in graph.outputs]
    io = set(graph.inputs) | set(graph.outputs)
    value_info = []
    if with_value_info:
        value_info = [_value_info(v) for k, v in graph.values.items()
                      if k not in io and not v.is_const and v.dtype is not None]
    g = helper.make_graph(nodes, graph.name, inputs, outputs, initializers, value_info=value_info)
    opsets = dict(graph.opsets) or {"": graph.opset}
    opsets[""] = graph.opset
    for n in graph.nodes:
        opsets.setdefault(n.domain, 1)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = min(model.ir_version, 10)
    return model
