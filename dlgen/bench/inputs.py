"""The benchmark's inputs: binding --batch to the inputs' leading dims, and random feeds for a
compiled artifact (whose ONNX graph is gone)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx

from ..errors import BadInput
from ..text import quote


def model_name(model) -> str:
    if isinstance(model, (str, os.PathLike)):
        return Path(model).stem or Path(model).name or "model"
    return "model"


def _declared_inputs(model) -> list[tuple[str, list]]:
    """(name, dims) of the graph inputs that are not initializers; a dim is an int or None."""
    if isinstance(model, onnx.ModelProto):
        proto = model
    elif isinstance(model, (bytes, bytearray)):
        proto = onnx.load_from_string(bytes(model))
    else:
        proto = onnx.load(str(model), load_external_data=False)
    inits = {t.name for t in proto.graph.initializer}
    out = []
    for value in proto.graph.input:
        if value.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None
                for d in value.type.tensor_type.shape.dim]
        out.append((value.name, dims))
    return out


def bind_batch(model, shapes: dict | None, batch: int | None) -> dict | None:
    """``shapes`` plus the leading dim of every input bound to ``batch`` (None: unchanged).

    A dynamic leading dim is bound when the input's other dims are fixed; a fixed one must
    already equal ``batch``; an input named in ``shapes`` must have ``batch`` first."""
    if batch is None:
        return shapes
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise BadInput(f"--batch must be a whole number >= 1, not {batch!r}",
                       hint="e.g. --batch 8 (the inputs' leading dim)")
    bound = dict(shapes or {})
    for name, dims in _declared_inputs(model):
        if name in bound:
            if not bound[name] or bound[name][0] != batch:
                raise BadInput(f"--input-shape binds {quote(name)} to {list(bound[name])}, "
                               f"which does not start with --batch {batch}",
                               hint="make the two agree, or drop one")
            continue
        if not dims:
            continue                          # a scalar input has no batch dim
        if dims[0] is not None:
            if dims[0] != batch:
                raise BadInput(f"input {quote(name)} has a fixed leading dim of {dims[0]}, so "
                               f"it cannot run with --batch {batch}",
                               hint="export the model with a dynamic batch dim, or drop --batch")
            continue
        if any(d is None for d in dims[1:]):
            raise BadInput(f"input {quote(name)} has dynamic dims besides the batch dim",
                           hint=f"bind them with --input-shape {name}={batch}x...")
        bound[name] = (batch, *dims[1:])
    return bound


def random_feeds(specs: list[dict], seed: int) -> dict[str, np.ndarray]:
    """Seeded inputs for tensor specs (name, dtype, shape): normal floats, zero integers."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in specs:
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        if dtype.kind == "f":
            feeds[spec["name"]] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[spec["name"]] = np.zeros(shape, dtype)
    return feeds
