"""Lowering an IR graph to a C program description.

Every value gets a C local ``v<k>``; a lowering function (see registry.py) emits steps that
refer to those locals, so lowering does not depend on the memory plan. After lowering,
``plan`` decides where every local points: a graph input or output parameter, a const weight
array, an offset in the arena (liveness-planned, with views and in-place ops sharing their
source's buffer) or a per-node scratch buffer.

Data-dependent shapes (NonZero, Unique, NonMaxSuppression, Compress/TopK with run-time
inputs; see frontend/bounds.py): a Tensor with ``dynamic`` dims has its bound shape in
``shape`` (buffers are sized by it) and a run-time dims array ``int64_t d<k>[rank]``, named by
``ctx.dims(t)``. Before the node runs, generated code fills it with the bound shape; the
kernel overwrites the data-dependent entries (``ctx.dim(t, axis)`` is a pointer to one) and
stores the data compactly in the actual shape, returning DLG_ERR_BOUND (via
``ctx.call_checked``) instead of writing past the bound. After a producing node, the unused
tail of the buffer is zeroed; shape-preserving consumers (bounds.PASS_THROUGH) run over the
bound buffer and copy the dims. Graph outputs hand their dims to the caller through an extra
``int64_t *<output>_shape`` parameter. A lowering that produces a value with a dynamic dim
(e.g. a Loop scan output whose length depends on the condition) only needs its IR Value to
carry ``shape`` = bound and ``dynamic`` flags, and to write ``ctx.dim(...)`` at run time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import Unsupported
from ...ir import Graph, Node, Value
from ...ir.dtypes import c_type, has_c_type
from ...text import quote
from . import emit, registry
from .names import Namer, comment


# The C local pointing at the model's random-number state (a reserved arena slot).
RNG_STATE_VAR = "rng_"
RNG_STATE_BYTES = 16


@dataclass
class Tensor:
    """A value as generated C code sees it: a typed pointer local ``var``."""

    name: str
    var: str
    dtype: np.dtype
    shape: tuple[int, ...]
    data: np.ndarray | None = None
    dynamic: tuple[bool, ...] | None = None  # data-dependent dims: ``shape`` is their bound

    @property
    def is_dynamic(self) -> bool:
        return bool(self.dynamic) and any(self.dynamic)

    @property
    def dims_var(self) -> str:
        """The C name of the run-time dims array (``int64_t d<k>[rank]``) of a dynamic value."""
        return "d" + self.var[1:]

    @property
    def ctype(self) -> str:
        return c_type(self.dtype)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass
class Step:
    comment: str
    code: str


@dataclass
class Scratch:
    var: str
    ctype: str
    nbytes: int
    node_index: int


@dataclass
class Program:
    """Everything the emitter needs, before memory planning."""

    graph: Graph
    tensors: dict[str, Tensor]
    steps: list[Step] = field(default_factory=list)
    runtime_modules: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)           # value names whose local is referenced
    views: dict[str, str] = field(default_factory=dict)   # view output -> its source value
    inplace: dict[str, str] = field(default_factory=dict)  # candidate output -> input (node-local)
    scratch: list[Scratch] = field(default_factory=list)
    extra_consts: list[str] = field(default_factory=list)
    node_index: dict[str, int] = field(default_factory=dict)  # value -> producing node index
    direct_outputs: dict[str, int] = field(default_factory=dict)  # value -> output position
    output_copies: list[tuple[int, str]] = field(default_factory=list)  # (position, value)
    probe_values: list[tuple[str, str, str]] = field(default_factory=list)  # value, node, op
    dims_used: set[str] = field(default_factory=set)  # dynamic values whose dims array is used
    rng_state: bool = False  # a random op uses the model's RNG state (see rng_state())
    # Control-flow bodies are lowered into nested Programs (ops/control.py) whose C locals
    # carry a prefix ("b0_", "b0_b1_"...), so they never clash with the enclosing function's.
    prefix: str = ""
    bodies: int = 0  # nested Programs made so far (numbers their prefixes)
    # The runtime kernels the artifact ships: "portable" (src/opt where a module has fast
    # kernels, with weights pre-packed at compile time), "reference" (src/ref only: readable,
    # smallest code) or "cblas" (portable, with GEMM-shaped work sent to a CBLAS library).
    kernels: str = "portable"
    # Winograd F(4x4, 3x3) for eligible 3x3 convolutions with the portable kernels
    # (ops/conv.py): "auto" where it measured faster, "on" wherever eligible, "off" never.
    winograd: str = "auto"


def c_literal(x: Any, dtype: np.dtype | None = None) -> str:
    """A C literal for a Python/numpy scalar."""
    if isinstance(x, (bool, np.bool_)):
        return "1" if x else "0"
    if isinstance(x, (int, np.integer)) and (dtype is None or dtype.kind in "iub"):
        v = int(x)
        if dtype is not None and dtype.itemsize == 8:
            return f"INT64_C({v})" if dtype.kind == "i" else f"UINT64_C({v})"
        return str(v) if -2**31 < v < 2**31 else f"INT64_C({v})"
    v = float(x)
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "HUGE_VALF" if v > 0 else "(-HUGE_VALF)"
    if dtype is not None and dtype == np.float64:
        return repr(v)
    text = f"{np.float32(v)!r}" if np.isfinite(np.float32(v)) else repr(v)
    text = text.replace("np.float32(", "").rstrip(")")
    if "e" not in text and "." not in text and "inf" not in text:
        text += ".0"
    return text + "f"


class NodeContext:
    """What a lowering function sees: the node's tensors and ways to emit code."""

    def __init__(self, program: Program, node: Node, index: int):
        self.program = program
        self.node = node
        self.index = index
        t = program.tensors
        self.inputs: list[Tensor | None] = [t[n] if n else None for n in node.inputs]
        self.outputs: list[Tensor | None] = [t[n] if n else None for n in node.outputs]

    # -- tensors -----------------------------------------------------------------------------
    def input(self, i: int) -> Tensor | None:
        return self.inputs[i] if i < len(self.inputs) else None

    def output(self, i: int) -> Tensor | None:
        return self.outputs[i] if i < len(self.outputs) else None

    def const_input(self, i: int, what: str) -> np.ndarray | None:
        """The compile-time data of input ``i`` (None when omitted); refuse run-time values."""
        t = self.input(i)
        if t is None:
            return None
        if t.data is None:
            self.unsupported(f"input {i} ({what}) must be a compile-time constant")
        return t.data

    def dims(self, t: Tensor) -> str:
        """The run-time dims array (``int64_t[rank]``) of a value with data-dependent dims."""
        assert t.is_dynamic, f"{t.name} has a static shape"
        self.program.dims_used.add(t.name)
        return t.dims_var

    def dim(self, t: Tensor, axis: int) -> str:
        """A pointer to entry ``axis`` of ``t``'s run-time dims, for a kernel to write."""
        return f"({self.dims(t)} + {axis})"

    def ref(self, t: Tensor) -> str:
        """The C expression for a tensor's pointer (and mark it used)."""
        self.program.used.add(t.name)
        return t.var

    def const(self, base: str, data: np.ndarray) -> Tensor:
        """A new compile-time constant array (e.g. an offset table) for this node."""
        prog = self.program
        name = prog.graph.unique_name(base)
        data = np.ascontiguousarray(data)
        prog.graph.values[name] = Value(name, data.dtype, data=data)
        t = Tensor(name, f"{prog.prefix}k{len(prog.extra_consts)}", data.dtype,
                   tuple(data.shape), data)
        prog.tensors[name] = t
        prog.extra_consts.append(name)
        return t

    def scratch(self, count: int, dtype: Any = np.float32) -> str:
        """A temporary buffer of ``count`` elements, live during this node only."""
        dtype = np.dtype(dtype)
        var = f"{self.program.prefix}s{len(self.program.scratch)}"
        self.program.scratch.append(Scratch(var, c_type(dtype), count * dtype.itemsize, self.index))
        return var

    def rng_state(self) -> str:
        """The C name of the model's random-number state, ``uint64_t[2]`` {key, next stream}
        in an arena slot that lives across calls (reserved by plan.py, seeded by the generated
        ``<prefix>_seed``; docs/GENERATED_C.md, "Random numbers")."""
        self.program.rng_state = True
        return RNG_STATE_VAR

    # -- code --------------------------------------------------------------------------------
    @property
    def fast(self) -> bool:
        """Whether this artifact uses the fast kernels (src/opt) rather than the reference."""
        return self.program.kernels != "reference"

    @property
    def kernels(self) -> str:
        """The artifact's kernel set: "portable" (weights pre-packed for src/opt/sgemm.c),
        "cblas" (GEMM-shaped work to a CBLAS, plain weight layouts) or "reference"."""
        return self.program.kernels

    def runtime(self, *modules: str) -> None:
        self.program.runtime_modules.update(modules)

    def arg(self, x: Any) -> str:
        if isinstance(x, Tensor):
            return self.ref(x)
        if x is None:
            return "NULL"
        if isinstance(x, str):
            return x
        return c_literal(x)

    def call(self, func: str, *args: Any) -> None:
        self.emit("common.c.j2", "call", func=func, args=[self.arg(a) for a in args])

    def call_checked(self, func: str, *args: Any) -> None:
        """Emit a call to a kernel returning a status; the run returns any status but DLG_OK."""
        self.emit("common.c.j2", "checked_call", func=func, args=[self.arg(a) for a in args])

    def emit(self, template: str, macro: str, **params: Any) -> None:
        code = emit.render_macro(template, macro, **params)
        self.program.steps.append(Step(comment(self.describe()), code))

    def alias(self, out: int = 0, inp: int = 0) -> None:
        """Output ``out`` is input ``inp`` reinterpreted (Reshape, Flatten...): no data moves."""
        src, dst = self.input(inp), self.output(out)
        assert src is not None and dst is not None
        self.program.views[dst.name] = src.name

    def copy(self, dst: Tensor, src: Tensor) -> None:
        self.emit("common.c.j2", "copy", dst=self.ref(dst), src=self.ref(src), nbytes=src.nbytes)

    # -- errors ------------------------------------------------------------------------------
    def describe(self) -> str:
        return f"{self.node.op_type} {self.node.name or '<unnamed>'}"

    def unsupported(self, why: str) -> None:
        raise Unsupported(
            f"node {quote(self.node.name or '<unnamed>')} (op {self.node.op_type}): {why}",
            hint="this form of the op is not supported by the C target yet; "
                 "try `-t onnxruntime` or simplify the model")


def _make_tensors(graph: Graph, prefix: str = "") -> dict[str, Tensor]:
    tensors: dict[str, Tensor] = {}
    for k, (name, v) in enumerate(graph.values.items()):
        if v is None or v.dtype is None or v.shape is None:
            continue
        if not has_c_type(v.dtype):
            continue  # reported when a node uses it
        tensors[name] = Tensor(name, f"{prefix}v{k}", v.dtype, v.shape, v.data,
                               v.dynamic if v.is_dynamic else None)
    return tensors


def _check_types(graph: Graph, tensors: dict[str, Tensor]) -> None:
    for node in graph.nodes:
        for name in list(node.inputs) + list(node.outputs):
            if name and name not in tensors:
                v = graph.values.get(name)
                dtype = None if v is None else v.dtype
                raise Unsupported(
                    f"node {quote(node.name or '<unnamed>')} (op {node.op_type}): value "
                    f"{quote(name)} has element type {dtype} which the C target cannot store",
                    hint="the C target handles float32/float64, integer and bool tensors")


def _call_lowering(ctx: NodeContext, low: registry.Lowering) -> None:
    node = ctx.node
    accepted = low.accepts()
    unknown = sorted(set(node.attrs) - accepted)
    if unknown:
        ctx.unsupported(f"attribute(s) {', '.join(unknown)} are not supported")
    low.fn(ctx, **node.attrs)


KERNELS = ("portable", "reference", "cblas")


def lower(graph: Graph, *, probes: bool = False, prefix: str = "",
          kernels: str = "portable", winograd: str = "auto") -> Program:
    """Run every node's lowering; the result still needs ``plan``.

    With ``probes``, every node output is handed to a caller's callback right after the node
    runs (``<prefix>_run_probed``), for per-node verification. ``prefix`` starts the names of
    the program's C locals (nested control-flow bodies, see ops/control.py). ``kernels``
    picks the runtime kernels lowerings call (see ``Program.kernels``), ``winograd`` when
    3x3 convolutions use Winograd (see ``Program.winograd``).
    """
    registry.check_supported(graph)
    graph = graph.copy()
    tensors = _make_tensors(graph, prefix)
    _check_types(graph, tensors)
    program = Program(graph, tensors, prefix=prefix, kernels=kernels, winograd=winograd)
    for i, node in enumerate(graph.nodes):
        for out in node.outputs:
            if out:
                program.node_index[out] = i
        low = registry.find(node.domain, node.op_type)
        assert low is not None
        ctx = NodeContext(program, node, i)
        _dynamic_before(ctx)
        _call_lowering(ctx, low)
        _dynamic_after(ctx)
        if probes:
            _add_probes(ctx)
        if low.inplace and node.outputs and node.inputs and node.inputs[0]:
            program.inplace[node.outputs[0]] = node.inputs[0]
    _route_outputs(program)
    return program


def _dynamic_before(ctx: NodeContext) -> None:
    """Fill the run-time dims of the node's dynamic outputs with their bound shapes."""
    for t in ctx.outputs:
        if t is not None and t.is_dynamic:
            ctx.emit("common.c.j2", "set_dims", dims=ctx.dims(t), shape=list(t.shape))


def _dynamic_after(ctx: NodeContext) -> None:
    """After a producer: zero the unused tail of each dynamic output. After a shape-preserving
    consumer of a dynamic value: copy the input's dims to the outputs."""
    source = next((t for t in ctx.inputs if t is not None and t.is_dynamic), None)
    for t in ctx.outputs:
        if t is None or not t.is_dynamic:
            continue
        if source is not None:
            ctx.emit("common.c.j2", "copy", dst=ctx.dims(t), src=ctx.dims(source),
                     nbytes=8 * t.rank)
        elif t.size:
            ctx.runtime("dynamic", "half")
            ctx.call("dlg_zero_tail", t, t.dtype.itemsize, ctx.dims(t), t.rank, t.size)


def _add_probes(ctx: NodeContext) -> None:
    """A callback per node output: ``probe_(k, data, nbytes, user_)``, k = probe number."""
    prog = ctx.program
    for t in ctx.outputs:
        if t is None or t.is_dynamic:  # data-dependent sizes are not probed
            continue
        k = len(prog.probe_values)
        prog.probe_values.append((t.name, ctx.node.name, ctx.node.op_type))
        prog.steps.append(Step(comment(f"probe {k}"), emit.render_macro(
            "common.c.j2", "probe", index=k, var=ctx.ref(t), nbytes=t.nbytes)))


def _route_outputs(program: Program) -> None:
    """Decide how each graph output is written.

    An output produced by a node (not a view) is written straight into the caller's buffer.
    Constants, graph inputs, views and repeated outputs are copied at the end instead.
    """
    for pos, name in enumerate(program.graph.outputs):
        t = program.tensors[name]
        direct = (name not in program.direct_outputs and t.data is None
                  and name not in program.graph.inputs and name not in program.views)
        if direct:
            program.direct_outputs[name] = pos
        else:
            program.output_copies.append((pos, name))
            program.used.add(name)
