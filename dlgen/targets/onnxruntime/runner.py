"""ONNX Runtime runner: the numerical reference for every target, and the onnxruntime target."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx

from ...errors import BadModel
from ...text import ascii_safe
from ..base import Runner, TensorSpec


def _specs_from_session(session, which: str, shapes: dict[str, tuple[int, ...]]) -> list[TensorSpec]:
    out = []
    for arg in getattr(session, f"get_{which}")():
        dtype = _ORT_TYPES.get(arg.type, "float32")
        shape = shapes.get(arg.name) or tuple(d if isinstance(d, int) else -1 for d in arg.shape)
        out.append(TensorSpec(arg.name, dtype, tuple(shape)))
    return out


_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(int8)": "int8", "tensor(int16)": "int16", "tensor(int32)": "int32",
    "tensor(int64)": "int64", "tensor(uint8)": "uint8", "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32", "tensor(uint64)": "uint64", "tensor(bool)": "bool",
}


class OrtRunner(Runner):
    """Runs an ONNX model (path, bytes or ModelProto) in an ONNX Runtime session.

    ``input_shapes`` fixes the shapes feeds must have (for models with dynamic dims); without
    it, dynamic dims accept any size.
    """

    target = "onnxruntime"

    def __init__(self, model, *, providers: list[str] | None = None,
                 input_shapes: dict[str, tuple[int, ...]] | None = None, threads: int = 0,
                 provider_options: dict[str, dict[str, str]] | None = None,
                 opt_level: str | None = None, config_entries: dict[str, str] | None = None):
        import onnxruntime as ort

        if isinstance(model, onnx.ModelProto):
            model = model.SerializeToString()
        elif isinstance(model, (str, os.PathLike)):
            model = str(Path(model))
        self._model = model
        self._providers = providers or ["CPUExecutionProvider"]
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        if opt_level:  # session.py's names: disable_all, basic, extended, all
            from .session import _LEVEL_ATTR
            opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel,
                                                    _LEVEL_ATTR[opt_level])
        for key, value in (config_entries or {}).items():
            opts.add_session_config_entry(key, str(value))
        provider_options = provider_options or {}
        providers = [(p, provider_options[p]) if provider_options.get(p) else p
                     for p in self._providers]
        try:
            self.session = ort.InferenceSession(model, sess_options=opts, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            raise BadModel(f"ONNX Runtime cannot load the model: {ascii_safe(str(exc), 400)}",
                           hint="check the model with `dlgen inspect`") from exc
        shapes = dict(input_shapes or {})
        super().__init__(_specs_from_session(self.session, "inputs", shapes),
                         _specs_from_session(self.session, "outputs", {}))

    def check_feeds(self, feeds):
        # Dynamic dims (-1) accept any size: compare only the fixed ones.
        fixed = []
        for spec in self.inputs:
            arr = np.asarray(feeds.get(spec.name, np.zeros(0)))
            shape = tuple(a if s == -1 else s for s, a in zip(spec.shape, arr.shape)) \
                if len(spec.shape) == arr.ndim else spec.shape
            fixed.append(TensorSpec(spec.name, spec.dtype, shape))
        saved, self.inputs = self.inputs, fixed
        try:
            return super().check_feeds(feeds)
        finally:
            self.inputs = saved

    def _prepare(self) -> None:
        pass

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self.session.get_outputs()]
        values = self.session.run(names, feeds)
        return dict(zip(names, values))
