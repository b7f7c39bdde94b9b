"""Where every C local points: parameters, weights, the arena (liveness-planned) or scratch.

Views (Reshape, Flatten...) share their source's storage; an in-place op's output shares its
input's buffer when that input dies at the op and has the same size. Buffers that share
storage are merged into one planner buffer whose lifetime covers all of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...memory import MemoryPlanner, make_planner
from .lower import RNG_STATE_BYTES, RNG_STATE_VAR, Program


@dataclass
class Decl:
    """One pointer local: ``[const] ctype *var = init;``."""

    var: str
    ctype: str
    init: str
    const: bool
    note: str = ""


@dataclass
class Layout:
    arena_bytes: int
    arena_lower_bound_bytes: int
    planner: MemoryPlanner
    storage: dict[str, str] = field(default_factory=dict)  # value -> input|output|const|arena|view
    offsets: dict[str, int] = field(default_factory=dict)   # root value or scratch var -> offset
    roots: dict[str, str] = field(default_factory=dict)     # value -> value owning its storage


def _root(program: Program, roots: dict[str, str], name: str) -> str:
    while name in roots and roots[name] != name:
        name = roots[name]
    return name


def _last_uses(program: Program) -> dict[str, int]:
    last: dict[str, int] = {}
    for i, node in enumerate(program.graph.nodes):
        # Outer values a control-flow body reads are used by its node (the body runs there).
        for name in node.inputs + node.implicit_inputs():
            if name:
                last[name] = i
    end = len(program.graph.nodes)
    for name in program.graph.outputs:
        last[name] = end
    return last


def plan(program: Program, planner_kind: str = "greedy") -> Layout:
    g = program.graph
    inputs = set(g.inputs)
    storage: dict[str, str] = {}
    roots: dict[str, str] = {}
    for name, t in program.tensors.items():
        if name in inputs:
            storage[name] = "input"
        elif t.data is not None:
            storage[name] = "const"
        elif name in program.views:
            storage[name] = "view"
            roots[name] = program.views[name]
        elif name in program.direct_outputs:
            storage[name] = "output"
        else:
            storage[name] = "arena"

    first = {name: program.node_index.get(name, -1) for name in program.tensors}
    last = _last_uses(program)
    # A buffer lives until the last use of anything viewing it.
    life: dict[str, int] = {}
    for name in program.tensors:
        root = _root(program, roots, name)
        life[root] = max(life.get(root, first[root]), last.get(name, first[name]))

    # In-place: reuse the input's buffer when it dies here and sizes match. The input must
    # also have the output's shape: a broadcast input of the same byte size (e.g. int64
    # [2,1] -> bool [2,8]) would be overwritten before all of its elements are read.
    for out, inp in program.inplace.items():
        if storage.get(out) != "arena":
            continue
        src = _root(program, roots, inp)
        if storage.get(src) != "arena" or program.tensors[src].nbytes != program.tensors[out].nbytes:
            continue
        if program.tensors[inp].shape != program.tensors[out].shape:
            continue
        if life[src] != first[out]:
            continue
        roots[out] = src
        storage[out] = "inplace"
        life[src] = max(life[src], life.get(out, first[out]))

    planner = make_planner(planner_kind)
    buf_ids: dict[str, int] = {}
    for name, kind in storage.items():
        if kind == "arena":
            buf_ids[name] = planner.add_buffer(program.tensors[name].nbytes, first[name],
                                               max(life[name], first[name]), name)
    for s in program.scratch:
        buf_ids[s.var] = planner.add_buffer(s.nbytes, s.node_index, s.node_index, s.var)
    if program.rng_state:  # lives across calls: a lifetime spanning the whole run, never shared
        buf_ids[RNG_STATE_VAR] = planner.add_buffer(RNG_STATE_BYTES, -1, len(g.nodes),
                                                    "rng_state")
    offsets = {key: planner.offset(b) for key, b in buf_ids.items()}
    return Layout(planner.peak(), planner.lower_bound(), planner, storage, offsets, roots)


def declarations(program: Program, layout: Layout, params: dict[str, str],
                 const_expr: dict[str, str], base: str = "arena_") -> list[Decl]:
    """The pointer locals the run function needs, sources before views.

    Arena buffers are at offsets from ``base`` (a nested body's: its node's scratch)."""
    decls: list[Decl] = []
    used = set(program.used)
    # Anything a used view points at is used too.
    for name in list(used):
        while name in layout.roots:
            name = layout.roots[name]
            used.add(name)
    order = sorted(used, key=lambda n: (_depth(layout, n), _var_key(program.tensors[n].var)))
    for name in order:
        t = program.tensors[name]
        kind = layout.storage[name]
        if kind in ("input", "output"):
            init, const = params[name], kind == "input"
        elif kind == "const":
            init, const = const_expr[name], True
        elif kind == "arena":
            init, const = f"({t.ctype} *)({base} + {layout.offsets[name]}u)", False
        else:  # view or inplace: same storage as the root
            root = layout.roots[name]
            root_t = program.tensors[root]
            const = layout.storage[_final_root(layout, name)] in ("input", "const")
            cast = f"({'const ' if const else ''}{t.ctype} *)"
            init = f"{cast}{root_t.var}"
        decls.append(Decl(t.var, t.ctype, init, const, name))
    for s in program.scratch:
        decls.append(Decl(s.var, s.ctype, f"({s.ctype} *)({base} + {layout.offsets[s.var]}u)",
                          False, "scratch"))
    if program.rng_state:
        decls.append(Decl(RNG_STATE_VAR, "uint64_t",
                          f"(uint64_t *)(arena_ + {layout.offsets[RNG_STATE_VAR]}u)", False,
                          "random-number state"))
    return decls


def _depth(layout: Layout, name: str) -> int:
    d = 0
    while name in layout.roots:
        name = layout.roots[name]
        d += 1
    return d


def _final_root(layout: Layout, name: str) -> str:
    while name in layout.roots:
        name = layout.roots[name]
    return name


def _var_key(var: str) -> tuple[str, str, int]:
    """Sort key of a local: prefix (nested bodies), kind letter, number."""
    head = var.rstrip("0123456789")
    return head[:-1], head[-1:], int(var[len(head):])
