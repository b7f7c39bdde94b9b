"""The `dlgen` command line, happy paths: compile, build the artifact with its own Makefile and
CMakeLists.txt, run, verify, inspect, targets."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import dlgen as dlgen_api
from dlgen import __version__
from dlgen.cli import main

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")

C_FILES = ["{n}.h", "{n}.c", "{n}_weights.c", "Makefile", "CMakeLists.txt", "main.c",
           "dlgen.json", "memory_plan.txt"]


def _x(shape=(2, 4), seed=3):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _compile(dlgen, model, out, *args):
    proc = dlgen("compile", model, "-o", out, *args)
    assert proc.returncode == 0, proc.stderr
    return proc


# -- entry points ----------------------------------------------------------------------------

def test_version(dlgen):
    proc = dlgen("--version")
    assert proc.returncode == 0
    assert __version__ in proc.stdout and "dlgen" in proc.stdout


def test_python_dash_m_dlgen():
    proc = subprocess.run([sys.executable, "-m", "dlgen", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"dlgen, version {__version__}" in proc.stdout


def test_help_lists_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("compile", "run", "verify", "inspect", "targets"):
        assert command in result.output


# -- compile ---------------------------------------------------------------------------------

def test_compile_c_writes_the_artifact(models, tmp_path, dlgen):
    out = tmp_path / "out"
    proc = _compile(dlgen, models.mlp(), out, "--name", "net")
    assert "net_run" in proc.stdout
    for f in C_FILES:
        assert (out / f.format(n="net")).is_file(), f
    assert (out / "runtime" / "include" / "dlgen" / "runtime.h").is_file()
    assert not (out / "net.bin").exists()
    manifest = json.loads((out / "dlgen.json").read_text())
    assert manifest["target"] == "c" and manifest["name"] == "net"
    assert manifest["inputs"] == [{"name": "x", "dtype": "float32", "shape": [2, 4]}]
    assert manifest["outputs"] == [{"name": "y", "dtype": "float32", "shape": [2, 3]}]
    assert manifest["c"]["weights_mode"] == "c"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_compile_default_name_is_the_file_stem(models, tmp_path, dlgen):
    out = tmp_path / "out"
    _compile(dlgen, models.mlp("digits.onnx"), out)
    assert (out / "digits.h").is_file() and (out / "digits.c").is_file()


def test_compile_weights_inline(models, tmp_path, dlgen, ort):
    model, out = models.mlp(), tmp_path / "out"
    _compile(dlgen, model, out, "--weights", "inline", "--name", "net")
    assert not (out / "net_weights.c").exists() and not (out / "net.bin").exists()
    assert "static const float" in (out / "net.c").read_text()
    x = _x()
    with dlgen_api.load(out) as runner:
        got = runner.run({"x": x})
    np.testing.assert_allclose(got["y"], ort(model, {"x": x})["y"], rtol=1e-5, atol=1e-6)


def test_compile_weights_bin(models, tmp_path, dlgen, ort):
    model, out = models.mlp(), tmp_path / "out"
    _compile(dlgen, model, out, "--weights", "bin", "--name", "net")
    assert (out / "net.bin").is_file() and not (out / "net_weights.c").exists()
    x = _x()
    np.savez(tmp_path / "in.npz", x=x)
    proc = dlgen("run", out, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz")
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "o.npz")["y"]
    np.testing.assert_allclose(got, ort(model, {"x": x})["y"], rtol=1e-5, atol=1e-6)


def test_compile_no_main(models, tmp_path, dlgen):
    out = tmp_path / "out"
    _compile(dlgen, models.mlp(), out, "--no-main")
    assert not (out / "main.c").exists() and (out / "mlp.c").exists()


def test_compile_into_an_empty_folder(models, tmp_path, dlgen):
    out = tmp_path / "out"
    out.mkdir()
    _compile(dlgen, models.mlp(), out)
    assert (out / "dlgen.json").is_file()


def test_compile_creates_parent_folders(models, tmp_path, dlgen):
    out = tmp_path / "a" / "b" / "out"
    _compile(dlgen, models.mlp(), out)
    assert (out / "dlgen.json").is_file()


def test_recompile_replaces_an_artifact(models, tmp_path, dlgen):
    out = tmp_path / "out"
    _compile(dlgen, models.mlp(), out, "--name", "first")
    (out / "first.o").write_bytes(b"build output")  # as `make` would leave
    _compile(dlgen, models.mlp(), out, "--name", "second")
    names = {p.name for p in out.iterdir()}
    assert "second.c" in names and "first.c" not in names and "first.o" not in names
    assert json.loads((out / "dlgen.json").read_text())["name"] == "second"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_compile_onnxruntime(models, tmp_path, dlgen, ort):
    model, out = models.mlp(), tmp_path / "out"
    proc = _compile(dlgen, model, out, "-t", "onnxruntime")
    assert "onnxruntime" in proc.stdout
    manifest = json.loads((out / "dlgen.json").read_text())
    assert manifest["target"] == "onnxruntime" and (out / "model.onnx").is_file()
    x = _x()
    np.savez(tmp_path / "in.npz", x=x)
    proc = dlgen("run", out, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(np.load(tmp_path / "o.npz")["y"], ort(model, {"x": x})["y"],
                               rtol=1e-6, atol=1e-6)


def test_compile_with_input_shape(models, tmp_path, dlgen, ort):
    model, out = models.dynamic(), tmp_path / "out"
    _compile(dlgen, model, out, "--input-shape", "x=5x4")
    x = _x((5, 4))
    with dlgen_api.load(out) as runner:
        got = runner.run({"x": x})
    np.testing.assert_allclose(got["y"], ort(model, {"x": x})["y"], rtol=1e-5, atol=1e-6)


# -- the artifact builds on its own ----------------------------------------------------------

@needs_cc
@needs_make
@pytest.mark.parametrize("weights", ["c", "inline", "bin"])
def test_makefile_builds_library_and_test_bench(weights, models, tmp_path, dlgen, ort):
    model, out = models.mlp(), tmp_path / "out"
    _compile(dlgen, model, out, "--name", "net", "--weights", weights)
    for goal in ([], ["main"]):
        proc = subprocess.run(["make", "-C", str(out), *goal], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "libnet.a").is_file() and (out / "net_main").is_file()
    x = _x()
    x.astype("<f4").tofile(tmp_path / "in.bin")
    proc = subprocess.run(["./net_main", "-n", "3", "-i", str(tmp_path / "in.bin"),
                           "-o", str(tmp_path / "out.bin")], cwd=out, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "3 run(s)" in proc.stdout
    got = np.fromfile(tmp_path / "out.bin", dtype="<f4").reshape(2, 3)
    np.testing.assert_allclose(got, ort(model, {"x": x})["y"], rtol=1e-5, atol=1e-6)


@needs_cc
@needs_cmake
def test_cmake_builds_library_and_test_bench(models, tmp_path, dlgen, ort):
    model, out, build = models.mlp(), tmp_path / "out", tmp_path / "build"
    _compile(dlgen, model, out, "--name", "net")
    for cmd in (["cmake", "-S", str(out), "-B", str(build)],
                ["cmake", "--build", str(build)],
                ["cmake", "--build", str(build), "--target", "net_main"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (build / "libnet.a").is_file()
    x = _x()
    x.astype("<f4").tofile(tmp_path / "in.bin")
    proc = subprocess.run([str(build / "net_main"), "-i", str(tmp_path / "in.bin"),
                           "-o", str(tmp_path / "out.bin")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = np.fromfile(tmp_path / "out.bin", dtype="<f4").reshape(2, 3)
    np.testing.assert_allclose(got, ort(model, {"x": x})["y"], rtol=1e-5, atol=1e-6)


# -- run -------------------------------------------------------------------------------------

def test_run_artifact_folder(models, tmp_path, dlgen, ort):
    model, out = models.mlp(), tmp_path / "out"
    _compile(dlgen, model, out)
    x = _x()
    np.savez(tmp_path / "in.npz", x=x)
    proc = dlgen("run", out, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz")
    assert proc.returncode == 0, proc.stderr
    assert "outputs (c)" in proc.stdout and "'y': float32 [2, 3]" in proc.stdout
    got = np.load(tmp_path / "o.npz")
    assert list(got.files) == ["y"]
    np.testing.assert_allclose(got["y"], ort(model, {"x": x})["y"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("target", ["c", "onnxruntime"])
def test_run_model_file(target, models, tmp_path, dlgen, ort):
    model = models.mlp()
    x = _x()
    np.savez(tmp_path / "in.npz", x=x)
    proc = dlgen("run", model, "-t", target, "--inputs", tmp_path / "in.npz",
                 "--outputs", tmp_path / "o.npz")
    assert proc.returncode == 0, proc.stderr
    assert f"outputs ({target})" in proc.stdout
    np.testing.assert_allclose(np.load(tmp_path / "o.npz")["y"], ort(model, {"x": x})["y"],
                               rtol=1e-5, atol=1e-6)


def test_run_outputs_without_suffix(models, tmp_path, dlgen):
    proc = dlgen("run", models.mlp(), "--outputs", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o.npz").is_file()
    assert str(tmp_path / "o.npz") in proc.stdout  # says where the file really is


def test_run_random_inputs(models, dlgen):
    proc = dlgen("run", models.mlp())
    assert proc.returncode == 0, proc.stderr
    assert "inputs: random" in proc.stdout and "'y'" in proc.stdout


# -- verify ----------------------------------------------------------------------------------

def test_verify_ok(models, dlgen):
    proc = dlgen("verify", models.mlp())
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "all outputs match" in proc.stdout and "'y'" in proc.stdout


def test_verify_with_inputs(models, tmp_path, dlgen):
    np.savez(tmp_path / "in.npz", x=_x())
    proc = dlgen("verify", models.mlp(), "--inputs", tmp_path / "in.npz")
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_verify_api_reports_a_mismatch(models):
    """Long float dot products in C and in ORT round differently: zero tolerance fails."""
    report = dlgen_api.verify(models.big_gemm(), "c", atol=0.0, rtol=0.0)
    if report.ok:
        pytest.skip("C and ONNX Runtime agree bit for bit on this machine")
    assert report.outputs[0].mismatches > 0 and report.outputs[0].max_abs_err > 0


def test_verify_mismatch_exits_1(models, dlgen):
    model = models.big_gemm()
    if dlgen_api.verify(model, "c", atol=0.0, rtol=0.0).ok:
        pytest.skip("C and ONNX Runtime agree bit for bit on this machine")
    proc = dlgen("verify", model, "--atol", "0", "--rtol", "0")
    assert proc.returncode == 1, proc.stderr + proc.stdout
    assert "MISMATCH" in proc.stdout and "Traceback" not in proc.stderr
    assert "differ" in proc.stderr
    proc = dlgen("verify", model)  # the default tolerances accept it
    assert proc.returncode == 0, proc.stderr + proc.stdout


# -- inspect and targets ---------------------------------------------------------------------

def test_inspect_text(models, dlgen):
    proc = dlgen("inspect", models.mlp())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "input  'x': float32 [2, 4]" in out and "output 'y': float32 [2, 3]" in out
    assert "FLOPs" in out and "parameters 15" in out
    assert "Gemm" in out
    assert "target c: supported; arena" in out
    assert "Planner" in out  # the memory plan drawing


def test_inspect_json(models, dlgen):
    proc = dlgen("inspect", models.mlp(), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["inputs"] == [{"name": "x", "dtype": "float32", "shape": [2, 4]}]
    assert info["imported"]["ops"] == {"Gemm": 1, "Relu": 1}
    assert info["compiled"]["flops"] > 0 and info["compiled"]["parameters"] == 15
    assert info["c_support"]["supported"] is True
    assert "arena_bytes" in info["memory"] and "plan" in info["memory"]


def test_inspect_with_input_shape(models, dlgen):
    proc = dlgen("inspect", models.dynamic(), "--input-shape", "x=7x4", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"][0]["shape"] == [7, 3]


def test_targets(dlgen):
    proc = dlgen("targets")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()
            if line.startswith("  ") and len(line.split()) > 1}
    assert rows.get("c") in ("yes", "no") and rows.get("onnxruntime") == "yes"
    assert rows.get("tensorrt") == "no"
    assert "C compilers:" in proc.stdout and "onnxruntime" in proc.stdout
