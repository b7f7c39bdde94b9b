"""The C lowering registry: ONNX op -> a Python function that emits kernel calls.

A lowering is registered with a decorator and receives the lowering context first and the
node's attributes as keyword arguments, named like the ONNX attributes with the spec defaults:

    @lowering("LeakyRelu", inplace=True)
    def leaky_relu(ctx, alpha=0.01): ...

``inplace=True`` lets the memory planner give output 0 the buffer of input 0 when that
input dies at this node and the sizes match.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from ...errors import Unsupported


@dataclass(frozen=True)
class Lowering:
    op_type: str
    domain: str
    fn: Callable
    inplace: bool = False

    def accepts(self) -> set[str]:
        params = list(inspect.signature(self.fn).parameters.values())[1:]
        return {p.name for p in params}


_REGISTRY: dict[tuple[str, str], Lowering] = {}


def lowering(*op_types: str, domain: str = "", inplace: bool = False):
    """Register ``fn`` as the C lowering of ``op_types`` in ``domain``."""

    def register(fn: Callable) -> Callable:
        for op in op_types:
            key = (domain, op)
            if key in _REGISTRY:
                raise RuntimeError(f"duplicate C lowering for {domain or 'ai.onnx'}::{op}")
            _REGISTRY[key] = Lowering(op, domain, fn, inplace=inplace)
        return fn

    return register


def find(domain: str, op_type: str) -> Lowering | None:
    _load_all()
    return _REGISTRY.get(("" if domain == "ai.onnx" else domain, op_type))


def supported_ops() -> list[tuple[str, str]]:
    _load_all()
    return sorted(_REGISTRY)


def check_supported(graph) -> None:
    """Raise Unsupported listing every node the C target cannot lower (all at once)."""
    from ...text import quote

    missing = []
    for node in graph.nodes:
        if find(node.domain, node.op_type) is None:
            domain = node.domain or "ai.onnx"
            opset = graph.opsets.get(node.domain, graph.opset if not node.domain else 1)
            missing.append(f"  node {quote(node.name or '<unnamed>')}: op {node.op_type}, "
                           f"domain {domain}, opset {opset}")
    if missing:
        ops = sorted({line.split("op ")[1].split(",")[0] for line in missing})
        raise Unsupported(
            f"the C target cannot lower {len(missing)} node(s) using {', '.join(ops)}:\n"
            + "\n".join(missing),
            hint="run `dlgen targets` for the supported op list, or try `-t onnxruntime`")


def _load_all() -> None:
    from . import ops  # noqa: F401  (importing registers every op family)
