"""PyTorch-exported models (default dynamo exporter and legacy TorchScript exporter) compile to C
and match ONNX Runtime. The fixtures and the script that made them are in tests/fixtures/."""
from pathlib import Path

import numpy as np
import pytest

import dlgen
from dlgen.targets.c.build import check_compiles

MODELS = Path(__file__).resolve().parent / "fixtures" / "models"
CASES = sorted(p.stem for p in MODELS.glob("*.onnx"))
SHAPES = {"mlp_dynbatch_legacy": {"input": (3, 784)}}


def _inputs(stem: str) -> dict[str, np.ndarray]:
    with np.load(MODELS / "inputs" / f"{stem}.npz") as data:
        return {k: data[k] for k in data.files}


def test_fixtures_present():
    kinds = {c.rsplit("_", 1)[0] for c in CASES}
    assert {"mlp", "lenet", "lstm", "gru"} <= kinds
    for kind in ("mlp", "lenet", "lstm", "gru"):
        assert f"{kind}_dynamo" in CASES and f"{kind}_legacy" in CASES


@pytest.mark.parametrize("stem", CASES)
def test_model_matches_onnxruntime(stem):
    report = dlgen.verify(MODELS / f"{stem}.onnx", "c", inputs=_inputs(stem),
                          input_shapes=SHAPES.get(stem), atol=1e-4, rtol=1e-3)
    assert report.outputs and report.ok, report


@pytest.mark.parametrize("stem", ["lenet_bn_dynamo", "lstm_legacy", "gru_dynamo"])
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_model_compiles_strict(stem, cc, tmp_path):
    art = dlgen.compile(MODELS / f"{stem}.onnx", "c", tmp_path / "out", name=stem)
    check_compiles(art.path, cc=cc)


def test_unbound_batch_is_an_error(tmp_path):
    with pytest.raises(dlgen.DlgenError, match="unbound dim 0 .'batch'.") as err:
        dlgen.compile(MODELS / "mlp_dynbatch_legacy.onnx", "c", tmp_path / "out")
    assert "--input-shape input=Nx784" in err.value.hint
    assert not (tmp_path / "out").exists()
