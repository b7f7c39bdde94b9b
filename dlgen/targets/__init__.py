"""Deployment targets, by name."""
from __future__ import annotations

from ..errors import TargetUnavailable
from .base import Runner, Target, TensorSpec

# Targets on the roadmap that this version cannot build yet, with what they will need.
PLANNED = {
    "tensorrt": "TensorRT engines are not implemented in this dlgen version (needs an NVIDIA GPU "
                "and the tensorrt package)",
    "cuda": "generated CUDA is not implemented in this dlgen version (needs nvcc, cuDNN, cuBLAS)",
}


def all_targets() -> dict[str, Target]:
    from .c import CTarget
    from .onnxruntime import OrtTarget

    return {t.name: t for t in (CTarget(), OrtTarget())}


def get_target(name: str) -> Target:
    targets = all_targets()
    if name in targets:
        target = targets[name]
        ok, reason = target.availability()
        if not ok:
            raise TargetUnavailable(f"target {name!r} is not available: {reason}")
        return target
    if name in PLANNED:
        raise TargetUnavailable(f"target {name!r}: {PLANNED[name]}",
                                hint=f"available targets: {', '.join(targets)}")
    raise TargetUnavailable(f"unknown target {name!r}",
                            hint=f"choose one of {', '.join(targets)} (see `dlgen targets`)")


__all__ = ["Runner", "Target", "TensorSpec", "all_targets", "get_target", "PLANNED"]
