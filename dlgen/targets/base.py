"""The contracts every target shares: Target (compile to an artifact dir) and Runner (execute).

A Runner's public ``prepare/run/close`` check their arguments and state; subclasses implement
only ``_prepare/_run/_close``.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import BadInput
from ..text import quote


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[int, ...]
    # Data-dependent dims: True where ``shape`` is only the upper bound (None: all static).
    dynamic: tuple[bool, ...] | None = None

    @property
    def is_dynamic(self) -> bool:
        return bool(self.dynamic) and any(self.dynamic)

    def to_json(self) -> dict:
        d = {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}
        if self.is_dynamic:
            d["dynamic"] = list(self.dynamic)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "TensorSpec":
        dynamic = d.get("dynamic")  # absent in manifests before data-dependent shapes
        return cls(d["name"], d["dtype"], tuple(d["shape"]),
                   tuple(bool(x) for x in dynamic) if dynamic else None)


class Runner(abc.ABC):
    """Executes one compiled model. Use as a context manager or call prepare()/close()."""

    target = "?"

    def __init__(self, inputs: list[TensorSpec], outputs: list[TensorSpec]):
        self.inputs = inputs
        self.outputs = outputs
        self._prepared = False

    def prepare(self) -> "Runner":
        if not self._prepared:
            self._prepare()
            self._prepared = True
        return self

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.prepare()
        return self._run(self.check_feeds(feeds))

    def close(self) -> None:
        if self._prepared:
            self._close()
            self._prepared = False

    def __enter__(self) -> "Runner":
        return self.prepare()

    def __exit__(self, *exc) -> None:
        self.close()

    def check_feeds(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Feeds keyed by input name, with the declared dtype and shape (scalars broadcast)."""
        names = [s.name for s in self.inputs]
        unknown = sorted(set(feeds) - set(names))
        missing = [n for n in names if n not in feeds]
        if unknown or missing:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(quote(n) for n in missing))
            if unknown:
                parts.append("unknown " + ", ".join(quote(n) for n in unknown))
            raise BadInput(f"inputs do not match the model: {'; '.join(parts)}",
                           hint="the model's inputs are " + ", ".join(
                               f"{quote(s.name)} {s.dtype}{list(s.shape)}" for s in self.inputs))
        checked = {}
        for spec in self.inputs:
            arr = np.asarray(feeds[spec.name])
            if tuple(arr.shape) != spec.shape:
                raise BadInput(f"input {quote(spec.name)} has shape {list(arr.shape)}, "
                               f"the compiled model expects {list(spec.shape)}",
                               hint="recompile with --input-shape to change the shape")
            if arr.dtype != np.dtype(spec.dtype):
                if not np.can_cast(arr.dtype, spec.dtype, casting="same_kind"):
                    raise BadInput(f"input {quote(spec.name)} has dtype {arr.dtype}, "
                                   f"the model expects {spec.dtype}")
                arr = arr.astype(spec.dtype)
            checked[spec.name] = np.ascontiguousarray(arr)
        return checked

    @abc.abstractmethod
    def _prepare(self) -> None: ...

    @abc.abstractmethod
    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def _close(self) -> None:
        pass


class Target(abc.ABC):
    """A way to deploy a graph. ``compile`` writes files into an (empty, temporary) folder."""

    name = "?"
    description = ""

    def availability(self) -> tuple[bool, str]:
        """(available, reason) — the reason says what is missing and how to get it."""
        return True, "ready"

    @abc.abstractmethod
    def compile(self, graph, outdir: Path, *, name: str, options: dict, source: str = "") -> dict:
        """Write the artifact files into ``outdir``; return target-specific manifest fields."""

    @abc.abstractmethod
    def runner(self, artifact_dir: Path, manifest: dict) -> Runner: ...
