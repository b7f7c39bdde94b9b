"""The onnxruntime target's first slice: artifact round trip through the shared runner contract."""
from pathlib import Path

import numpy as np
import onnx

import dlgen
from dlgen.manifest import read_manifest

MODELS = Path(__file__).resolve().parents[2] / "fixtures" / "models"


def test_artifact_round_trip(tmp_path):
    model = MODELS / "lstm_legacy.onnx"
    art = dlgen.compile(model, "onnxruntime", tmp_path / "ort", name="lstm")
    manifest = read_manifest(art.path)
    assert manifest["target"] == "onnxruntime"
    assert manifest["onnxruntime"]["providers"] == ["CPUExecutionProvider"]
    saved = onnx.load(str(art.path / "model.onnx"))
    onnx.checker.check_model(saved)
    # The shape arithmetic the legacy exporter emits is folded away.
    assert not {"Shape", "Concat", "Unsqueeze"} & {n.op_type for n in saved.graph.node}
    with np.load(MODELS / "inputs" / "lstm_legacy.npz") as data:
        feeds = {k: data[k] for k in data.files}
    got = dlgen.run(art.path, feeds)
    report = dlgen.verify(model, "onnxruntime", inputs=feeds, atol=1e-6, rtol=1e-5)
    assert report.ok
    with dlgen.load(model, target="c") as c_runner:
        want = c_runner.run(feeds)
    np.testing.assert_allclose(got["output"], want["output"], atol=1e-5, rtol=1e-4)
