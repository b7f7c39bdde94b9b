"""FuseActivation: fold an activation into the Conv, Gemm or MatMul that feeds it.

Pattern: ``y = Act(Base(...))`` with Base one of Conv, Gemm, MatMul (standard domain) or a
FusedConv without activation (a residual Conv from FuseResidual), and Act one of Relu,
LeakyRelu, Sigmoid, Tanh, Clip, HardSigmoid, HardSwish.

Check: the Base output is not a graph output and Act is its only consumer; Clip's bounds are
constants or absent (inputs from opset 11, attributes before).

Rewrite: one node in domain "dlgen", op ``FusedConv``/``FusedGemm``/``FusedMatMul``, with the
Base's name, inputs and attributes plus ``activation`` (the Act op name) and
``activation_params`` (LeakyRelu: [alpha]; Clip: [min, max], an absent bound written as
-/+ float32 max; HardSigmoid: [alpha, beta]; others []). It writes Act's output; the
intermediate value goes. This is ONNX Runtime's com.microsoft FusedConv convention.
``dlgen.ir.evaluate`` evaluates these nodes. Rejected matches are logged at debug level.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from ..ir.evaluate import ACTIVATIONS, FLOAT32_MAX, FUSED_DOMAIN
from .base import Pass, log

FUSED_OPS = {"Conv": "FusedConv", "Gemm": "FusedGemm", "MatMul": "FusedMatMul"}


def _clip_bound(graph: Graph, act: Node, index: int, attr: str, default: float) -> float | str:
    """One Clip bound as a float, or why it is not a constant."""
    if graph.opset < 11:
        return float(act.attrs.get(attr, default))
    name = act.input(index)
    if not name:
        return default
    data = graph.const(name)
    if data is None:
        return f"Clip {attr} is not a constant"
    if data.size != 1:
        return f"Clip {attr} has {data.size} elements"
    return float(np.asarray(data).reshape(-1)[0])


def activation_params(graph: Graph, act: Node) -> list[float] | str:
    """The ``activation_params`` of ``act``, or why it cannot be fused."""
    op = act.op_type
    if op == "LeakyRelu":
        return [float(act.attrs.get("alpha", 0.01))]
    if op == "HardSigmoid":
        return [float(act.attrs.get("alpha", 0.2)), float(act.attrs.get("beta", 0.5))]
    if op == "Clip":
        lo = _clip_bound(graph, act, 1, "min", -FLOAT32_MAX)
        hi = _clip_bound(graph, act, 2, "max", FLOAT32_MAX)
        for bound in (lo, hi):
            if isinstance(bound, str):
                return bound
        return [max(lo, -FLOAT32_MAX), min(hi, FLOAT32_MAX)]
    return []


def _check(graph: Graph, base: Node) -> Node | str:
    """The activation that consumes ``base``, or why there is nothing to fuse."""
    out = base.outputs[0]
    users = graph.consumers().get(out, [])
    if not any(u.op_type in ACTIVATIONS and not u.domain for u in users):
        return ""  # no activation to fuse: nothing worth logging
    if len(users) != 1:
        return f"output has {len(users)} consumers"
    if out in graph.outputs:
        return "output is a graph output"
    if users[0].input(0) != out:
        return "output is not the activation's data input"
    return users[0]


def _fused_node(base: Node, act: Node, params: list[float]) -> Node:
    attrs = dict(base.attrs, activation=act.op_type, activation_params=params)
    op = base.op_type if base.domain == FUSED_DOMAIN else FUSED_OPS[base.op_type]
    return Node(op, list(base.inputs), [act.outputs[0]], attrs, base.name, FUSED_DOMAIN)


def _is_base(node: Node) -> bool:
    """A standard Conv/Gemm/MatMul, or a FusedConv (residual) that has no activation yet."""
    if not node.domain:
        return node.op_type in FUSED_OPS
    return (node.domain == FUSED_DOMAIN and node.op_type == "FusedConv"
            and not node.attrs.get("activation"))


class FuseActivation(Pass):
    name = "fuse-activation"

    def run(self, graph: Graph) -> Graph:
        graph = graph.copy()
        for base in [n for n in graph.nodes if _is_base(n)]:
            act = _check(graph, base)
            params = activation_params(graph, act) if isinstance(act, Node) else act
            if isinstance(params, str):
                if params:
                    log.debug("%s: not fusing %s: %s", self.name, base.describe(), params)
                continue
            fused = _fused_node(base, act, params)
            graph.values.pop(base.outputs[0], None)
            graph.nodes = [fused if n is base else n for n in graph.nodes if n is not act]
            graph.opsets.setdefault(FUSED_DOMAIN, 1)
        return graph
