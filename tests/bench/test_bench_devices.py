"""`dlgen bench --device qemu-aarch64 | qemu-arm | ssh://...`: the generated C's test bench
cross-compiled under qemu-user, and on a real sshd started on 127.0.0.1.

Outputs are compared with the host's C runner on the same artifact: bit for bit with the
reference kernels (scalar C99 under -std=c99: no FMA contraction, the same summation order;
glibc's expf/tanhf give the same results on every architecture), and within 1e-6 (absolute)
with the portable kernels, whose GCC vector code sums in an order that depends on the vector
width (the host runner builds with -march=native). No timing is asserted.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import dlgen
from dlgen.bench.devices import get_device
from dlgen.bench.qemu import TOOLCHAINS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sshd import local_sshd  # noqa: E402  (tests/bench/sshd.py)

FAST = {"warmup": 2, "warmup_time": 0.0, "iterations": 5, "duration": 0.0, "mode": "latency",
        "batch": 1}


def mlp_model(path: Path) -> Path:
    """x [2, 16] -> Gemm -> Sigmoid -> Gemm -> Tanh -> y [2, 5]: libm calls on the way."""
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
             for n, s in (("W1", (16, 12)), ("B1", (12,)), ("W2", (12, 5)), ("B2", (5,)))]
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W1", "B1"], ["h"]),
         helper.make_node("Sigmoid", ["h"], ["s"]),
         helper.make_node("Gemm", ["s", "W2", "B2"], ["z"]),
         helper.make_node("Tanh", ["z"], ["y"])], "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """C artifacts (portable and reference kernels), inputs saved as .npz, and the host C
    runner's outputs of each."""
    tmp = tmp_path_factory.mktemp("devices")
    model = mlp_model(tmp / "mlp.onnx")
    feeds = {"x": np.random.default_rng(0).standard_normal((2, 16)).astype(np.float32)}
    np.savez(tmp / "inputs.npz", **feeds)
    found = {"tmp": tmp, "model": model}
    for kernels in ("portable", "reference"):
        art = dlgen.compile(model, "c", tmp / kernels, name="mlp", options={"kernels": kernels})
        with dlgen.load(art.path) as runner:
            found[kernels] = (art.path, runner.run(feeds))
    found["artifact"] = found["portable"][0]
    return found


def same_as_host(case, outputs: dict, kernels: str) -> None:
    want = case[kernels][1]["y"]
    if kernels == "reference":
        np.testing.assert_array_equal(outputs["y"], want)                  # bitwise
    else:
        np.testing.assert_allclose(outputs["y"], want, rtol=0, atol=1e-6)


def run_job(device, case, name: str, kernels: str = "portable") -> tuple[dict, dict]:
    work = case["tmp"] / name
    work.mkdir()
    job = {"label": "c", "artifact": str(case[kernels][0]),
           "inputs": str(case["tmp"] / "inputs.npz"), "outputs": str(work / "out.npz"),
           "result": str(work / "result.json"), "threads": 1, "measure": dict(FAST)}
    result = device.run(job)
    with np.load(job["outputs"]) as data:
        return result, {k: data[k] for k in data.files}


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install qemu-user "
                    f"gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf)")


@pytest.mark.parametrize("kernels", ["reference", "portable"])
@pytest.mark.parametrize("name", ["qemu-aarch64", "qemu-arm"])
def test_qemu_outputs_equal_the_hosts(case, name, kernels):
    need(TOOLCHAINS[name].cc, TOOLCHAINS[name].emulator, "make")
    result, outputs = run_job(get_device(name), case, f"{name}-{kernels}", kernels)
    same_as_host(case, outputs, kernels)
    assert len(result["latencies_s"]) >= 5
    assert result["warmup_calls"] >= 2 and result["wall_s"] > 0
    assert result["peak_rss_bytes"] is None      # it would be qemu's, not the program's


def test_qemu_bench_cli_json(case, dlgen, fast):
    need(TOOLCHAINS["qemu-aarch64"].cc, "qemu-aarch64", "make")
    out = case["tmp"] / "q.json"
    proc = dlgen("bench", case["model"], "--device", "qemu-aarch64", *fast, "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert "qemu-aarch64 (emulated)" in proc.stdout and "EMULATED" in proc.stdout
    data = json.loads(out.read_text())
    assert data["environment"]["device"]["name"] == "qemu-aarch64"
    assert data["environment"]["device"]["emulated"] is True
    [row] = data["results"]                       # only the C target runs on a device
    assert (row["target"], row["device"], row["emulated"]) == ("c", "qemu-aarch64", True)
    assert row["accuracy"]["within_tolerance"] is True and row["iterations"] >= 2
    assert set(row["latency_ms"]) == {"p50", "p90", "p95", "p99", "mean", "min", "max", "std"}


@pytest.mark.parametrize("args, needle", [
    (["--device", "qemu-arm", "-t", "onnxruntime"], "only the C target runs on this device"),
    (["--device", "qemu-aarch64", "-t", "c:kernels=cblas"], "needs a CBLAS"),
    (["--device", "ssh://me@127.0.0.1:1"], "cannot connect to me@127.0.0.1 port 1"),
    (["--device", "ssh://me@127.0.0.1/x"], "is not ssh://user@host[:port]"),
    (["--device", "host", "--cc", "gcc"], "--cc names the compiler of a device build"),
])
def test_device_refusals_exit_2(case, dlgen, fast, args, needle):
    if "ssh://me@127.0.0.1:1" in args:
        need("ssh", "scp")
    proc = dlgen("bench", case["model"], *args, *fast)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "\nhint: " in proc.stderr and "Traceback" not in proc.stderr


def test_device_refuses_an_onnxruntime_artifact(case, dlgen, fast):
    art = dlgen_compile_ort(case)
    proc = dlgen("bench", art, "--device", "qemu-aarch64", *fast)
    assert proc.returncode == 2 and "only the C target runs" in proc.stderr, proc.stderr


def dlgen_compile_ort(case) -> Path:
    out = case["tmp"] / "ort-art"
    if not out.exists():
        dlgen.compile(case["model"], "onnxruntime", out)
    return out


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    with local_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.mark.parametrize("cc, kernels", [(None, "portable"), ("gcc", "reference")],
                         ids=["built-on-board", "cross-built-here"])
def test_ssh_device_outputs_equal_the_hosts(case, sshd, cc, kernels):
    from dlgen.bench.ssh import SshDevice

    device = SshDevice(sshd.url, cc=cc, options=sshd.options)
    result, outputs = run_job(device, case, f"ssh-{cc}", kernels)
    same_as_host(case, outputs, kernels)
    assert result["peak_rss_bytes"] > 0 and len(result["latencies_s"]) >= 5
    assert device.describe()["board"].startswith("Linux")


def test_ssh_bench_cli_json(case, sshd, tmp_path):
    import subprocess

    out = tmp_path / "s.json"
    env = {**os.environ, "DLGEN_SSH_OPTIONS": " ".join(sshd.options)}
    proc = subprocess.run([sys.executable, "-m", "dlgen.cli", "bench", str(case["model"]),
                           "--device", sshd.url, "--iterations", "3", "--duration", "0",
                           "--warm-up", "0", "--warm-up-time", "0", "--json", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    [row] = data["results"]
    assert row["device"] == sshd.url and row["emulated"] is False
    assert row["accuracy"]["within_tolerance"] is True
    assert data["environment"]["device"]["name"] == sshd.url
    assert data["environment"]["device"]["board"].startswith("Linux")
