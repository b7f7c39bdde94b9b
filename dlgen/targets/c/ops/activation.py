"""Fused activation epilogues: (activation, activation_params) attrs -> kernel arguments."""
from __future__ import annotations

from typing import Sequence

from ..lower import NodeContext

ACT_KINDS = {
    None: "DLG_ACT_NONE",
    "Relu": "DLG_ACT_RELU",
    "LeakyRelu": "DLG_ACT_LEAKY_RELU",
    "Sigmoid": "DLG_ACT_SIGMOID",
    "Tanh": "DLG_ACT_TANH",
    "Clip": "DLG_ACT_CLIP",
    "HardSigmoid": "DLG_ACT_HARD_SIGMOID",
    "HardSwish": "DLG_ACT_HARD_SWISH",
}


def act_args(ctx: NodeContext, activation: str | None, params: Sequence[float]) -> list:
    """[kind, a, b] for a kernel call; refuses activations the runtime does not know."""
    if activation not in ACT_KINDS:
        ctx.unsupported(f"fused activation {activation!r} is not supported")
    p = [float(v) for v in params] + [0.0, 0.0]
    return [ACT_KINDS[activation], p[0], p[1]]
