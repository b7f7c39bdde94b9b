"""A real second execution provider: OpenVINO through the onnxruntime-openvino wheel.

That wheel replaces the onnxruntime package, so it lives in its own venv (`make openvino-venv`,
.venv-openvino at the repository root; OPENVINO_VENV overrides it). dlgen runs there from this
source tree through PYTHONPATH. When the venv is missing the first test builds it with make; the
tests skip, saying why, only when the wheel cannot be installed.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess

import numpy as np
import pytest

from ort_models import ROOT, det_model, save

pytestmark = pytest.mark.xdist_group("openvino")

FASHION = ROOT / "examples" / "fashion_cnn" / "model" / "fashion.onnx"
OV = "OpenVINOExecutionProvider"


@pytest.fixture(scope="session")
def ov_python():
    venv = os.environ.get("OPENVINO_VENV", str(ROOT / ".venv-openvino"))
    marker = os.path.join(venv, ".installed")
    with open(ROOT / ".openvino-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)          # one xdist worker builds it
        if not os.path.exists(marker):
            proc = subprocess.run(["make", "-s", "-C", str(ROOT), "openvino-venv",
                                   f"OV_VENV={venv}"], capture_output=True, text=True,
                                  timeout=1800)
            if proc.returncode != 0 or not os.path.exists(marker):
                pytest.skip("onnxruntime-openvino could not be installed (`make openvino-venv`): "
                            + (proc.stderr or proc.stdout)[-400:])
    return os.path.join(venv, "bin", "python")


@pytest.fixture
def ov(ov_python, dlgen_cli):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args):
        return dlgen_cli(*args, python=ov_python, env=env)

    return run


def test_the_venv_has_openvino(ov_python):
    out = subprocess.run([ov_python, "-c", "import onnxruntime as o; "
                          "print(o.get_available_providers())"], capture_output=True, text=True)
    assert OV in out.stdout, out.stderr


def test_compile_run_verify_on_openvino(tmp_path, ov, rng):
    out = tmp_path / "art"
    proc = ov("compile", FASHION, "-t", "onnxruntime", "--ep", "openvino", "-o", out)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "dlgen.json").read_text())
    cfg = manifest["onnxruntime"]
    assert cfg["providers"] == [OV] and cfg["fallback"] is None
    assert cfg["session_options"]["config_entries"] == {"session.disable_cpu_ep_fallback": "1"}
    # OpenVINO compiles nodes: offline only the basic level, the chosen level at load.
    assert cfg["offline_optimization"]["level"] == "basic"
    assert cfg["session_options"]["graph_optimization_level"] == "extended"
    # Every node of the model ran on OpenVINO, by ONNX Runtime's own record.
    assigned = cfg["assignment"]
    assert assigned["nodes"] and {n["provider"] for n in assigned["nodes"]} == {OV}
    assert {"Conv", "MaxPool", "Gemm"} <= {n["op_type"] for n in assigned["nodes"]}
    x = rng.random((1, 1, 28, 28), dtype=np.float32)
    np.savez(tmp_path / "in.npz", image=x)
    proc = ov("run", out, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz")
    assert proc.returncode == 0, proc.stderr
    import dlgen

    with np.load(tmp_path / "o.npz") as got:
        np.testing.assert_allclose(got["logits"], dlgen.run(FASHION, {"image": x},
                                                            target="onnxruntime")["logits"],
                                   rtol=1e-3, atol=1e-4)
    proc = ov("verify", out, "--inputs", tmp_path / "in.npz")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"onnxruntime:{OV}" in proc.stdout and "all outputs match" in proc.stdout
    snippet = (out / "load_model.py").read_text()
    assert f"'{OV}'" in snippet and "session.disable_cpu_ep_fallback" in snippet
    assert "AppendExecutionProvider_OpenVINO_V2" in (out / "load_model.cpp").read_text()


def test_alias_and_provider_options(tmp_path, ov):
    out = tmp_path / "art"
    proc = ov("compile", FASHION, "-t", "onnxruntime", "--ep", "OV", "--ep-option",
              "openvino:device_type=CPU", "-o", out)
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads((out / "dlgen.json").read_text())["onnxruntime"]
    assert cfg["requested_providers"] == ["openvino"]
    assert cfg["provider_options"] == {OV: {"device_type": "CPU"}}
    assert '{"device_type", "CPU"}' in (out / "load_model.cpp").read_text()


def test_unsupported_node_is_refused_without_fallback(tmp_path, ov):
    model = save(det_model(), tmp_path / "det.onnx")
    proc = ov("compile", model, "-t", "onnxruntime", "--ep", "openvino", "-o", tmp_path / "a")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "1 node(s) of the model are not supported by OpenVINOExecutionProvider: 'det' (Det)" \
        in proc.stderr
    assert "--fallback cpu" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "a").exists()


def test_explicit_fallback_is_recorded_and_printed(tmp_path, ov):
    model = save(det_model(), tmp_path / "det.onnx")
    out = tmp_path / "a"
    proc = ov("compile", model, "-t", "onnxruntime", "--ep", "openvino", "--fallback", "cpu",
              "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "fallback: 1 node(s) run on the CPU provider: 'det' (Det)" in proc.stdout
    cfg = json.loads((out / "dlgen.json").read_text())["onnxruntime"]
    assert cfg["providers"] == [OV, "CPUExecutionProvider"]
    assert [n["name"] for n in cfg["fallback_nodes"]] == ["det"]
    by_node = {n["name"]: n["provider"] for n in cfg["assignment"]["nodes"]}
    assert by_node == {"mm": OV, "relu": OV, "det": "CPUExecutionProvider"}
    proc = ov("verify", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bench_openvino_spec(tmp_path, ov):
    proc = ov("bench", FASHION, "-t", "onnxruntime", "-t", "onnxruntime:ov", "--iterations", "3",
              "--duration", "0", "--warm-up", "1", "--warm-up-time", "0",
              "--json", tmp_path / "b.json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["target"]: r for r in json.loads((tmp_path / "b.json").read_text())["results"]}
    assert rows["onnxruntime:openvino"]["providers"][0] == OV
    assert rows["onnxruntime:openvino"]["accuracy"]["max_abs_err"] < 1e-3
