"""simplify/fuse/optimize on the PyTorch-exported fixture models (tests/fixtures/models)."""
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest

from dlgen.ir import from_onnx
from dlgen.passes import fuse, optimize, simplify

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"
STATIC = ["mlp_legacy", "mlp_dynamo", "lenet_legacy", "lenet_dynamo", "lenet_bn_legacy",
          "lenet_bn_dynamo", "lstm_legacy", "lstm_dynamo", "lstm_noopt_dynamo", "gru_legacy",
          "gru_dynamo", "gru_noopt_dynamo"]
SHAPE_OPS = {"Shape", "Size", "Constant", "Concat", "Unsqueeze", "Slice", "Mul", "Expand"}


def load(stem: str):
    model = onnx.load(MODELS / f"{stem}.onnx")
    feeds = dict(np.load(MODELS / "inputs" / f"{stem}.npz"))
    return model, from_onnx(onnx.shape_inference.infer_shapes(model)), feeds


@pytest.mark.parametrize("stem", STATIC)
def test_optimize_keeps_fixture_model_numerics(kit, stem):
    model, graph, feeds = load(stem)
    after = optimize(graph)
    assert len(after.nodes) <= len(graph.nodes)
    assert not SHAPE_OPS & set(kit.op_types(after)), "shape computations should fold away"
    assert "BatchNormalization" not in kit.op_types(after)
    kit.assert_matches_ort(after, model, feeds=feeds, rtol=1e-4, atol=1e-5)


def test_lenet_bn_optimizes_to_fused_layers(kit):
    _, graph, _ = load("lenet_bn_legacy")
    counts = Counter(kit.op_types(optimize(graph)))
    assert counts["FusedConv"] == 2 and counts["FusedGemm"] == 2 and counts["Relu"] == 0


def test_simplify_is_idempotent(kit):
    _, graph, _ = load("lstm_noopt_dynamo")
    once = simplify(graph)
    twice = simplify(once)
    assert kit.op_types(once) == kit.op_types(twice)
    assert set(once.values) == set(twice.values)


def test_dynamic_batch_model_still_optimizes(kit):
    model, graph, feeds = load("mlp_dynbatch_legacy")
    after = fuse(simplify(graph))
    assert kit.op_types(after) == ["FusedGemm", "Gemm"]
    kit.assert_matches_ort(after, model, feeds=feeds, rtol=1e-4, atol=1e-5)
