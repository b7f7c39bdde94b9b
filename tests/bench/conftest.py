"""Fixtures for the benchmark harness tests: a tiny model and a way to run `dlgen bench`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

# Settings that make a measurement take milliseconds: these tests check plumbing, never speed.
FAST = ["--warm-up", "0", "--warm-up-time", "0", "--iterations", "2", "--duration", "0"]


def tiny_model(path: Path, batch="N") -> Path:
    """x [batch, 4] -> Gemm (4x3) -> Relu -> y [batch, 3]."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "B")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "B"], ["h"], name="fc"),
         helper.make_node("Relu", ["h"], ["y"], name="act")], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def run_dlgen(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlgen.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture
def fast() -> list[str]:
    return list(FAST)


@pytest.fixture
def dlgen():
    return run_dlgen


@pytest.fixture
def make_tiny():
    return tiny_model


@pytest.fixture(scope="module")
def fast_module() -> list[str]:
    return list(FAST)


@pytest.fixture(scope="module")
def dlgen_module():
    return run_dlgen
