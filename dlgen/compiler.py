"""The compiler driver: model -> IR -> passes -> static-shaped graph, ready for a target."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import onnx

from . import passes
from .errors import BadInput
from .frontend import import_model, reinfer, require_static
from .frontend.bounds import apply_bounds
from .ir import Graph
from .text import quote


@dataclass
class Compiled:
    """A graph after the shared passes, with where it came from."""

    graph: Graph
    source_sha256: str
    source_name: str


def model_digest(source) -> tuple[str, str]:
    """(sha256 of the model bytes, a display name) for a path, bytes or ModelProto."""
    if isinstance(source, onnx.ModelProto):
        return hashlib.sha256(source.SerializeToString()).hexdigest(), source.graph.name or "model"
    if isinstance(source, (bytes, bytearray)):
        return hashlib.sha256(source).hexdigest(), "<bytes>"
    path = os.fspath(source)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return "", os.path.basename(path)
    return h.hexdigest(), os.path.basename(path)


def specialize_inputs(graph: Graph, values: Mapping[str, np.ndarray]) -> None:
    """Give graph inputs fixed values: passes and lowerings treat them as constants, and the
    C target checks at run time that the caller passes exactly these values."""
    for name, data in values.items():
        if name not in graph.inputs:
            raise BadInput(f"cannot specialize {quote(name)}: not a graph input",
                           hint="inputs are " + ", ".join(quote(n) for n in graph.inputs))
        v = graph.values[name]
        arr = np.asarray(data)
        if v.shape is not None and tuple(arr.shape) != tuple(v.shape):
            raise BadInput(f"cannot specialize {quote(name)}: value has shape "
                           f"{list(arr.shape)}, the input has {list(v.shape)}")
        v.data = np.array(arr, dtype=v.dtype, order="C")
        v.shape = tuple(arr.shape)


def build_graph(source, *, input_shapes: dict[str, Sequence[int]] | None = None,
                fuse: bool = True, specialize: Mapping[str, np.ndarray] | None = None,
                bounds: Mapping[str, int] | None = None,
                precision: str | None = None) -> Compiled:
    """Load ``source`` and run the shared passes: what every target lowers.

    ``bounds`` lowers the upper bounds of data-dependent dims (see frontend/bounds.py).
    ``precision="fp16"`` runs ConvertFloat16 before fusion (passes/convert_float16.py)."""
    graph = import_model(source, input_shapes=input_shapes)
    if specialize:
        specialize_inputs(graph, specialize)
    graph = passes.simplify(graph)
    if any(v.shape is None or v.dtype is None for v in graph.values.values()):
        graph = passes.simplify(reinfer(graph))
    graph = apply_bounds(graph, bounds)
    require_static(graph)
    graph = passes.set_precision(graph, precision)
    if fuse:
        graph = passes.fuse(graph)
    digest, name = model_digest(source)
    return Compiled(graph, digest, name)
