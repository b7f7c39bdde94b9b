"""`dlgen quantize`: dynamic and static int8 numerics, the report, refusals, and real data."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from dlgen.errors import BadInput
from dlgen.targets.onnxruntime.quantize import quantize

from ort_models import ROOT, mlp_model, save

FASHION = ROOT / "examples" / "fashion_cnn" / "model" / "fashion.onnx"


@pytest.fixture
def data(rng):
    """Calibration and eval sets for the MLP (batch dim 1), with labels from the fp32 model."""
    return {"x": rng.standard_normal((64, 1, 16)).astype(np.float32)}


@pytest.fixture
def mlp1(tmp_path, rng):
    return save(mlp_model(rng, softmax=False, batch=1), tmp_path / "mlp.onnx")


def _ops(path):
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def test_dynamic(tmp_path, mlp1, data):
    out = tmp_path / "q.onnx"
    report = quantize(mlp1, out, mode="dynamic", eval_set=data)
    assert "MatMulInteger" in _ops(out) or "DynamicQuantizeLinear" in _ops(out)
    (s,) = report.sets
    assert s.name == "eval" and s.samples == 64
    assert s.mean_abs_err < 0.05 and s.max_abs_err < 1.0 and s.top1_agreement >= 0.9
    assert report.fp32_p50_ms > 0 and report.int8_p50_ms > 0
    assert report.int8_bytes < report.fp32_bytes


@pytest.mark.parametrize("fmt, ops", [("qdq", {"QuantizeLinear", "DequantizeLinear"}),
                                      ("qoperator", {"QGemm"})])
@pytest.mark.parametrize("per_channel", [False, True])
def test_static(tmp_path, mlp1, data, fmt, ops, per_channel):
    out = tmp_path / "q.onnx"
    report = quantize(mlp1, out, mode="static", calibration=data, per_channel=per_channel, fmt=fmt,
                      reduce_range=per_channel)
    assert ops <= _ops(out) and "MatMul" not in _ops(out)
    (s,) = report.sets
    assert s.name == "calibration" and s.mean_abs_err < 0.1 and s.top1_agreement >= 0.9
    d = report.to_dict()
    assert d["format"] == fmt and d["per_channel"] == per_channel
    assert d["speed_ratio_int8_over_fp32"] == pytest.approx(report.int8_p50_ms / report.fp32_p50_ms)


def test_samples_along_a_new_axis_or_the_batch_axis(tmp_path, mlp1, data):
    flat = {"x": data["x"][:, 0, :]}          # [64, 16] for input [1, 16]: axis 0 = samples
    r1 = quantize(mlp1, tmp_path / "a.onnx", mode="static", calibration=flat)
    r2 = quantize(mlp1, tmp_path / "b.onnx", mode="static", calibration=data)
    assert r1.sets[0].samples == r2.sets[0].samples == 64
    assert r1.sets[0].max_abs_err == pytest.approx(r2.sets[0].max_abs_err)


def test_labels_give_accuracy(tmp_path, mlp1, data):
    labels = np.zeros(64, np.int64)
    report = quantize(mlp1, tmp_path / "q.onnx", mode="dynamic", eval_set={**data, "labels": labels})
    s = report.sets[0]
    assert s.accuracy_fp32 is not None and s.accuracy_int8 is not None
    assert s.accuracy_drop_points == pytest.approx(100 * (s.accuracy_fp32 - s.accuracy_int8))


def test_random_inputs_without_data(tmp_path, mlp1):
    report = quantize(mlp1, tmp_path / "q.onnx", mode="dynamic")
    assert report.sets[0].name.startswith("random inputs")


@pytest.mark.parametrize("kwargs, needle", [
    ({"mode": "static"}, "--mode static needs --calibration"),
    ({"mode": "dynamic", "fmt": "qdq"}, "--format applies to --mode static only"),
    ({"mode": "static", "calibration": {"y": np.zeros((2, 16), np.float32)}},
     "lacks the model input(s) 'x'"),
    ({"mode": "static", "calibration": {"x": np.zeros((2, 3, 4, 16), np.float32)}},
     "the model input has rank 2"),
    ({"mode": "dynamic", "eval_set": {"x": np.zeros((4, 1, 16), np.float32),
                                      "labels": np.zeros(3)}}, "3 labels for 4 samples"),
    ({"mode": "int4"}, "is not dynamic or static"),
])
def test_refusals(tmp_path, mlp1, kwargs, needle):
    with pytest.raises(BadInput) as info:
        quantize(mlp1, tmp_path / "q.onnx", **kwargs)
    assert needle in info.value.message


def test_cli(tmp_path, mlp1, data, dlgen_cli):
    np.savez(tmp_path / "calib.npz", **data)
    proc = dlgen_cli("quantize", mlp1, "-o", tmp_path / "q.onnx", "--mode", "static",
                     "--calibration", tmp_path / "calib.npz", "--eval", tmp_path / "calib.npz",
                     "--per-channel", "--format", "qoperator", "--report", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    assert "calibration: 64 samples" in proc.stdout and "eval: 64 samples" in proc.stdout
    assert "ratio int8/fp32" in proc.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["mode"] == "static" and len(report["sets"]) == 2
    proc = dlgen_cli("quantize", mlp1, "-o", tmp_path / "q2.onnx", "--mode", "static")
    assert proc.returncode == 2 and "needs --calibration" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fashion_cnn_static_loses_at_most_one_point(tmp_path):
    """Real data: the Fashion-MNIST CNN, calibrated on 500 training images, on 2000 test images."""
    import sys

    sys.path.insert(0, str(ROOT / "examples" / "fashion_cnn"))
    import idx

    try:
        train_x, _ = idx.load("train")
        test_x, test_y = idx.load("t10k")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    pick = np.random.default_rng(0).choice(len(train_x), 500, replace=False)
    calib = {"image": (train_x[pick].astype(np.float32) / 255)[:, None, None]}
    evals = {"image": (test_x[:2000].astype(np.float32) / 255)[:, None, None],
             "labels": test_y[:2000]}
    report = quantize(FASHION, tmp_path / "q.onnx", mode="static", calibration=calib,
                      eval_set=evals)
    s = report.sets[-1]
    assert s.name == "eval" and s.samples == 2000
    assert s.accuracy_fp32 > 0.88
    assert s.accuracy_drop_points <= 1.0, report.to_dict()
