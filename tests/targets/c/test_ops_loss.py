"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against ONNX Runtime."""
import numpy as np
import onnx
import pytest
from onnx import helper

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import check_op, dlgen_outputs, make_model

SHAPES = [(4, 5), (3, 5, 2), (2, 4, 3, 5)]  # [N, C, d1, ...]


def _target(rng, shape, classes, ignore_index=None):
    t = rng.integers(0, classes, (shape[0],) + shape[2:]).astype(np.int64)
    if ignore_index is not None:
        t.reshape(-1)[::3] = ignore_index  # every third element is ignored
    return t


def _loss_inputs(rng, shape, weighted, ignore_index, log_prob):
    x = rng.standard_normal(shape).astype(np.float32)
    if log_prob:
        x = (x - np.log(np.exp(x).sum(axis=1, keepdims=True))).astype(np.float32)
    inputs = {"x": x, "t": _target(rng, shape, shape[1], ignore_index)}
    if weighted:
        inputs["w"] = rng.uniform(0.2, 2.0, shape[1]).astype(np.float32)
    return inputs


def _attrs(reduction, ignore_index):
    attrs = {"reduction": reduction}
    if ignore_index is not None:
        attrs["ignore_index"] = ignore_index
    return attrs


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 1, -1])
def test_nll_loss(shape, reduction, weighted, ignore_index, rng):
    inputs = _loss_inputs(rng, shape, weighted, ignore_index, log_prob=True)
    check_op("NegativeLogLikelihoodLoss", inputs, attrs=_attrs(reduction, ignore_index),
             opset=13)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 2])
@pytest.mark.parametrize("outputs", [1, 2])
def test_softmax_cross_entropy_loss(shape, reduction, weighted, ignore_index, outputs, rng):
    inputs = _loss_inputs(rng, shape, weighted, ignore_index, log_prob=False)
    inputs["x"] *= 3
    check_op("SoftmaxCrossEntropyLoss", inputs, attrs=_attrs(reduction, ignore_index),
             outputs=outputs, opset=13)


def test_nll_loss_weight_as_constant(rng):
    inputs = _loss_inputs(rng, (3, 4, 6), False, None, log_prob=True)
    w = np.array([0.5, 1.0, 2.0, 0.0], np.float32)
    check_op("NegativeLogLikelihoodLoss", inputs, consts={"w": w}, opset=13)


def test_nll_loss_mean_of_nothing_is_nan(rng):
    # Every element ignored: the mean divides 0 by a weight sum of 0, as ONNX Runtime does.
    inputs = {"x": rng.standard_normal((3, 4)).astype(np.float32),
              "t": np.array([1, 1, 1], np.int64)}
    model = make_model("NegativeLogLikelihoodLoss", inputs, attrs={"ignore_index": 1},
                       opset=13)
    assert np.isnan(dlgen_outputs(model, inputs)["y0"])


def test_loss_non_float_refused(rng):
    x = rng.standard_normal((3, 4)).astype(np.float64)
    inputs = {"x": x, "t": np.array([0, 1, 3], np.int64)}
    model = make_model("NegativeLogLikelihoodLoss", inputs, opset=13)
    with pytest.raises(Unsupported, match="float32"):
        dlgen_outputs(model, inputs)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_loss_family_compiles_strict(cc, tmp_path, rng):
    nodes = [helper.make_node("SoftmaxCrossEntropyLoss", ["x", "t", "w"], ["l", "lp"],
                              reduction="none", ignore_index=1),
             helper.make_node("NegativeLogLikelihoodLoss", ["lp", "t"], ["m"])]
    graph = helper.make_graph(
        nodes, "strict",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, (2, 3, 4)),
         helper.make_tensor_value_info("t", onnx.TensorProto.INT64, (2, 4)),
         helper.make_tensor_value_info("w", onnx.TensorProto.FLOAT, (3,))],
        [helper.make_tensor_value_info("l", onnx.TensorProto.FLOAT, None),
         helper.make_tensor_value_info("m", onnx.TensorProto.FLOAT, None)])
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8))
    art = dlgen.compile(model, "c", tmp_path / "out", name="losses")
    check_compiles(art.path, cc=cc)
