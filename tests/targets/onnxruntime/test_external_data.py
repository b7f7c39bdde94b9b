"""Models whose initializers live in external data: the artifact keeps them in model.onnx.data
beside model.onnx (ONNX Runtime writes it during the offline optimization), dlgen.json records
it, model.ort is skipped for large weights, and run / verify / bench / the snippets load it.

The real trigger is initializers of about 1 GiB and more (protobuf cannot write 2 GiB); the
tests lower the threshold with DLGEN_ORT_EXTERNAL_DATA_THRESHOLD instead of writing gigabytes.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.targets.onnxruntime import target as ort_target

THRESHOLD = ort_target.THRESHOLD_ENV


def wide_mlp(rng) -> onnx.ModelProto:
    """x [2, 64] -> MatMul 64x256 + Add -> Relu -> MatMul 256x8: about 70 KB of weights."""
    inits = {"w1": rng.standard_normal((64, 256)).astype(np.float32) * 0.2,
             "b1": rng.standard_normal(256).astype(np.float32) * 0.1,
             "w2": rng.standard_normal((256, 8)).astype(np.float32) * 0.2}
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
         helper.make_node("Add", ["h0", "b1"], ["h1"], name="bias1"),
         helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
         helper.make_node("MatMul", ["h2", "w2"], ["y"], name="fc2")], "wide",
        [helper.make_tensor_value_info("x", 1, [2, 64])],
        [helper.make_tensor_value_info("y", 1, [2, 8])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.fixture
def external_source(tmp_path, rng):
    """The model saved with its initializers in wide.onnx.data."""
    folder = tmp_path / "src"
    folder.mkdir()
    onnx.save_model(wide_mlp(rng), str(folder / "wide.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="wide.onnx.data", size_threshold=0)
    return folder / "wide.onnx"


def _feeds():
    return {"x": np.random.default_rng(5).standard_normal((2, 64)).astype(np.float32)}


def _reference(model_path) -> np.ndarray:
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return sess.run(None, _feeds())[0]


def _external_initializers(path) -> list[str]:
    model = onnx.load(str(path), load_external_data=False)
    return [t.name for t in model.graph.initializer
            if t.data_location == onnx.TensorProto.EXTERNAL]


def test_source_with_external_data(tmp_path, external_source, monkeypatch):
    monkeypatch.delenv(THRESHOLD, raising=False)
    art = dlgen.compile(external_source, "onnxruntime", tmp_path / "art")
    cfg = art.manifest["onnxruntime"]
    ext = cfg["external_data"]
    assert ext["file"] == "model.onnx.data" and "source model" in ext["why"]
    assert ext["large"] is False and ext["bytes"] == (art.path / "model.onnx.data").stat().st_size
    assert set(_external_initializers(art.path / "model.onnx")) >= {"w1", "w2"}
    # Small weights: the ORT format can still hold them (it embeds them).
    assert cfg["ort_model"] == "model.ort"
    want = _reference(external_source)
    np.testing.assert_allclose(dlgen.run(art.path, _feeds())["y"], want, rtol=1e-5, atol=1e-5)


def test_threshold_moves_weights_out_and_skips_ort_format(tmp_path, rng, monkeypatch):
    source = tmp_path / "wide.onnx"
    onnx.save_model(wide_mlp(rng), str(source))              # weights embedded
    monkeypatch.setenv(THRESHOLD, "4096")
    art = dlgen.compile(source, "onnxruntime", tmp_path / "art")
    cfg = art.manifest["onnxruntime"]
    ext = cfg["external_data"]
    assert ext["large"] is True and ext["threshold"] == 4096
    assert ext["initializer_bytes"] > 4096 and "protobuf" in ext["why"]
    assert {p.name for p in art.path.iterdir()} == {
        "dlgen.json", "model.onnx", "model.onnx.data", "load_model.py", "load_model.cpp"}
    assert cfg["ort_model"] is None and "2 GiB" in cfg["ort_format"]["why"]
    assert (art.path / "model.onnx").stat().st_size < ext["bytes"]
    assert "model.onnx.data" in (art.path / "load_model.cpp").read_text()
    assert "model.onnx.data" in (art.path / "load_model.py").read_text()
    want = _reference(source)
    np.testing.assert_allclose(dlgen.run(art.path, _feeds())["y"], want, rtol=1e-5, atol=1e-5)
    # The folder moves as a whole: the data file is found next to model.onnx.
    moved = shutil.move(str(art.path), str(tmp_path / "moved"))
    proc = subprocess.run([sys.executable, os.path.join(moved, "load_model.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "y float32 (2, 8)" in proc.stdout


def test_small_models_stay_in_one_file(tmp_path, rng, monkeypatch):
    monkeypatch.delenv(THRESHOLD, raising=False)
    source = tmp_path / "wide.onnx"
    onnx.save_model(wide_mlp(rng), str(source))
    art = dlgen.compile(source, "onnxruntime", tmp_path / "art")
    assert art.manifest["onnxruntime"]["external_data"] is None
    assert not (art.path / "model.onnx.data").exists() and _external_initializers(
        art.path / "model.onnx") == []


def test_cli_run_verify_bench_with_external_data(tmp_path, external_source, dlgen_cli):
    out = tmp_path / "art"
    env = {**os.environ, THRESHOLD: "4096"}
    proc = dlgen_cli("compile", external_source, "-t", "onnxruntime", "-o", out, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "dlgen.json").read_text())["onnxruntime"]["external_data"]["large"]
    np.savez(tmp_path / "in.npz", **_feeds())
    proc = dlgen_cli("run", out, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "o.npz") as got:
        np.testing.assert_allclose(got["y"], _reference(external_source), rtol=1e-5, atol=1e-5)
    proc = dlgen_cli("verify", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = dlgen_cli("verify", external_source, "-t", "onnxruntime", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = dlgen_cli("bench", out, "--iterations", "2", "--duration", "0", "--warm-up", "0",
                     "--warm-up-time", "0", "--json", tmp_path / "b.json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "b.json").read_text())["results"][0]["target"] == "onnxruntime"
