"""The onnxruntime artifact: files, manifest, node assignment, ORT format, loader snippets, and
run / verify / bench on the artifact folder."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import dlgen
from dlgen.targets.onnxruntime import session as ortsess
from dlgen.targets.onnxruntime.snippets import cpp_string

from ort_models import ROOT, save

FASHION = ROOT / "examples" / "fashion_cnn" / "model" / "fashion.onnx"


@pytest.mark.parametrize("level", ["basic", "extended", "all"])
def test_round_trip(tmp_path, level, rng):
    art = dlgen.compile(FASHION, "onnxruntime", tmp_path / "art", options={"opt_level": level})
    files = {p.name for p in art.path.iterdir()}
    assert files == {"dlgen.json", "model.onnx", "model.ort", "load_model.py", "load_model.cpp"}
    cfg = art.manifest["onnxruntime"]
    assert cfg["providers"] == ["CPUExecutionProvider"] and cfg["requested_providers"] == ["cpu"]
    assert cfg["offline_optimization"] == {"level": level, "providers": ["CPUExecutionProvider"]}
    assert cfg["session_options"]["graph_optimization_level"] == "disable_all"
    assert art.manifest["options"]["opt_level"] == level
    # The assignment names the nodes of the optimized model, every one on the CPU provider.
    saved = onnx.load(str(art.path / "model.onnx"))
    assigned = cfg["assignment"]
    assert assigned["method"] == "InferenceSession.get_provider_graph_assignment_info"
    assert {n["name"] for n in assigned["nodes"]} == {n.name for n in saved.graph.node}
    assert assigned["counts"] == {"CPUExecutionProvider": len(saved.graph.node)}
    if level != "basic":   # ORT's fusions (FusedConv, FusedGemm) and NCHWc layouts: contrib ops
        assert any(n.domain.startswith("com.microsoft") for n in saved.graph.node)
    x = {"image": rng.random((1, 1, 28, 28), dtype=np.float32)}
    want = dlgen.run(FASHION, x, target="onnxruntime")["logits"]
    np.testing.assert_allclose(dlgen.run(art.path, x)["logits"], want, rtol=1e-4, atol=1e-5)
    ort_format = ort.InferenceSession(str(art.path / "model.ort"),
                                      providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(ort_format.run(None, x)[0], want, rtol=1e-4, atol=1e-5)


def test_cli_compile_run_verify_bench_on_the_artifact(tmp_path, mlp, dlgen_cli):
    out = tmp_path / "art"
    proc = dlgen_cli("compile", mlp, "-t", "onnxruntime", "--ep", "cpu", "--opt-level", "all",
                     "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "nodes by provider: CPUExecutionProvider" in proc.stdout
    assert "model.ort, load_model.py, load_model.cpp" in proc.stdout
    x = np.random.default_rng(3).standard_normal((2, 16)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    proc = dlgen_cli("run", out, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "o.npz") as got:
        np.testing.assert_allclose(got["logits"], dlgen.run(mlp, {"x": x}, target="onnxruntime")
                                   ["logits"], rtol=1e-5, atol=1e-6)
    proc = dlgen_cli("verify", out)
    assert proc.returncode == 0 and "onnxruntime:CPUExecutionProvider" in proc.stdout, proc.stderr
    proc = dlgen_cli("bench", out, "--iterations", "2", "--duration", "0", "--warm-up", "0",
                     "--warm-up-time", "0", "--json", tmp_path / "b.json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads((tmp_path / "b.json").read_text())["results"][0]
    assert row["target"] == "onnxruntime" and row["providers"] == ["CPUExecutionProvider"]


def test_python_snippet_runs(tmp_path, mlp):
    art = dlgen.compile(mlp, "onnxruntime", tmp_path / "art")
    proc = subprocess.run([sys.executable, "load_model.py"], cwd=art.path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "logits float32 (2, 10)" in proc.stdout and "CPUExecutionProvider" in proc.stdout


def test_cpp_snippet_matches_the_session(tmp_path, mlp):
    art = dlgen.compile(mlp, "onnxruntime", tmp_path / "art", options={"opt_level": "basic"})
    text = (art.path / "load_model.cpp").read_text()
    assert "#include <onnxruntime_cxx_api.h>" in text
    assert "GraphOptimizationLevel::ORT_DISABLE_ALL" in text
    assert 'const char *input_names[] = {"x"};' in text
    assert 'const char *output_names[] = {"logits"};' in text
    assert "std::array<int64_t, 2> input0_shape{2, 16};" in text


def test_cpp_string_escapes_untrusted_names():
    assert cpp_string('a"b\\c?') == '"a\\"b\\\\c\\?"'
    assert cpp_string("x\ny") == '"x\\012y"'
    assert cpp_string("é") == '"\\303\\251"'
    assert cpp_string("*/ // */") == '"*/ // */"'


def test_snippets_escape_names(tmp_path, rng):
    from ort_models import mlp_model

    model = mlp_model(rng)
    odd = 'x"\n);print("pwned'
    for node in model.graph.node:
        node.input[:] = [odd if i == "x" else i for i in node.input]
    model.graph.input[0].name = odd
    art = dlgen.compile(save(model, tmp_path / "odd.onnx"), "onnxruntime", tmp_path / "art")
    py = (art.path / "load_model.py").read_text()
    compile(py, "load_model.py", "exec")      # still valid Python
    assert "pwned\"" not in py.split("feeds = {")[1].split("}")[0].replace("\\\"", "")
    assert "\\012" in (art.path / "load_model.cpp").read_text()


def test_profiling_assignment_when_the_api_is_missing(tmp_path, mlp):
    """Older onnxruntime releases have no get_provider_graph_assignment_info: profile once."""
    cfg = ortsess.SessionConfig(providers=["CPUExecutionProvider"], opt_level="basic")
    sess = ortsess.create(mlp, cfg)

    class Old:   # an InferenceSession without the call
        def __init__(self, s):
            self.s = s

    result = ortsess.assignment(Old(sess), mlp, cfg)
    assert result["method"].startswith("profiling")
    assert {n["name"] for n in result["nodes"]} >= {"relu", "softmax"}
    assert set(result["counts"]) == {"CPUExecutionProvider"}


def test_fp16_artifact(tmp_path, rng):
    art = dlgen.compile(FASHION, "onnxruntime", tmp_path / "art", options={"precision": "fp16"})
    assert art.manifest["options"]["precision"] == "fp16" and art.manifest["precision"] == "fp16"
    assert art.manifest["inputs"][0]["dtype"] == "float32"
    x = {"image": rng.random((1, 1, 28, 28), dtype=np.float32)}
    got = dlgen.run(art.path, x)["logits"]
    want = dlgen.run(FASHION, x, target="onnxruntime")["logits"]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-2, atol=2e-2)
