"""DFT and STFT as calls to runtime/signal.c: a direct transform over a twiddle table that
Python computes once (in float64) and ships as a constant."""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext, Tensor
from ..registry import lowering


def twiddles(ctx: NodeContext, n_fft: int) -> Tensor:
    """(cos, sin) of 2*pi*m/n_fft for m < n_fft, as a [n_fft, 2] float64 table."""
    angle = 2.0 * np.pi * np.arange(n_fft) / n_fft
    return ctx.const("dft_twiddles", np.stack([np.cos(angle), np.sin(angle)], axis=1))


def _scalar(ctx: NodeContext, i: int, what: str) -> int | None:
    data = ctx.const_input(i, what)
    if data is None:
        return None
    if np.size(data) != 1:
        ctx.unsupported(f"{what} must be a scalar, got shape {np.shape(data)}")
    return int(np.asarray(data).reshape(-1)[0])


def _check_float32(ctx: NodeContext, x: Tensor) -> None:
    if x.dtype != np.float32:
        ctx.unsupported(f"element type {x.dtype.name} is not supported (float32 needed)")


def _check_shape(ctx: NodeContext, y: Tensor, want: tuple, hint: str = "") -> None:
    if tuple(y.shape) != tuple(want):
        ctx.unsupported(f"output shape {y.shape} does not match the computed shape {want}"
                        + hint)


@lowering("DFT")
def dft(ctx: NodeContext, axis: int | None = None, inverse: int = 0, onesided: int = 0) -> None:
    x, y = ctx.input(0), ctx.output(0)
    _check_float32(ctx, x)
    if ctx.program.graph.opset >= 20:
        axis = _scalar(ctx, 2, "axis")
        axis = -2 if axis is None else axis
    elif axis is None:
        axis = 1
    rank = x.rank
    if rank < 2 or x.shape[-1] not in (1, 2):
        ctx.unsupported(f"input shape {x.shape}: the last dimension must be 1 (real) "
                        f"or 2 (complex)")
    if not -rank <= axis < rank:
        ctx.unsupported(f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    if axis == rank - 1:
        ctx.unsupported("axis must not be the last (real/imaginary) dimension")
    x_len, x_cplx = x.shape[axis], x.shape[-1]
    hermitian = bool(onesided and inverse)
    if hermitian and x_cplx != 2:
        ctx.unsupported("the inverse one-sided DFT (IRFFT) needs complex input")
    n_fft = _scalar(ctx, 1, "dft_length")
    if n_fft is None:
        n_fft = 2 * (x_len - 1) if hermitian else x_len
    if n_fft < 1:
        ctx.unsupported(f"dft_length {n_fft} must be positive")
    if hermitian:
        y_len, y_cplx = n_fft, 1
    else:
        y_len, y_cplx = (n_fft // 2 + 1 if onesided else n_fft), 2
    _check_shape(ctx, y, x.shape[:axis] + (y_len,) + x.shape[axis + 1:-1] + (y_cplx,))
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1:-1], dtype=np.int64))
    ctx.runtime("signal")
    ctx.call("dlg_dft_f32", outer, inner, x, x_len, x_cplx, y, y_len, y_cplx, n_fft,
             twiddles(ctx, n_fft), int(bool(inverse)), int(hermitian))


@lowering("STFT")
def stft(ctx: NodeContext, onesided: int = 1) -> None:
    x, window, y = ctx.input(0), ctx.input(2), ctx.output(0)
    _check_float32(ctx, x)
    if x.rank != 3 or x.shape[-1] not in (1, 2):
        ctx.unsupported(f"signal shape {x.shape}: expected [batch, length, 1 or 2]")
    batch, signal_len, x_cplx = x.shape
    step = _scalar(ctx, 1, "frame_step")
    frame_length = _scalar(ctx, 3, "frame_length")
    if window is not None:
        _check_float32(ctx, window)
        if window.rank != 1:
            ctx.unsupported(f"window must be 1-D, got shape {window.shape}")
        if frame_length is not None and frame_length != window.shape[0]:
            ctx.unsupported(f"frame_length {frame_length} differs from the window length "
                            f"{window.shape[0]}")
        frame_length = window.shape[0]
    if frame_length is None:
        ctx.unsupported("either a window or frame_length is needed")
    if step is None or step < 1 or not 1 <= frame_length <= signal_len:
        ctx.unsupported(f"frame_step {step} and frame_length {frame_length} must be positive "
                        f"and the frame no longer than the signal ({signal_len})")
    if onesided and x_cplx == 2:
        ctx.unsupported("a one-sided STFT needs a real signal (onesided=1 with complex input)")
    frames = (signal_len - frame_length) // step + 1
    bins = frame_length // 2 + 1 if onesided else frame_length
    _check_shape(ctx, y, (batch, frames, bins, 2),
                 f" (onesided={onesided}; ONNX shape inference wrongly takes an absent onesided "
                 f"attribute as 0: set onesided explicitly)")
    frame = ctx.scratch(frame_length * x_cplx, np.float32)
    ctx.runtime("signal")
    ctx.call("dlg_stft_f32", batch, frames, step, x, signal_len, x_cplx, window, frame_length,
             y, bins, twiddles(ctx, frame_length), frame)
