"""Control flow: If, Loop and Scan, their bodies compiled to C inline.

A body (an ONNX subgraph attribute) becomes a static-shaped Graph (frontend/subgraph.py: the
outer shapes and constants known, the simplify passes run) and is lowered recursively into a
nested Program: same registry, same lowerings. The nested program has its own memory plan,
placed in one scratch buffer of the control-flow node, so nested code never mallocs. Its steps
are emitted inline in a C block (templates/c/ops/control.c.j2):

    if (cond[0] != 0) { <then> } else { <else> }
    for (i = 0; i < M && keep; ++i) { { <body> } keep = cond_out; memcpy(state, next); }

Nested C locals carry a prefix per body ("b0_", "b0_b1_"...), so they never clash with the
enclosing function's locals, which the body reads directly:

* the body's formal inputs and captures (outer values it reads) are graph inputs of the nested
  graph; their pointer locals are initialized from the parent's (captures count as uses of the
  outer values at the node, so the parent plan keeps them alive, plan.py);
* the body's outputs are written straight to where the node wants them (an If's outputs, a
  Loop's next state or its scan output at row i...), or copied there at the end of the block;
* the body's compile-time constants are lifted into the enclosing program: file-scope arrays.

Loop-carried values are double-buffered: the body reads the current state (the Loop's output
buffer) and writes the next state to scratch, copied back after each iteration. Scan outputs
need a static length: a constant trip count and a condition that cannot stop the loop early
(absent or constant true, and the body's condition output is constant true or passes its
condition input through). Scan (opset 9+) runs over its inputs' static sequence length, any
axes and directions: axis-0 slices are read and written in place, other axes through
dlg_slice_get / dlg_slice_put (runtime_c/src/ref/control.c).

Refused: sequence/optional values, If branches whose output shapes differ, carried values that
change shape, scan outputs of a loop that may stop early, data-dependent (dynamic) shapes in or
around a body, Scan-8 (batched, sequence_lens).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....errors import ShapeError
from ....frontend.subgraph import ScanSpec, body_graph, loop_can_stop_early, loop_formals
from ....ir import Graph
from .. import emit
from ..lower import NodeContext, Program, Tensor, c_literal, lower
from ..plan import Layout, declarations, plan
from ..registry import lowering

TEMPLATE = "ops/control.c.j2"


@dataclass
class Body:
    """A body lowered into a nested program, and planned."""

    graph: Graph
    program: Program
    layout: Layout
    region: str  # the parent's scratch buffer holding the body's arena ("" when it needs none)
    what: str

    def output(self, k: int) -> Tensor:
        return self.program.tensors[self.graph.outputs[k]]

    def input(self, k: int) -> Tensor | None:
        return self.program.tensors.get(self.graph.inputs[k])


def _describe(ctx: NodeContext, attr: str) -> str:
    return f"{attr} of {ctx.node.op_type} {ctx.node.name or '<unnamed>'}"


def _opsets(graph: Graph) -> dict[str, int]:
    return {**graph.opsets, "": graph.opset}


def _check_tensors(ctx: NodeContext) -> None:
    """Refuse sequence/optional values and data-dependent shapes around the node."""
    for name in list(ctx.node.inputs) + list(ctx.node.outputs) + ctx.node.implicit_inputs():
        if not name:
            continue
        t = ctx.program.tensors.get(name)
        if t is None:
            value = ctx.program.graph.values.get(name)
            if value is None or value.dtype is None:
                ctx.unsupported(f"value '{name}' is not a tensor: sequence types are not "
                                f"supported by the C target")
            ctx.unsupported(f"value '{name}' has element type {value.dtype}, which the C "
                            f"target cannot store")
        if t.is_dynamic:
            ctx.unsupported(f"value '{name}' has a data-dependent shape; control flow over "
                            f"dynamic shapes is not supported")


def lower_body(ctx: NodeContext, attr: str, formals: list) -> Body:
    """Convert, lower and plan the body in attribute ``attr`` with typed ``formals``."""
    parent = ctx.program
    what = _describe(ctx, attr)
    try:
        graph = body_graph(ctx.node.attrs[attr], formals, parent.graph.values,
                           _opsets(parent.graph), what)
    except ShapeError as exc:
        ctx.unsupported(exc.message)
    prefix = f"{parent.prefix}b{parent.bodies}_"
    parent.bodies += 1
    program = lower(graph, prefix=prefix)
    if program.dims_used or any(t.is_dynamic for t in program.tensors.values()):
        ctx.unsupported(f"{what} has values with data-dependent shapes, which control flow "
                        f"does not support")
    parent.runtime_modules |= program.runtime_modules
    parent.rng_state |= program.rng_state  # the model's RNG state is a top-level local
    program.rng_state = False
    layout = plan(program)
    region = ctx.scratch(layout.arena_bytes, np.uint8) if layout.arena_bytes else ""
    _lift_constants(parent, program, layout)
    return Body(graph, program, layout, region, what)


def _lift_constants(parent: Program, program: Program, layout: Layout) -> None:
    """The body's used constants become constants of the enclosing program (file scope)."""
    for name, t in program.tensors.items():
        if layout.storage.get(name) == "const" and name in _used(program, layout):
            key = parent.graph.unique_name(f"{program.prefix}{name}")
            parent.graph.values[key] = program.graph.values[name]
            parent.tensors[key] = Tensor(key, t.var, t.dtype, t.shape, t.data)
            parent.used.add(key)


def _used(program: Program, layout: Layout) -> set[str]:
    used = set(program.used)
    for name in list(used):
        while name in layout.roots:
            name = layout.roots[name]
            used.add(name)
    return used


def body_code(ctx: NodeContext, body: Body, inputs: dict[int, str],
              outputs: dict[int, str]) -> str:
    """The C block of a body: ``inputs[k]``/``outputs[k]`` are the C pointer expressions of
    body input/output k. Captures read the parent's locals."""
    program, layout, graph = body.program, body.layout, body.graph
    used = _used(program, layout)
    params: dict[str, str] = {}
    for k, name in enumerate(graph.inputs):
        if name not in used:
            continue
        if k < len(inputs):
            params[name] = inputs[k]
        else:  # a capture: the enclosing program's value of the same name
            params[name] = ctx.ref(ctx.program.tensors[name])
    for pos, name in enumerate(graph.outputs):
        if program.direct_outputs.get(name) == pos:
            params[name] = outputs[pos]
    const_expr = {n: "" for n, kind in layout.storage.items() if kind == "const"}
    decls = [d for d in declarations(program, layout, params, const_expr, base=body.region)
             if layout.storage.get(d.note) != "const"]
    copies = [(outputs[pos], program.tensors[name].var, program.tensors[name].nbytes)
              for pos, name in program.output_copies]
    return emit.render_macro(TEMPLATE, "block", decls=decls, steps=program.steps,
                             copies=copies)


def _sink(ctx: NodeContext, t: Tensor | None, like: Tensor) -> str:
    """Where a body output goes: the node's output ``t``, or scratch when it is omitted."""
    if t is not None:
        return ctx.ref(t)
    return ctx.scratch(like.size, like.dtype)


def _check_same(ctx: NodeContext, what: str, got: Tensor, want: Tensor | None) -> None:
    if want is not None and (got.shape != want.shape or got.dtype != want.dtype):
        ctx.unsupported(f"{what} is {got.dtype} {list(got.shape)} but the node's value is "
                        f"{want.dtype} {list(want.shape)} (shapes that change need dynamic "
                        f"shapes, which control flow does not support)")


# -- If ---------------------------------------------------------------------------------------

@lowering("If")
def if_(ctx: NodeContext, then_branch=None, else_branch=None) -> None:
    _check_tensors(ctx)
    cond = ctx.input(0)
    codes = []
    for attr in ("then_branch", "else_branch"):
        body = lower_body(ctx, attr, [])
        if len(body.graph.outputs) != len(ctx.outputs):
            ctx.unsupported(f"{body.what} has {len(body.graph.outputs)} outputs, the node "
                            f"{len(ctx.outputs)}")
        sinks = {}
        for k, out in enumerate(ctx.outputs):
            _check_same(ctx, f"output {k} of the {attr}", body.output(k), out)
            sinks[k] = _sink(ctx, out, body.output(k))
        codes.append(body_code(ctx, body, {}, sinks))
    ctx.emit(TEMPLATE, "if_else", cond=ctx.ref(cond), then_code=codes[0], else_code=codes[1])


# -- Loop -------------------------------------------------------------------------------------

def _scalar_expr(ctx: NodeContext, t: Tensor | None, default: str) -> str:
    if t is None:
        return default
    if t.data is not None:
        return c_literal(np.asarray(t.data).reshape(-1)[0], t.dtype)
    return f"{ctx.ref(t)}[0]"


@lowering("Loop")
def loop(ctx: NodeContext, body=None) -> None:
    _check_tensors(ctx)
    node = ctx.node
    trip, cond = ctx.input(0), ctx.input(1)
    states = [ctx.input(i) for i in range(2, len(node.inputs))]
    n_state = len(states)
    b = lower_body(ctx, "body", loop_formals(ctx.program.graph.values, node))
    n_scan = len(b.graph.outputs) - 1 - n_state
    if n_scan != len(ctx.outputs) - n_state:
        ctx.unsupported(f"{b.what} has {len(b.graph.outputs)} outputs for {n_state} carried "
                        f"values and {len(ctx.outputs) - n_state} scan outputs")
    if n_scan and (trip is None or trip.data is None):
        ctx.unsupported("scan outputs need a compile-time trip count (M)")
    if n_scan and loop_can_stop_early(b.graph, None if cond is None else cond.data,
                                      cond is not None):
        ctx.unsupported("the loop may stop before its trip count, so its scan outputs have a "
                        "data-dependent length (dynamic shapes are not supported here)")
    ivar, keep, cond_out = f"{b.program.prefix}i", f"{b.program.prefix}keep", \
        f"{b.program.prefix}cond"
    inputs = {0: f"&{ivar}", 1: f"&{keep}"}
    outputs = {0: f"&{cond_out}"}
    cur, nxt = [], []
    for k, init in enumerate(states):
        out = ctx.output(k)
        _check_same(ctx, f"loop-carried value {k} of {b.what}", b.output(1 + k), init)
        _check_same(ctx, f"loop-carried value {k} of {b.what}", b.output(1 + k), out)
        cur.append(_sink(ctx, out, init))
        nxt.append(ctx.scratch(init.size, init.dtype))
        inputs[2 + k] = cur[-1]
        outputs[1 + k] = nxt[-1]
    for j in range(n_scan):
        out, piece = ctx.output(n_state + j), b.output(1 + n_state + j)
        if out is not None and out.shape != (int(trip.data),) + piece.shape:
            ctx.unsupported(f"scan output {j} has shape {list(out.shape)}, the body's slices "
                            f"{list(piece.shape)} for {int(trip.data)} iterations")
        if out is None:  # omitted: every row goes to the same scratch
            outputs[1 + n_state + j] = ctx.scratch(piece.size, piece.dtype)
        else:
            outputs[1 + n_state + j] = f"({ctx.ref(out)} + (size_t){ivar} * {piece.size}u)"
    code = body_code(ctx, b, inputs, outputs)
    ctx.emit(TEMPLATE, "loop", ivar=ivar, keep=keep, cond_out=cond_out,
             trip=_scalar_expr(ctx, trip, "INT64_MAX"), cond=_scalar_expr(ctx, cond, "1"),
             has_trip=trip is not None,
             inits=[(c, ctx.ref(s), s.nbytes) for c, s in zip(cur, states) if s.nbytes],
             updates=[(c, n, s.nbytes) for c, n, s in zip(cur, nxt, states) if s.nbytes],
             body=code)


# -- Scan -------------------------------------------------------------------------------------

def _slab(t: Tensor, axis: int) -> tuple[int, int, int]:
    """``t`` as [outer, n, inner bytes] around ``axis``."""
    outer = int(np.prod(t.shape[:axis], dtype=np.int64))
    inner = int(np.prod(t.shape[axis + 1:], dtype=np.int64)) * t.dtype.itemsize
    return outer, t.shape[axis], inner


@lowering("Scan")
def scan(ctx: NodeContext, body=None, num_scan_inputs=None, scan_input_axes=None,
         scan_input_directions=None, scan_output_axes=None, scan_output_directions=None,
         directions=None) -> None:
    _check_tensors(ctx)
    if directions is not None or ctx.program.graph.opset < 9:
        ctx.unsupported("Scan-8 (batched, with sequence_lens) is not supported; convert the "
                        "model to opset 9 or later")
    spec = ScanSpec(ctx.node, ctx.program.graph.values)
    if spec.length is None:
        ctx.unsupported("Scan needs at least one scan input")
    b = lower_body(ctx, "body", spec.formals(ctx.program.graph.values, ctx.node))
    n_state, length = spec.num_states, spec.length
    tvar = f"{b.program.prefix}t"
    inputs, outputs, gets, puts, cur, nxt = {}, {}, [], [], [], []
    for k in range(n_state):
        init, out = ctx.input(k), ctx.output(k)
        _check_same(ctx, f"state {k} of {b.what}", b.output(k), init)
        _check_same(ctx, f"state {k} of {b.what}", b.output(k), out)
        cur.append(_sink(ctx, out, init))
        nxt.append(ctx.scratch(init.size, init.dtype))
        inputs[k], outputs[k] = cur[-1], nxt[-1]
    for j in range(spec.num_scan):
        x, axis = ctx.input(n_state + j), spec.in_axes[j]
        if x.shape[axis] != length:
            ctx.unsupported(f"scan input {j} has length {x.shape[axis]} on axis {axis}, "
                            f"scan input 0 has {length}")
        index = tvar if spec.in_dirs[j] == 0 else f"({length - 1} - {tvar})"
        outer, n, inner = _slab(x, axis)
        if outer == 1:
            inputs[n_state + j] = f"({ctx.ref(x)} + (size_t){index} * {inner // x.dtype.itemsize}u)"
        else:
            piece = ctx.scratch(x.size // max(n, 1), x.dtype)
            gets.append((piece, ctx.ref(x), outer, n, inner, index))
            inputs[n_state + j] = piece
    for j in range(spec.num_scan_out):
        out, piece = ctx.output(n_state + j), b.output(n_state + j)
        want = spec.out_shape(j, piece.shape)
        if out is not None and out.shape != want:
            ctx.unsupported(f"scan output {j} has shape {list(out.shape)}, expected {want}")
        index = tvar if spec.out_dirs[j] == 0 else f"({length - 1} - {tvar})"
        if out is None:
            outputs[n_state + j] = ctx.scratch(piece.size, piece.dtype)
            continue
        axis = _out_axis(spec, j, piece)
        outer, n, inner = _slab(out, axis)
        if outer == 1:
            outputs[n_state + j] = f"({ctx.ref(out)} + (size_t){index} * {piece.size}u)"
        else:
            tmp = ctx.scratch(piece.size, piece.dtype)
            puts.append((ctx.ref(out), tmp, outer, n, inner, index))
            outputs[n_state + j] = tmp
    if gets or puts:
        ctx.runtime("control")
    code = body_code(ctx, b, inputs, outputs)
    ctx.emit(TEMPLATE, "scan", tvar=tvar, length=length, body=code, gets=gets, puts=puts,
             inits=[(c, ctx.ref(ctx.input(k)), ctx.input(k).nbytes)
                    for k, c in enumerate(cur) if ctx.input(k).nbytes],
             updates=[(c, n, ctx.input(k).nbytes)
                      for k, (c, n) in enumerate(zip(cur, nxt)) if ctx.input(k).nbytes])


def _out_axis(spec: ScanSpec, j: int, piece: Tensor) -> int:
    axis = spec.out_axes[j]
    return axis + piece.rank + 1 if axis < 0 else axis
