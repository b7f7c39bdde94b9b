"""`dlgen compile --bound NAME=N`: lowering the bound of a data-dependent dim (NonZero here)."""
from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper

import dlgen as dlgen_api


def _non_zero_model(path):
    model = helper.make_model(helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["idx"], name="nz")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 5])],
        [helper.make_tensor_value_info("idx", TensorProto.INT64, [2, None])]),
        opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_compile_with_bound(tmp_path, dlgen):
    model = _non_zero_model(tmp_path / "nz.onnx")
    proc = dlgen("compile", model, "-o", tmp_path / "out", "--bound", "idx=6")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "out" / "dlgen.json").read_text())
    assert manifest["outputs"][0]["shape"] == [2, 6]
    assert manifest["outputs"][0]["dynamic"] == [False, True]
    assert manifest["options"]["bounds"] == {"idx": 6}
    assert "int64_t *idx_shape" in (tmp_path / "out" / "nz.h").read_text()
    x = np.zeros((4, 5), np.float32)
    x[1, 2] = x[3, 4] = 1
    with dlgen_api.load(tmp_path / "out") as runner:
        np.testing.assert_array_equal(runner.run({"x": x})["idx"], np.array(np.nonzero(x)))


def test_bad_bound_is_a_user_error(tmp_path, dlgen, user_error, no_output):
    model = _non_zero_model(tmp_path / "nz.onnx")
    user_error(dlgen("compile", model, "-o", tmp_path / "out", "--bound", "idx=many"),
               "--bound", "NAME=N")
    user_error(dlgen("compile", model, "-o", tmp_path / "out", "--bound", "x=3"),
               "'x'", "data-dependent", "'idx'")
    no_output(tmp_path / "out")
