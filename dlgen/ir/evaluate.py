"""A reference evaluator for dlgen's IR: run a Graph node by node in numpy.

Standard-domain nodes run through ``onnx.reference.ReferenceEvaluator`` on a one-node model
(built once per node and cached); dlgen's fused nodes (domain "dlgen", e.g. ``FusedConv``) run
as their base op followed by their activation, applied here in numpy.

Pass tests compare ``evaluate(after_pass)`` with ONNX Runtime on the original model, and
per-node verification uses ``keep_all=True`` to see every intermediate value.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

from ..errors import BadInput, Unsupported
from .graph import Graph, Node
from .onnx_io import _attr_to_proto

FUSED_DOMAIN = "dlgen"

# Domains onnx.reference implements ("" is the default ONNX domain).
REFERENCE_DOMAINS = ("", "ai.onnx.ml")

# Fused op type -> the standard op it wraps.
FUSED_BASE_OPS = {"FusedConv": "Conv", "FusedGemm": "Gemm", "FusedMatMul": "MatMul"}

# float32's largest value: how an absent Clip bound is written in ``activation_params``.
FLOAT32_MAX = 3.4028234663852886e38


def _clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(x.astype(np.float64), lo, hi)


def _hard_sigmoid(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    return np.clip(alpha * x.astype(np.float64) + beta, 0.0, 1.0)


def _hard_swish(x: np.ndarray) -> np.ndarray:
    return x * _hard_sigmoid(x, 1.0 / 6.0, 0.5)


# Activation name -> f(x, *activation_params); results are cast back to x's dtype.
ACTIVATIONS: dict[str, Callable[..., np.ndarray]] = {
    "Relu": lambda x: np.maximum(x, 0),
    "LeakyRelu": lambda x, alpha: np.where(x >= 0, x, x * alpha),
    "Sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "Tanh": np.tanh,
    "Clip": _clip,
    "HardSigmoid": _hard_sigmoid,
    "HardSwish": _hard_swish,
}


def apply_activation(x: np.ndarray, activation: str, params: list[float]) -> np.ndarray:
    """Apply a fused node's activation (one of ``ACTIVATIONS``) to its base op's output."""
    if activation not in ACTIVATIONS:
        raise Unsupported(f"unknown fused activation '{activation}'",
                          hint=f"known activations: {', '.join(ACTIVATIONS)}")
    with np.errstate(over="ignore"):
        return np.asarray(ACTIVATIONS[activation](x, *params)).astype(x.dtype)


# -- one standard node through onnx.reference ------------------------------------------------

# id(node) -> (weakref to the node, signature it was built for, evaluator)
_CACHE: dict[int, tuple[weakref.ref, tuple, ReferenceEvaluator]] = {}


def _attr_signature(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", id(value), value.shape, value.dtype.str)
    if isinstance(value, list):
        return tuple(_attr_signature(v) for v in value)
    if isinstance(value, (onnx.GraphProto, Graph)):
        return ("graph", id(value))
    return value


def _signature(node: Node, opsets: dict[str, int]) -> tuple:
    attrs = tuple(sorted((k, _attr_signature(v)) for k, v in node.attrs.items()))
    return (node.op_type, node.domain, tuple(node.inputs), tuple(node.outputs),
            node.implicit_inputs(), attrs, tuple(sorted(opsets.items())))


def _one_node_model(node: Node, opsets: dict[str, int]) -> onnx.ModelProto:
    proto = helper.make_node(node.op_type, node.inputs, node.outputs, domain=node.domain or None)
    proto.attribute.extend(_attr_to_proto(k, v) for k, v in node.attrs.items())
    names = list(dict.fromkeys(n for n in node.inputs + node.implicit_inputs() if n))
    inputs = [helper.make_empty_tensor_value_info(n) for n in names]
    outputs = [helper.make_empty_tensor_value_info(n) for n in node.outputs if n]
    graph = helper.make_graph([proto], "node", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v)
                                                   for d, v in opsets.items()])


def _evaluator(node: Node, opsets: dict[str, int]) -> ReferenceEvaluator:
    key = _signature(node, opsets)
    hit = _CACHE.get(id(node))
    if hit is not None and hit[0]() is node and hit[1] == key:
        return hit[2]
    evaluator = ReferenceEvaluator(_one_node_model(node, opsets))
    ident = id(node)
    _CACHE[ident] = (weakref.ref(node, lambda _ref: _CACHE.pop(ident, None)), key, evaluator)
    return evaluator


def _node_opsets(graph: Graph, node: Node) -> dict[str, int]:
    opsets = dict(graph.opsets)
    opsets[""] = graph.opset
    opsets.pop(FUSED_DOMAIN, None)
    if node.domain:
        opsets.setdefault(node.domain, 1)
    return opsets


def _run_standard(graph: Graph, node: Node, env: dict[str, np.ndarray]) -> list[Any]:
    if node.domain not in REFERENCE_DOMAINS:
        raise Unsupported(f"cannot evaluate ops of domain '{node.domain}'",
                          where=node.describe(),
                          hint="only standard ONNX ops and dlgen fused ops are evaluated")
    evaluator = _evaluator(node, _node_opsets(graph, node))
    feeds = {name: env[name] for name in evaluator.input_names}
    return list(evaluator.run(None, feeds))


def _run_fused(graph: Graph, node: Node, env: dict[str, np.ndarray]) -> list[Any]:
    base_op = FUSED_BASE_OPS.get(node.op_type)
    if base_op is None:
        raise Unsupported(f"unknown dlgen op '{node.op_type}'", where=node.describe())
    attrs = {k: v for k, v in node.attrs.items() if k not in ("activation", "activation_params")}
    base = _fused_base_node(node, base_op, attrs)
    (y,) = _run_standard(graph, base, env)
    y = np.asarray(y)
    if node.op_type == "FusedConv" and node.input(3):  # residual Z, before the activation
        y = (y + env[node.input(3)]).astype(y.dtype)
    if not node.attrs.get("activation"):
        return [y]
    return [apply_activation(y, node.attrs["activation"],
                             list(node.attrs.get("activation_params", [])))]


# The base node of each fused node, kept so that its evaluator cache entry stays alive.
_BASE_OF: dict[int, tuple[weakref.ref, Node]] = {}


def _fused_base_node(node: Node, base_op: str, attrs: dict[str, Any]) -> Node:
    inputs = list(node.inputs[:3]) if base_op == "Conv" else list(node.inputs)  # not Z
    hit = _BASE_OF.get(id(node))
    if hit is not None and hit[0]() is node and hit[1].attrs == attrs \
            and hit[1].inputs == inputs and hit[1].outputs == node.outputs:
        return hit[1]
    base = Node(base_op, inputs, list(node.outputs), attrs, node.name, "")
    ident = id(node)
    _BASE_OF[ident] = (weakref.ref(node, lambda _ref: _BASE_OF.pop(ident, None)), base)
    return base


def run_node(graph: Graph, node: Node, env: dict[str, np.ndarray]) -> list[Any]:
    """Outputs of one node (one entry per output name) given the values it reads in ``env``."""
    if node.domain == FUSED_DOMAIN:
        return _run_fused(graph, node, env)
    return _run_standard(graph, node, env)


# -- whole graphs ------------------------------------------------------------------------------

def _initial_env(graph: Graph, feeds: dict[str, np.ndarray]) -> dict[str, Any]:
    missing = [name for name in graph.inputs if name not in feeds]
    if missing:
        raise BadInput(f"missing graph input(s): {', '.join(missing)}",
                       hint=f"the graph's inputs are: {', '.join(graph.inputs)}")
    env: dict[str, Any] = {name: v.data for name, v in graph.values.items() if v.is_const}
    env.update({name: np.asarray(feeds[name]) for name in graph.inputs})
    return env


def evaluate(graph: Graph, feeds: dict[str, np.ndarray], *,
             keep_all: bool = False) -> dict[str, np.ndarray]:
    """Run ``graph`` on ``feeds``; return its outputs, or every value when ``keep_all``."""
    env = _initial_env(graph, feeds)
    for node in graph.nodes:
        results = run_node(graph, node, env)
        for name, result in zip(node.outputs, results):
            if name:
                env[name] = np.asarray(result) if isinstance(result, np.generic) else result
    if keep_all:
        return env
    return {name: env[name] for name in graph.outputs}
