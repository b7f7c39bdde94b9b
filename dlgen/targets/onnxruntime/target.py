"""The onnxruntime target: the graph after dlgen's shared passes, saved as a model for ORT.

This is the first slice: CPU execution provider, the simplified model and a manifest. Execution
providers, offline ORT optimization and quantization build on it.
"""
from __future__ import annotations

from pathlib import Path

import onnx

from ...ir import to_onnx
from ..base import Target
from .runner import OrtRunner

MODEL_FILE = "model.onnx"


class OrtTarget(Target):
    name = "onnxruntime"
    description = "ONNX Runtime session (CPU execution provider)"
    fuse = False  # ORT fuses with its own optimizer; dlgen's fused ops are not standard ONNX

    def availability(self) -> tuple[bool, str]:
        try:
            import onnxruntime as ort
        except ImportError:
            return False, "onnxruntime is not installed (pip install onnxruntime)"
        return True, f"onnxruntime {ort.__version__}, providers {', '.join(ort.get_available_providers())}"

    def compile(self, graph, outdir: Path, *, name: str, options: dict,
                source: str = "") -> dict:
        model = to_onnx(graph)
        onnx.save(model, str(outdir / MODEL_FILE))
        return {"onnxruntime": {"model": MODEL_FILE, "providers": ["CPUExecutionProvider"]},
                "options": {}}

    def runner(self, artifact_dir: Path, manifest: dict) -> OrtRunner:
        cfg = manifest["onnxruntime"]
        shapes = {d["name"]: tuple(d["shape"]) for d in manifest["inputs"]}
        return OrtRunner(Path(artifact_dir) / cfg["model"], providers=cfg["providers"],
                         input_shapes=shapes)
