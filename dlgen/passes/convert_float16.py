"""ConvertFloat16: compute in float16, keeping the graph's input and output types.

What it converts: every standard-domain node whose floating-point inputs and outputs are all
float32, unless its op is on the block list. Its float32 constant inputs get float16 copies
(values beyond float16's range are clipped to +-65504; the count is logged), and its float32
outputs become float16.

What stays float32, with Cast nodes at the borders:
* graph inputs and outputs keep their types: a Cast to float16 follows an input that converted
  nodes read, and a Cast back to float32 writes each converted graph output under its own name;
* ops on the block list: precision-sensitive ops (exponentials, logarithms, powers, softmax,
  normalizations, reductions that sum many terms, cumulative sums), ops with float inputs that are
  not the data type T (Resize scales, RoiAlign boxes...), ops whose output type is an attribute
  (Cast, ConstantOfShape, Random*, EyeLike...), quantization ops, and control flow;
* nodes of other domains (dlgen's fused ops, com.microsoft) and nodes with float64 or already
  float16 tensors;
* the producers of values that a subgraph (If/Loop/Scan body) reads from the outer scope.

Targets consume the result like any graph: ONNX Runtime runs float16 where it has kernels and
casts around the rest; TensorRT takes the precision from the graph. ``block`` replaces the
default block list; ``extra_block`` adds to it.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from onnx import TensorProto

from ..ir import Graph, Node
from .base import Pass, log
from .eliminate_dead_code import EliminateDeadCode

PRECISION_SENSITIVE = frozenset({
    "Exp", "Log", "Pow", "Softmax", "LogSoftmax", "Softplus", "Erf",
    "ReduceSum", "ReduceMean", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "CumSum",
    "LayerNormalization", "GroupNormalization", "InstanceNormalization", "LpNormalization",
    "MeanVarianceNormalization", "RMSNormalization",
})
# Ops with float inputs that are not the data type, or whose output type an attribute sets.
MIXED_TYPES = frozenset({
    "Resize", "Upsample", "RoiAlign", "NonMaxSuppression", "TopK", "Range",
    "Cast", "CastLike", "ConstantOfShape", "Constant", "EyeLike",
    "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial",
    "Bernoulli", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
    "If", "Loop", "Scan",
})
DEFAULT_BLOCK_LIST = PRECISION_SENSITIVE | MIXED_TYPES
FP16_MAX = 65504.0
_F32, _F16 = np.dtype(np.float32), np.dtype(np.float16)


class ConvertFloat16(Pass):
    name = "convert_float16"

    def __init__(self, block: frozenset[str] | None = None, extra_block=()):
        self.block = frozenset(DEFAULT_BLOCK_LIST if block is None else block) | set(extra_block)

    def run(self, graph: Graph) -> Graph:
        g = graph.copy()
        converted = self._convertible(g)
        if not converted:
            log.debug("%s: no node to convert", self.name)
            return graph
        rewriter = _Rewriter(g, converted)
        for index, node in enumerate(g.nodes):
            rewriter.visit(index, node)
        g.nodes = rewriter.nodes
        log.debug("%s: %d of %d nodes in float16, %d casts", self.name, len(converted),
                  len(graph.nodes), rewriter.casts)
        return EliminateDeadCode()(g)

    def _convertible(self, g: Graph) -> set[int]:
        outer_reads = {name for n in g.nodes for name in n.implicit_inputs()}
        chosen = set()
        for index, node in enumerate(g.nodes):
            why = self._reject(g, node, outer_reads)
            if why:
                log.debug("%s: keeps %s in float32: %s", self.name, node.describe(), why)
            else:
                chosen.add(index)
        return chosen

    def _reject(self, g: Graph, node: Node, outer_reads: set[str]) -> str | None:
        if node.domain not in ("", "ai.onnx"):
            return f"domain {node.domain!r}"
        if node.op_type in self.block:
            return "on the block list"
        if any(isinstance(v, Graph) or hasattr(v, "node") for v in node.attrs.values()):
            return "has a subgraph"
        if any(out in outer_reads for out in node.outputs):
            return "a subgraph reads its output"
        floats = [g.values[n].dtype for n in node.inputs + node.outputs
                  if n and g.values.get(n) is not None and g.values[n].dtype is not None
                  and g.values[n].dtype.kind == "f"]
        if not floats:
            return "no float tensor"
        if any(d != _F32 for d in floats):
            return "has float tensors other than float32"
        return None


class _Rewriter:
    """Builds the new node list: converted nodes read float16 names, borders get Casts."""

    def __init__(self, g: Graph, converted: set[int]):
        self.g = g
        self.converted = converted
        self.nodes: list[Node] = []
        self.half: set[str] = set()             # values now float16
        self.to_half: dict[str, str] = {}       # float32 value -> its float16 twin
        self.to_float: dict[str, str] = {}      # float16 value -> its float32 twin
        self.casts = 0

    def visit(self, index: int, node: Node) -> None:
        if index in self.converted:
            node.inputs = [self._half_input(x) for x in node.inputs]
            self.nodes.append(node)
            self._half_outputs(node)
        else:
            node.inputs = [self._float_input(x) for x in node.inputs]
            self.nodes.append(node)

    def _is_f32(self, name: str) -> bool:
        v = self.g.values.get(name) if name else None
        return v is not None and v.dtype == _F32

    def _half_input(self, name: str) -> str:
        if not self._is_f32(name) or name in self.half:
            return name
        if name not in self.to_half:
            value = self.g.values[name]
            if value.is_const:
                self.to_half[name] = self.g.add_const(name + "_fp16", _to_half(name, value.data))
            else:
                self.to_half[name] = self._cast(name, name + "_fp16", TensorProto.FLOAT16)
        return self.to_half[name]

    def _float_input(self, name: str) -> str:
        if name not in self.half:
            return name
        if name not in self.to_float:
            self.to_float[name] = self._cast(name, name + "_fp32", TensorProto.FLOAT)
        return self.to_float[name]

    def _half_outputs(self, node: Node) -> None:
        for i, out in enumerate(node.outputs):
            if not self._is_f32(out):
                continue
            if out in self.g.outputs:        # keep the output's name and type: cast back
                half = self.g.unique_name(out + "_fp16")
                self.g.values[half] = dataclasses.replace(self.g.values[out], name=half,
                                                          dtype=_F16)
                node.outputs[i] = half
                self.half.add(half)
                self.to_half[out] = half
                self._cast(half, out, TensorProto.FLOAT, fresh=False)
            else:
                self.g.values[out] = dataclasses.replace(self.g.values[out], dtype=_F16)
                self.half.add(out)

    def _cast(self, src: str, dst: str, to: int, *, fresh: bool = True) -> str:
        if fresh:
            dst = self.g.unique_name(dst)
            dtype = _F16 if to == TensorProto.FLOAT16 else _F32
            self.g.values[dst] = dataclasses.replace(self.g.values[src], name=dst, dtype=dtype,
                                                     data=None)
        self.nodes.append(Node("Cast", [src], [dst], {"to": to}, name=dst + "_cast"))
        self.casts += 1
        return dst


def _to_half(name: str, data: np.ndarray) -> np.ndarray:
    clipped = int(np.count_nonzero(np.abs(data) > FP16_MAX))
    if clipped:
        log.debug("convert_float16: %d values of %s beyond float16's range, clipped", clipped,
                  name)
    return np.clip(data, -FP16_MAX, FP16_MAX).astype(np.float16)
