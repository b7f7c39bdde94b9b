"""Comparing a target's outputs with ONNX Runtime's, and making test inputs."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ir import Graph


@dataclass
class OutputCheck:
    name: str
    shape: tuple[int, ...]
    max_abs_err: float
    max_rel_err: float
    mismatches: int
    ok: bool


@dataclass
class NodeCheck:
    """The first intermediate value that diverges from the reference, in execution order."""

    node: str
    op: str
    check: OutputCheck


@dataclass
class VerifyReport:
    target: str
    atol: float
    rtol: float
    outputs: list[OutputCheck] = field(default_factory=list)
    nodes_compared: int | None = None       # set by per-node verification
    first_divergence: NodeCheck | None = None

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outputs)


def compare(name: str, got: np.ndarray, ref: np.ndarray, *, atol: float,
            rtol: float) -> OutputCheck:
    """Elementwise |got - ref| <= atol + rtol * |ref| (NaN matches NaN; shapes must agree).

    The reported relative error is |got - ref| / max(|ref|, atol): values of the reference
    below atol count by their absolute error, so an output near zero does not report an
    astronomically large relative error."""
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        return OutputCheck(name, tuple(got.shape), float("inf"), float("inf"), got.size, False)
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(r)
    same_inf = np.isinf(g) & np.isinf(r) & (np.sign(g) == np.sign(r))
    diff = np.where(both_nan | same_inf, 0.0, np.abs(g - r))
    diff = np.where(np.isnan(diff), np.inf, diff)
    bad = diff > atol + rtol * np.abs(np.nan_to_num(r))
    rel = diff / np.maximum(np.abs(np.nan_to_num(r)), max(atol, np.finfo(np.float32).tiny))
    return OutputCheck(name, tuple(got.shape), float(diff.max(initial=0.0)),
                       float(rel.max(initial=0.0)), int(bad.sum()), not bad.any())


def random_inputs(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs of the right dtypes and shapes; integer inputs stay valid as Gather indices."""
    rng = np.random.default_rng(seed)
    feeds = {}
    consumers = graph.consumers()
    for name in graph.inputs:
        v = graph.values[name]
        if v.dtype.kind == "f":
            feeds[name] = rng.standard_normal(v.shape).astype(v.dtype)
        elif v.dtype == np.bool_:
            feeds[name] = rng.random(v.shape) < 0.5
        else:
            high = _index_bound(graph, name, consumers)
            feeds[name] = rng.integers(0, high, size=v.shape).astype(v.dtype)
    return feeds


def _index_bound(graph: Graph, name: str, consumers) -> int:
    """Largest safe exclusive bound for an integer input used as indices (10 otherwise)."""
    bound = 10
    for node in consumers.get(name, []):
        if node.op_type == "Gather" and node.input(1) == name:
            data = graph.values.get(node.input(0))
            if data is not None and data.shape is not None:
                axis = int(node.attrs.get("axis", 0))
                bound = min(bound if bound != 10 else data.shape[axis], data.shape[axis])
    return max(bound, 1)


def reference_intermediates(model, names: list[str], feeds: dict[str, np.ndarray]
                            ) -> dict[str, np.ndarray]:
    """ONNX Runtime's values for ``names`` (those it can expose as outputs)."""
    import onnx

    from .frontend import infer_shapes, load_model
    from .targets.onnxruntime import OrtRunner

    m = infer_shapes(load_model(model))
    typed = {v.name: v for v in list(m.graph.value_info) + list(m.graph.output)}
    present = {o.name for o in m.graph.output}
    wanted = [n for n in names if n in typed and n not in present]
    m.graph.output.extend(onnx.helper.make_tensor_value_info(
        n, typed[n].type.tensor_type.elem_type, None) for n in wanted)
    with OrtRunner(m) as ref:
        values = ref.run(feeds)
    return {n: values[n] for n in names if n in values}


def first_divergence(probes: list[dict], got: dict[str, np.ndarray], want: dict[str, np.ndarray],
                     *, atol: float, rtol: float) -> tuple[int, NodeCheck | None]:
    """(values compared, the first probe in execution order that differs, or None)."""
    compared = 0
    for p in probes:
        name = p["name"]
        if name not in got or name not in want:
            continue
        compared += 1
        check = compare(name, got[name], want[name], atol=atol, rtol=rtol)
        if not check.ok:
            return compared, NodeCheck(p["node"], p["op"], check)
    return compared, None
