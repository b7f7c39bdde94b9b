"""Numpy-style broadcasting, reduced to the fewest loop dims for generated code."""
from __future__ import annotations

import numpy as np


def contiguous_strides(shape: tuple[int, ...]) -> list[int]:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return strides[::-1]


def broadcast_strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """Element strides of an operand of ``shape`` read in ``out``'s index space (0 = repeat)."""
    padded = (1,) * (len(out) - len(shape)) + tuple(shape)
    strides = contiguous_strides(padded)
    return [0 if d == 1 and o != 1 else s for d, o, s in zip(padded, out, strides)]


def collapse(out: tuple[int, ...], *operand_strides: list[int]):
    """Drop size-1 dims and merge neighbours that every operand walks contiguously.

    Returns (dims, [strides per operand]) with at least one dim.
    """
    dims: list[int] = []
    strides: list[list[int]] = [[] for _ in operand_strides]
    for axis, d in enumerate(out):
        if d == 1:
            continue
        mergeable = dims and all(s[-1] == st[axis] * d for s, st in zip(strides, operand_strides))
        if mergeable:
            dims[-1] *= d
            for s, st in zip(strides, operand_strides):
                s[-1] = st[axis]
        else:
            dims.append(d)
            for s, st in zip(strides, operand_strides):
                s.append(st[axis])
    if not dims:
        return [1], [[0] for _ in operand_strides]
    return dims, strides


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(d) for d in np.broadcast_shapes(*shapes))
