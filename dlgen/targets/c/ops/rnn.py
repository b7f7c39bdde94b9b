"""RNN, LSTM and GRU (ONNX opsets 7 and 14) as calls to runtime/rnn.c.

One kernel call per node: sizes, direction and layout as literals, the optional inputs and
outputs as pointers or NULL. Non-default activations travel as two small C99 compound
literals (dlg_act_kind values and their alpha/beta pairs), so the generated call names the
activations it uses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..lower import NodeContext, c_literal
from ..registry import lowering
from .packing import pack_b

DIRECTIONS = {
    "forward": "DLG_RNN_FORWARD",
    "reverse": "DLG_RNN_REVERSE",
    "bidirectional": "DLG_RNN_BIDIRECTIONAL",
}


@dataclass(frozen=True)
class RnnAct:
    """An ONNX recurrent activation the runtime computes: its dlg_act kind, and the default
    alpha / beta for the functions that take them (None: the function takes no such value)."""

    kind: str
    alpha: float | None = None
    beta: float | None = None


# Keys are lower case: ONNX Runtime matches activation names case-insensitively.
RNN_ACTIVATIONS = {
    "sigmoid": RnnAct("DLG_ACT_SIGMOID"),
    "tanh": RnnAct("DLG_ACT_TANH"),
    "relu": RnnAct("DLG_ACT_RELU"),
    "leakyrelu": RnnAct("DLG_ACT_LEAKY_RELU", alpha=0.01),
    "hardsigmoid": RnnAct("DLG_ACT_HARD_SIGMOID", alpha=0.2, beta=0.5),
}

RNN_DEFAULT_ACTS = ("Tanh",)
LSTM_DEFAULT_ACTS = ("Sigmoid", "Tanh", "Tanh")
GRU_DEFAULT_ACTS = ("Sigmoid", "Tanh")
RNN_SCRATCH_PER_HIDDEN = 2    # DLG_RNN_SCRATCH in rnn.h: h and the pre-activation
LSTM_SCRATCH_PER_HIDDEN = 6   # DLG_LSTM_SCRATCH in rnn.h: h, c and 4 gates
GRU_SCRATCH_PER_HIDDEN = 5    # DLG_GRU_SCRATCH in rnn.h: h, 3 gates and a temporary


@lowering("RNN")
def rnn(ctx: NodeContext, hidden_size: int | None = None, direction: str = "forward",
        activations: Sequence[str] | None = None, activation_alpha: Sequence[float] = (),
        activation_beta: Sequence[float] = (), clip: float | None = None,
        layout: int = 0) -> None:
    x, w, r, b, lens, h0 = (ctx.input(i) for i in range(6))
    dims = _dims(ctx, x, r, hidden_size, direction, layout, gates=1)
    seq_len, batch, input_size, hidden, num_dirs = dims
    _check_shape(ctx, w, "W", (num_dirs, hidden, input_size))
    _check_common(ctx, dims, layout, b, lens, h0, gates=1)
    kinds, params = _activation_args(ctx, RNN_DEFAULT_ACTS, num_dirs, activations,
                                     activation_alpha, activation_beta)
    ctx.runtime("rnn")
    ctx.call("dlg_rnn_f32", seq_len, batch, input_size, hidden, DIRECTIONS[direction],
             int(layout), x, w, r, b, lens, h0, kinds, params, _clip(ctx, clip),
             _transposed_recurrence(ctx, r), ctx.output(0), ctx.output(1),
             ctx.scratch(RNN_SCRATCH_PER_HIDDEN * hidden))


def _transposed_recurrence(ctx: NodeContext, r: Tensor) -> Tensor | None:
    """Unless the kernels are the reference ones, and with constant weights: R with each
    direction's matrix transposed, [D, H, gates * H] (the kernels' RT), whose rows the
    recurrent products add up across all gates at once; else None (dot products along R's
    rows, the readable form)."""
    if not ctx.fast or r.data is None:
        return None
    return ctx.const("rnn_rt", np.ascontiguousarray(np.transpose(r.data, (0, 2, 1))))


def _input_projections(ctx: NodeContext, x: Tensor, w: Tensor, rows: int,
                       gates: int) -> str | None:
    """With the fast kernels and constant weights: X.W[d]^T of all steps as one packed GEMM per
    direction, into scratch [dirs, rows, gates] (the kernels' XW); else None (per-step matvecs)."""
    if ctx.kernels != "portable" or w.data is None or not x.size:
        return None
    dirs, _, input_size = w.shape
    xw = ctx.scratch(dirs * rows * gates)
    ctx.runtime("gemm")
    for d in range(dirs):
        packed = ctx.const("rnn_packed_w", pack_b(w.data[d].T))
        ctx.call("dlg_gemm_packed_f32", 0, rows, gates, input_size, x, packed, 0.0, None, 0, 0,
                 f"{xw} + {d * rows * gates}", "DLG_ACT_NONE", 0.0, 0.0)
    return xw


@lowering("LSTM")
def lstm(ctx: NodeContext, hidden_size: int | None = None, direction: str = "forward",
         activations: Sequence[str] | None = None, activation_alpha: Sequence[float] = (),
         activation_beta: Sequence[float] = (), clip: float | None = None,
         input_forget: int = 0, layout: int = 0) -> None:
    x, w, r, b, lens, h0, c0, p = (ctx.input(i) for i in range(8))
    dims = _dims(ctx, x, r, hidden_size, direction, layout, gates=4)
    seq_len, batch, input_size, hidden, num_dirs = dims
    _check_shape(ctx, w, "W", (num_dirs, 4 * hidden, input_size))
    _check_shape(ctx, p, "P", (num_dirs, 3 * hidden))
    _check_common(ctx, dims, layout, b, lens, h0, gates=4)
    _check_shape(ctx, c0, "initial_c", _state_shape(num_dirs, batch, hidden, layout))
    kinds, params = _activation_args(ctx, LSTM_DEFAULT_ACTS, num_dirs, activations,
                                     activation_alpha, activation_beta)
    ctx.runtime("rnn")
    xw = _input_projections(ctx, x, w, seq_len * batch, 4 * hidden)
    ctx.call("dlg_lstm_f32", seq_len, batch, input_size, hidden, DIRECTIONS[direction],
             int(layout), x, w, r, b, lens, h0, c0, p, kinds, params, _clip(ctx, clip),
             int(bool(input_forget)), xw, _transposed_recurrence(ctx, r), ctx.output(0),
             ctx.output(1), ctx.output(2), ctx.scratch(LSTM_SCRATCH_PER_HIDDEN * hidden))


@lowering("GRU")
def gru(ctx: NodeContext, hidden_size: int | None = None, direction: str = "forward",
        activations: Sequence[str] | None = None, activation_alpha: Sequence[float] = (),
        activation_beta: Sequence[float] = (), clip: float | None = None,
        linear_before_reset: int = 0, layout: int = 0) -> None:
    x, w, r, b, lens, h0 = (ctx.input(i) for i in range(6))
    dims = _dims(ctx, x, r, hidden_size, direction, layout, gates=3)
    seq_len, batch, input_size, hidden, num_dirs = dims
    _check_shape(ctx, w, "W", (num_dirs, 3 * hidden, input_size))
    _check_common(ctx, dims, layout, b, lens, h0, gates=3)
    kinds, params = _activation_args(ctx, GRU_DEFAULT_ACTS, num_dirs, activations,
                                     activation_alpha, activation_beta)
    ctx.runtime("rnn")
    xw = _input_projections(ctx, x, w, seq_len * batch, 3 * hidden)
    ctx.call("dlg_gru_f32", seq_len, batch, input_size, hidden, DIRECTIONS[direction],
             int(layout), x, w, r, b, lens, h0, kinds, params, _clip(ctx, clip),
             int(bool(linear_before_reset)), xw, _transposed_recurrence(ctx, r),
             ctx.output(0), ctx.output(1), ctx.scratch(GRU_SCRATCH_PER_HIDDEN * hidden))


# -- checks ----------------------------------------------------------------------------------

def _dims(ctx: NodeContext, x, r, hidden_size: int | None, direction: str, layout: int,
          gates: int) -> tuple[int, int, int, int, int]:
    """(seq_len, batch, input_size, hidden, num_directions) from X, R and the attributes."""
    if x.dtype != np.float32:
        ctx.unsupported(f"element type {x.dtype.name} is not supported (float32 needed)")
    if direction not in DIRECTIONS:
        ctx.unsupported(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    if layout not in (0, 1):
        ctx.unsupported(f"layout {layout} is not 0 or 1")
    if x.rank != 3 or r.rank != 3:
        ctx.unsupported(f"X and R must have rank 3 (got shapes {list(x.shape)} and "
                        f"{list(r.shape)})")
    hidden = int(hidden_size) if hidden_size is not None else r.shape[2]
    num_dirs = 2 if direction == "bidirectional" else 1
    seq_len, batch = (x.shape[1], x.shape[0]) if layout else (x.shape[0], x.shape[1])
    _check_shape(ctx, r, "R", (num_dirs, gates * hidden, hidden))
    return seq_len, batch, x.shape[2], hidden, num_dirs


def _check_common(ctx: NodeContext, dims, layout: int, b, lens, h0, gates: int) -> None:
    seq_len, batch, _, hidden, num_dirs = dims
    _check_shape(ctx, b, "B", (num_dirs, 2 * gates * hidden))
    _check_shape(ctx, lens, "sequence_lens", (batch,))
    if lens is not None and lens.dtype != np.int32:
        ctx.unsupported(f"sequence_lens has element type {lens.dtype.name} (int32 needed)")
    _check_shape(ctx, h0, "initial_h", _state_shape(num_dirs, batch, hidden, layout))


def _state_shape(num_dirs: int, batch: int, hidden: int, layout: int) -> tuple[int, int, int]:
    return (batch, num_dirs, hidden) if layout else (num_dirs, batch, hidden)


def _check_shape(ctx: NodeContext, t, what: str, want: tuple[int, ...]) -> None:
    if t is not None and tuple(t.shape) != tuple(want):
        ctx.unsupported(f"input {what} has shape {list(t.shape)}, expected {list(want)}")


def _clip(ctx: NodeContext, clip: float | None) -> float:
    """The kernel's clip argument: the threshold, or infinity (HUGE_VALF) for none."""
    if clip is None:
        return math.inf
    if not clip > 0:
        ctx.unsupported(f"clip {clip} must be positive")
    return float(clip)


# -- activations -----------------------------------------------------------------------------

def _activation_args(ctx: NodeContext, defaults: Sequence[str], num_dirs: int,
                     names: Sequence[str] | None, alphas: Sequence[float],
                     betas: Sequence[float]) -> tuple[str | None, str | None]:
    """(act_kind, act_params) kernel arguments: NULL, NULL for the default activations,
    else C99 compound literals listing each function's kind and (alpha, beta)."""
    names = list(defaults) * num_dirs if names is None else list(names)
    if len(names) != len(defaults) * num_dirs:
        ctx.unsupported(f"activations lists {len(names)} functions, expected "
                        f"{len(defaults) * num_dirs} ({len(defaults)} per direction)")
    alphas, betas = list(alphas or ()), list(betas or ())
    kinds, params = [], []
    for name in names:
        act = RNN_ACTIVATIONS.get(name.lower())
        if act is None:
            ctx.unsupported(f"activation {name!r} is not supported; the C target computes "
                            f"Sigmoid, Tanh, Relu, LeakyRelu and HardSigmoid")
        alpha, beta = _take(alphas, act.alpha), _take(betas, act.beta)
        kinds.append(act.kind)
        params += [alpha, beta]
    if kinds == [RNN_ACTIVATIONS[n.lower()].kind for n in defaults] * num_dirs:
        return None, None  # Sigmoid and Tanh take no parameters
    float_list = ", ".join(c_literal(float(v)) for v in params)
    return f"(const int[]){{{', '.join(kinds)}}}", f"(const float[]){{{float_list}}}"


def _take(values: list[float], default: float | None) -> float:
    """A function's alpha (or beta): the next value of the attribute's list, else the default.
    Each list is consumed in order by the functions that take that parameter only."""
    if default is None:
        return 0.0  # the function takes no such parameter
    return values.pop(0) if values else default
