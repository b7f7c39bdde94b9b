"""Graph passes: standalone ``Graph -> Graph`` transformations, one per module, and pipelines.

* ``simplify``: RemoveIdentity, FoldShapes, FoldConstants, InlineConstantIf,
  InferControlFlowShapes, EliminateDeadCode, repeated until
  the graph stops changing (node count and number of statically shaped values), 10 rounds at most.
* ``fuse``: FoldBatchNorm, MatMulAddToGemm, FuseResidual, FuseActivation, then
  EliminateDeadCode.
* ``optimize``: ``fuse(simplify(graph))``, what targets run before lowering.

Every pass logs what it skips or rejects at debug level on the ``dlgen.passes`` logger.
"""
from __future__ import annotations

from ..ir import Graph
from .base import Pass, log
from .control_flow_shapes import InferControlFlowShapes
from .convert_float16 import ConvertFloat16
from .eliminate_dead_code import EliminateDeadCode
from .fold_batchnorm import FoldBatchNorm
from .fold_constants import FoldConstants
from .fold_shapes import FoldShapes
from .fuse_activation import FuseActivation
from .fuse_residual import FuseResidual
from .inline_constant_if import InlineConstantIf
from .matmul_add_to_gemm import MatMulAddToGemm
from .remove_identity import RemoveIdentity

__all__ = [
    "Pass", "EliminateDeadCode", "FoldBatchNorm", "FoldConstants", "FoldShapes",
    "FuseActivation", "FuseResidual", "MatMulAddToGemm", "RemoveIdentity", "InlineConstantIf",
    "InferControlFlowShapes", "ConvertFloat16", "PRECISIONS", "set_precision",
    "run_passes", "simplify", "fuse", "optimize",
]

MAX_SIMPLIFY_ROUNDS = 10


def run_passes(graph: Graph, passes: list[Pass]) -> Graph:
    """Run ``passes`` in order, each on the previous one's result."""
    for p in passes:
        graph = p(graph)
    return graph


def _progress(graph: Graph) -> tuple[int, int]:
    shaped = sum(1 for v in graph.values.values() if v.shape is not None)
    return len(graph.nodes), shaped


def simplify(graph: Graph) -> Graph:
    """Remove no-ops, fold shapes and constants and drop dead code until nothing changes."""
    passes = [RemoveIdentity(), FoldShapes(), FoldConstants(), InlineConstantIf(),
              InferControlFlowShapes(), EliminateDeadCode()]
    for _ in range(MAX_SIMPLIFY_ROUNDS):
        before = _progress(graph)
        graph = run_passes(graph, passes)
        if _progress(graph) == before:
            break
    else:
        log.debug("simplify: stopped after %d rounds, graph still changing", MAX_SIMPLIFY_ROUNDS)
    return graph


def fuse(graph: Graph) -> Graph:
    """Fold BatchNorm, turn MatMul+Add into Gemm, fuse residual adds and activations, then
    drop dead code."""
    return run_passes(graph, [FoldBatchNorm(), MatMulAddToGemm(), FuseResidual(),
                              FuseActivation(), EliminateDeadCode()])


PRECISIONS = ("fp32", "fp16")


def set_precision(graph: Graph, precision: str | None) -> Graph:
    """``fp16``: ConvertFloat16 (compute in float16, I/O types kept); ``fp32``/None: unchanged."""
    return ConvertFloat16()(graph) if precision == "fp16" else graph


def optimize(graph: Graph) -> Graph:
    return fuse(simplify(graph))
