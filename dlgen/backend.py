"""dlgen as an ONNX backend (``onnx.backend.base.Backend``), so ONNX's own test suite and any
tool built on the backend API can run models through a dlgen target (default: C).

    from dlgen.backend import DlgenBackend
    rep = DlgenBackend.prepare(model)          # checks the model
    outputs = rep.run([x])                      # compiles for x's shapes (cached), runs

Compilation happens on the first ``run`` with a given set of input shapes, because ONNX
models may leave dims dynamic and dlgen compiles for static shapes.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep

from . import api
from .errors import ShapeError, Unsupported
from .targets import Runner


SPECIALIZE_MAX_ELEMENTS = 64


def _specializable(value: np.ndarray) -> bool:
    """Small integer (or bool) inputs, the kind that carry axes, shapes, pads and counts,
    scalars of any type (Range's start/limit/delta, a ratio) and small float vectors
    (Resize's scales and roi)."""
    if value.size <= 1:
        return True
    if value.size > SPECIALIZE_MAX_ELEMENTS:
        return False
    return value.dtype.kind in "iub" or (value.dtype.kind == "f" and value.ndim == 1)


class DlgenBackendRep(BackendRep):
    def __init__(self, model: onnx.ModelProto, target: str, options: dict | None):
        self.model = model
        self.target = target
        self.options = options
        init_names = {i.name for i in model.graph.initializer}
        self.input_names = [i.name for i in model.graph.input if i.name not in init_names]
        self._runners: dict[tuple, Runner] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="dlgen-backend-")

    def _runner(self, feeds: dict[str, np.ndarray]) -> Runner:
        key = tuple((n, feeds[n].shape, feeds[n].dtype.str) for n in self.input_names)
        if key not in self._runners:
            shapes = {n: tuple(int(d) for d in feeds[n].shape) for n in self.input_names}
            out = Path(self._tmp.name) / f"a{len(self._runners)}"
            try:
                art = api.compile(self.model, self.target, out, name="model",
                                  input_shapes=shapes, options=self.options)
            except (Unsupported, ShapeError):
                # Inputs that decide shapes (axes, pads, repeats...) cannot stay run-time
                # values in statically shaped C: compile for these values, guarded at run time.
                values = {n: feeds[n] for n in self.input_names if _specializable(feeds[n])}
                if not values:
                    raise
                art = api.compile(self.model, self.target, out, name="model",
                                  input_shapes=shapes, options=self.options, specialize=values)
            self._runners[key] = art.runner().prepare()
        return self._runners[key]

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if isinstance(inputs, dict):
            feeds = {k: np.asarray(v) for k, v in inputs.items()}
        else:
            if isinstance(inputs, np.ndarray):
                inputs = [inputs]
            feeds = {n: np.asarray(v) for n, v in zip(self.input_names, inputs)}
        runner = self._runner(feeds)
        outputs = runner.run(feeds)
        return tuple(outputs[o.name] for o in self.model.graph.output)

    def __del__(self):
        for runner in self._runners.values():
            runner.close()


class DlgenBackend(Backend):
    target = "c"

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> DlgenBackendRep:
        super().prepare(model, device, **kwargs)
        return DlgenBackendRep(model, kwargs.get("target", cls.target), kwargs.get("options"))

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> tuple[np.ndarray, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"


prepare = DlgenBackend.prepare
run_model = DlgenBackend.run_model
supports_device = DlgenBackend.supports_device
