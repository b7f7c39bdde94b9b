"""Einsum as one call to a generic kernel over the equation's index space (runtime/einsum.c).

Python parses the equation (explicit or implicit output, ellipsis broadcasting, repeated
letters for diagonals) into loop dimensions, output letters first then summed letters, and
a stride per operand and loop dimension; the kernel only walks that index space.
"""
from __future__ import annotations

import string

import numpy as np

from ..lower import NodeContext, Tensor
from ..registry import lowering
from .broadcast import contiguous_strides

MAX_DIMS = 16    # DLG_EINSUM_MAX_DIMS in einsum.h
MAX_INPUTS = 8   # DLG_EINSUM_MAX_INPUTS
SUFFIXES = {"float32": ("f32", "float"), "float64": ("f64", "double"),
            "bfloat16": ("bf16", "uint16_t")}  # bfloat16 is stored as its bits
ELLIPSIS = "..."


def _expand_ellipsis(ctx: NodeContext, term: str, rank: int, width: int) -> list[str]:
    """An operand's letters, its ellipsis replaced by its last dims of the broadcast ellipsis
    (named by digits '0'.. so they never clash with letters)."""
    letters = term.replace(ELLIPSIS, "")
    if not all(c in string.ascii_letters for c in letters) or term.count(ELLIPSIS) > 1:
        ctx.unsupported(f"bad einsum term {term!r}")
    if ELLIPSIS not in term:
        if len(letters) != rank:
            ctx.unsupported(f"term {term!r} has {len(letters)} letters for rank {rank}")
        return list(letters)
    e = rank - len(letters)
    if e < 0:
        ctx.unsupported(f"term {term!r} has more letters than rank {rank}")
    head, tail = term.split(ELLIPSIS)
    return list(head) + [str(i) for i in range(width - e, width)] + list(tail)


def parse_equation(ctx: NodeContext, equation: str, ranks: list[int]) -> tuple[list, list]:
    """(letters per operand, output letters), the ellipsis expanded."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        ctx.unsupported(f"equation {equation!r} has {len(terms)} operands, the node "
                        f"{len(ranks)}")
    width = max([r - len(t.replace(ELLIPSIS, "")) for t, r in zip(terms, ranks)
                 if ELLIPSIS in t] or [0])
    operands = [_expand_ellipsis(ctx, t, r, width) for t, r in zip(terms, ranks)]
    ellipsis = [str(i) for i in range(width)]
    if arrow:
        output = _expand_ellipsis(ctx, rhs, len(rhs.replace(ELLIPSIS, "")) + width, width) \
            if ELLIPSIS in rhs else list(rhs)
    else:  # implicit: the ellipsis, then letters seen once, alphabetically
        counts = {}
        for letter in "".join("".join(op) for op in operands):
            counts[letter] = counts.get(letter, 0) + 1
        output = ellipsis + sorted(c for c, n in counts.items() if n == 1 and c.isalpha())
    if len(set(output)) != len(output):
        ctx.unsupported(f"output letters of {equation!r} repeat")
    return operands, output


def _loop_sizes(ctx: NodeContext, inputs: list[Tensor], operands: list) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for t, letters in zip(inputs, operands):
        for letter, size in zip(letters, t.shape):
            old = sizes.get(letter, 1)
            if letter.isdigit() and 1 in (old, size):
                sizes[letter] = max(old, size)  # the ellipsis broadcasts
            elif letter in sizes and old != size:
                ctx.unsupported(f"letter {letter!r} has sizes {old} and {size}")
            else:
                sizes[letter] = size
    return sizes


@lowering("Einsum")
def einsum(ctx: NodeContext, equation: str = "") -> None:
    inputs, y = [t for t in ctx.inputs if t is not None], ctx.output(0)
    if y.dtype.name not in SUFFIXES or any(t.dtype != y.dtype for t in inputs):
        ctx.unsupported(f"element type {y.dtype.name} is not supported (float32, float64 or bfloat16)")
    if not 1 <= len(inputs) <= MAX_INPUTS:
        ctx.unsupported(f"{len(inputs)} operands (1 to {MAX_INPUTS} supported)")
    operands, output = parse_equation(ctx, equation, [t.rank for t in inputs])
    sizes = _loop_sizes(ctx, inputs, operands)
    if any(letter not in sizes for letter in output):
        ctx.unsupported(f"an output letter of {equation!r} appears in no operand")
    summed = [letter for letter in sizes if letter not in output]
    loop = output + summed
    if len(loop) > MAX_DIMS:
        ctx.unsupported(f"{len(loop)} distinct indices (at most {MAX_DIMS})")
    if tuple(y.shape) != tuple(sizes[letter] for letter in output):
        ctx.unsupported(f"output shape {y.shape} differs from the equation's "
                        f"{tuple(sizes[letter] for letter in output)}")
    strides = np.zeros((len(inputs), max(len(loop), 1)), dtype=np.int64)
    for k, (t, letters) in enumerate(zip(inputs, operands)):
        for letter, size, stride in zip(letters, t.shape, contiguous_strides(t.shape)):
            if size == sizes[letter]:  # a broadcast size-1 ellipsis dim keeps stride 0
                strides[k, loop.index(letter)] += stride
    suffix, ctype = SUFFIXES[y.dtype.name]
    table = np.array([sizes[letter] for letter in loop] or [1], dtype=np.int64)
    pointers = ", ".join(ctx.ref(t) for t in inputs)
    ctx.runtime("einsum", "half")  # einsum.c includes half.h
    ctx.call(f"dlg_einsum_{suffix}", len(inputs), len(output), len(summed),
             ctx.const("einsum_sizes", table), ctx.const("einsum_strides", strides),
             f"(const {ctype} *const[]){{{pointers}}}", y)
