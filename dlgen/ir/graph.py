"""dlgen's IR: a graph of nodes over typed, statically shaped values.

* ``Value``: name, dtype, static shape, and constant data when it is known at compile time;
  ``dynamic`` marks data-dependent dims whose ``shape`` entry is an upper bound.
* ``Node``: op_type, domain, input and output value names ("" for an omitted optional input),
  attributes as plain Python values (ints, floats, strings, lists, numpy arrays, Graphs).
* ``Graph``: nodes in topological order, graph input and output names, and the value table.

Passes take a Graph and return a Graph. They may build a new one or return an edited
``graph.copy()``; they never edit the graph they were given.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import onnx


@dataclass
class Value:
    name: str
    dtype: np.dtype | None  # None until type inference knows it
    shape: tuple[int, ...] | None = None
    data: np.ndarray | None = None
    # Data-dependent dims (NonZero, Unique...): True where ``shape`` holds only an upper bound
    # and the actual size is known at run time (see frontend/bounds.py). None: all static.
    dynamic: tuple[bool, ...] | None = None

    def __post_init__(self) -> None:
        if self.dtype is not None:
            self.dtype = np.dtype(self.dtype)
        if self.data is not None:
            self.data = np.asarray(self.data, dtype=self.dtype)
            self.shape = tuple(int(d) for d in self.data.shape)
        elif self.shape is not None:
            self.shape = tuple(int(d) for d in self.shape)

    @property
    def is_dynamic(self) -> bool:
        return bool(self.dynamic) and any(self.dynamic)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        """Number of elements (requires a known shape)."""
        if self.shape is None:
            raise ValueError(f"value '{self.name}' has no known shape")
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


@dataclass
class Node:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    domain: str = ""

    def input(self, i: int) -> str:
        """Name of input ``i``, or "" when it is omitted."""
        return self.inputs[i] if i < len(self.inputs) else ""

    def implicit_inputs(self) -> list[str]:
        """Outer-scope names read by this node's subgraph attributes (If/Loop/Scan bodies).

        They are real uses: dead-code elimination and renaming passes must see them.
        """
        return sorted(set().union(*(subgraph_free_names(v) for v in self.attrs.values())))

    def describe(self) -> str:
        """How errors name a node: its name (escaped) and op."""
        from ..text import quote

        op = f"{self.domain}::{self.op_type}" if self.domain not in ("", "ai.onnx") else self.op_type
        return f"node {quote(self.name or '<unnamed>')} ({quote(op)[1:-1]})"


@dataclass
class Graph:
    nodes: list[Node]
    inputs: list[str]
    outputs: list[str]
    values: dict[str, Value]
    opset: int = 17
    name: str = "model"
    # Other imported opsets (domain -> version), kept for lowering and re-export.
    opsets: dict[str, int] = field(default_factory=dict)

    # -- lookups ---------------------------------------------------------------------------
    def value(self, name: str) -> Value:
        return self.values[name]

    def const(self, name: str) -> np.ndarray | None:
        """Constant data of a value, or None when it is computed at run time or omitted."""
        if not name:
            return None
        value = self.values.get(name)
        return None if value is None else value.data

    @property
    def constants(self) -> dict[str, Value]:
        return {n: v for n, v in self.values.items() if v.is_const}

    def producers(self) -> dict[str, Node]:
        return {out: node for node in self.nodes for out in node.outputs if out}

    def consumers(self) -> dict[str, list[Node]]:
        """Nodes reading each value, counting outer-scope reads from subgraph attributes."""
        users: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs + node.implicit_inputs():
                if name:
                    users.setdefault(name, []).append(node)
        return users

    def iter_ops(self) -> Iterator[tuple[str, str]]:
        for node in self.nodes:
            yield node.domain, node.op_type

    # -- editing helpers -------------------------------------------------------------------
    def copy(self) -> "Graph":
        """A copy whose node list, nodes and value table can be edited freely.

        Constant arrays are shared (passes replace them, never write into them).
        """
        nodes = [dataclasses.replace(n, inputs=list(n.inputs), outputs=list(n.outputs),
                                     attrs=dict(n.attrs)) for n in self.nodes]
        values = {k: dataclasses.replace(v) for k, v in self.values.items()}
        return dataclasses.replace(self, nodes=nodes, inputs=list(self.inputs),
                                   outputs=list(self.outputs), values=values,
                                   opsets=dict(self.opsets))

    def unique_name(self, base: str) -> str:
        name, i = base, 0
        while name in self.values:
            i += 1
            name = f"{base}_{i}"
        return name

    def add_const(self, base: str, data: np.ndarray) -> str:
        """Add a constant value under a fresh name and return the name."""
        name = self.unique_name(base)
        self.values[name] = Value(name, np.asarray(data).dtype, data=np.asarray(data))
        return name

    def rename_uses(self, old: str, new: str) -> None:
        """Make every consumer (and graph output) of ``old`` read ``new`` instead."""
        for node in self.nodes:
            node.inputs = [new if x == old else x for x in node.inputs]
        self.outputs = [new if x == old else x for x in self.outputs]

    def __deepcopy__(self, memo):  # constants stay shared, as in copy()
        return self.copy()


def subgraph_free_names(attr: Any) -> set[str]:
    """Names an ONNX subgraph attribute (a GraphProto or a list of them) reads from outside."""
    if isinstance(attr, list):
        return set().union(*(subgraph_free_names(a) for a in attr)) if attr else set()
    if not isinstance(attr, onnx.GraphProto):
        return set()
    defined = {i.name for i in attr.input} | {t.name for t in attr.initializer}
    used: set[str] = set()
    for node in attr.node:
        defined.update(node.output)
        used.update(node.input)
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                used |= subgraph_free_names(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                used |= subgraph_free_names(list(a.graphs))
    used.update(o.name for o in attr.output)
    return used - defined - {""}
