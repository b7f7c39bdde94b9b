"""Random ops: RandomUniform(Like), RandomNormal(Like) and Bernoulli, as calls to
runtime/random.c (a Philox4x32-10 counter-based generator).

The values can never equal another runtime's (each runtime has its own generator); what the
C target guarantees is documented in docs/GENERATED_C.md, "Random numbers":
* an op with a ``seed`` attribute produces the same values on every call and every platform
  (key = the seed's float32 bit pattern, a reserved stream);
* an op without one draws a fresh stream from the model's RNG state (a reserved arena slot,
  ``ctx.rng_state()``), so every call gives new values; ``<prefix>_seed`` resets it.

The output element type is the inferred one (the ``dtype`` attribute, or the input's type for
the *Like ops and Bernoulli), so the lowering reads it from the output tensor.
"""
from __future__ import annotations

import numpy as np

from ..lower import NodeContext
from ..registry import lowering

# numpy dtype name -> dlg_rng_type enumerator
_RNG_TYPES = {
    "float32": "DLG_RNG_F32", "float64": "DLG_RNG_F64",
    "float16": "DLG_RNG_F16", "bfloat16": "DLG_RNG_BF16",
    "int8": "DLG_RNG_I8", "int16": "DLG_RNG_I16", "int32": "DLG_RNG_I32", "int64": "DLG_RNG_I64",
    "uint8": "DLG_RNG_U8", "uint16": "DLG_RNG_U16", "uint32": "DLG_RNG_U32",
    "uint64": "DLG_RNG_U64", "bool": "DLG_RNG_BOOL",
}
_FLOAT_TYPES = ("float32", "float64", "float16", "bfloat16")


def seed_key(seed: float) -> int:
    """The Philox key of a ``seed`` attribute: the bit pattern of the seed as float32."""
    return int(np.array(seed, np.float32).view(np.uint32))


def _stream_args(ctx: NodeContext, seed: float | None) -> tuple[str, str]:
    """(state, seed_key) arguments: the model's RNG state, or NULL and the seed's key."""
    if seed is None:
        return ctx.rng_state(), "UINT64_C(0)"
    return "NULL", f"UINT64_C({seed_key(seed)})"


def _rng_type(ctx: NodeContext, dtype: np.dtype, what: str, allowed=tuple(_RNG_TYPES)) -> str:
    if dtype.name not in allowed:
        ctx.unsupported(f"{what} element type {dtype.name} is not supported "
                        f"(one of {', '.join(allowed)})")
    return _RNG_TYPES[dtype.name]


def _double(x: float) -> str:
    return repr(float(x))


def _draw(ctx: NodeContext, kernel: str, a: float, b: float, seed: float | None) -> None:
    """Fill the output with ``kernel``'s distribution of parameters (a, b)."""
    y = ctx.output(0)
    y_type = _rng_type(ctx, y.dtype, "output", _FLOAT_TYPES)
    state, key = _stream_args(ctx, seed)
    ctx.runtime("random", "half")  # random.c includes half.h
    ctx.call(kernel, y.size, state, key, _double(a), _double(b), y_type, y)


@lowering("RandomUniform", "RandomUniformLike")
def random_uniform(ctx: NodeContext, dtype: int | None = None, high: float = 1.0,
                   low: float = 0.0, seed: float | None = None, shape=None):
    _draw(ctx, "dlg_random_uniform", low, high, seed)


@lowering("RandomNormal", "RandomNormalLike")
def random_normal(ctx: NodeContext, dtype: int | None = None, mean: float = 0.0,
                  scale: float = 1.0, seed: float | None = None, shape=None):
    _draw(ctx, "dlg_random_normal", mean, scale, seed)


@lowering("Bernoulli")
def bernoulli(ctx: NodeContext, dtype: int | None = None, seed: float | None = None):
    p, y = ctx.input(0), ctx.output(0)
    p_type = _rng_type(ctx, p.dtype, "input", _FLOAT_TYPES)
    y_type = _rng_type(ctx, y.dtype, "output")
    state, key = _stream_args(ctx, seed)
    ctx.runtime("random", "half")  # random.c includes half.h
    ctx.call("dlg_bernoulli", y.size, state, key, p_type, p, y_type, y)
