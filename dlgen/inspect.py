"""`dlgen inspect`: what a model contains and how each target would handle it."""
from __future__ import annotations

from dataclasses import dataclass, field

from .analysis import summarize
from .compiler import build_graph
from .errors import DlgenError
from .targets.c import registry
from .targets.c.lower import lower
from .targets.c.plan import plan


@dataclass
class Inspection:
    inputs: list[dict]
    outputs: list[dict]
    imported: dict
    compiled: dict
    c_support: dict = field(default_factory=dict)
    ort_support: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)


def inspect_model(model, *, input_shapes=None, planner: str = "greedy") -> Inspection:
    raw = build_graph(model, input_shapes=input_shapes, fuse=False).graph
    graph = build_graph(model, input_shapes=input_shapes, fuse=True).graph
    io = lambda names: [{"name": n, "dtype": graph.values[n].dtype.name,  # noqa: E731
                         "shape": list(graph.values[n].shape)} for n in names]
    result = Inspection(io(graph.inputs), io(graph.outputs), summarize(raw), summarize(graph))
    missing = sorted({(n.domain or "ai.onnx", n.op_type) for n in graph.nodes
                      if registry.find(n.domain, n.op_type) is None})
    result.c_support = {"supported": not missing,
                        "missing_ops": [f"{d}::{op}" for d, op in missing]}
    if not missing:
        try:
            layout = plan(lower(graph), planner)
            result.memory = {"planner": planner, "arena_bytes": layout.arena_bytes,
                             "arena_lower_bound_bytes": layout.arena_lower_bound_bytes,
                             "plan": layout.planner.dump()}
        except DlgenError as exc:
            result.c_support = {"supported": False, "reason": exc.message}
    result.ort_support = _ort_support(model)
    return result


def _ort_support(model) -> dict:
    """Whether ONNX Runtime (CPU) accepts the model: a session is created, nothing is run."""
    from .targets.onnxruntime import OrtRunner

    try:
        OrtRunner(model)
    except DlgenError as exc:
        return {"supported": False, "reason": exc.message}
    return {"supported": True}
