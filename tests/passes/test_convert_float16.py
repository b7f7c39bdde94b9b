"""ConvertFloat16: float16 compute with float32 I/O, the block list, and numerics against fp32
within float16 tolerance on the onnxruntime target (the C target refuses float16 compute)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.compiler import build_graph
from dlgen.errors import BadInput, Unsupported
from dlgen.ir import to_onnx
from dlgen.passes import ConvertFloat16
from dlgen.passes.convert_float16 import DEFAULT_BLOCK_LIST

ROOT = Path(__file__).resolve().parents[2]
FASHION = ROOT / "examples" / "fashion_cnn" / "model" / "fashion.onnx"
F16, F32 = np.dtype(np.float16), np.dtype(np.float32)


def _model(tmp_path, rng, *, tail="Softmax", out_also_used=False) -> Path:
    """x -> MatMul -> Add -> Relu -> MatMul -> [tail] -> y; optionally 'h' is an output too."""
    w1 = numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float32) * 0.4, "w1")
    b1 = numpy_helper.from_array(np.full(16, 1e6, np.float32) * 0 + 0.1, "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((16, 4)).astype(np.float32) * 0.4, "w2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"], name="mm1"),
             helper.make_node("Add", ["a", "b1"], ["b"], name="add"),
             helper.make_node("Relu", ["b"], ["h"], name="relu"),
             helper.make_node("MatMul", ["h", "w2"], ["z"], name="mm2"),
             helper.make_node(tail, ["z"], ["y"], name="tail")]
    outputs = [helper.make_tensor_value_info("y", 1, [2, 4])]
    if out_also_used:
        outputs.append(helper.make_tensor_value_info("h", 1, [2, 16]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [2, 8])],
                              outputs, [w1, b1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path


def test_structure(tmp_path, rng):
    graph = build_graph(_model(tmp_path, rng), fuse=False).graph
    half = ConvertFloat16()(graph)
    dtype = {n: v.dtype for n, v in half.values.items()}
    assert dtype["x"] == F32 and dtype["y"] == F32          # I/O types kept
    ops = {n.name: n for n in half.nodes}
    for name in ("mm1", "add", "relu", "mm2"):
        assert all(dtype[o] == F16 for o in ops[name].outputs), name
    assert dtype[ops["tail"].outputs[0]] == F32 and ops["tail"].op_type == "Softmax"
    casts = [n for n in half.nodes if n.op_type == "Cast"]
    assert [c.attrs["to"] for c in casts] == [onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT]
    assert half.values[ops["mm1"].inputs[1]].data.dtype == F16     # weights in float16
    assert graph.values["w1"].data.dtype == F32                     # the input graph untouched
    onnx.checker.check_model(to_onnx(half), full_check=True)


def test_graph_output_read_by_converted_nodes(tmp_path, rng):
    graph = build_graph(_model(tmp_path, rng, tail="Relu", out_also_used=True), fuse=False).graph
    half = ConvertFloat16()(graph)
    assert half.values["h"].dtype == F32 and half.values["y"].dtype == F32
    mm2 = next(n for n in half.nodes if n.name == "mm2")
    assert half.values[mm2.inputs[0]].dtype == F16          # reads the float16 twin, no recast
    assert sum(n.op_type == "Cast" for n in half.nodes) == 3   # x in, h out, y out
    onnx.checker.check_model(to_onnx(half), full_check=True)


def test_block_list():
    assert {"Softmax", "LayerNormalization", "ReduceMean", "Exp", "Pow", "Resize", "Cast",
            "If", "Loop"} <= DEFAULT_BLOCK_LIST


def test_custom_block_list(tmp_path, rng):
    graph = build_graph(_model(tmp_path, rng), fuse=False).graph
    half = ConvertFloat16(extra_block={"Relu"})(graph)
    relu = next(n for n in half.nodes if n.name == "relu")
    assert half.values[relu.outputs[0]].dtype == F32
    nothing = ConvertFloat16(block=frozenset({"MatMul", "Add", "Relu", "Softmax"}))(graph)
    assert nothing is graph


def test_clips_constants_beyond_float16(tmp_path, rng):
    graph = build_graph(_model(tmp_path, rng), fuse=False).graph
    graph.values["b1"].data = np.full(16, 1e6, np.float32)
    half = ConvertFloat16()(graph)
    add = next(n for n in half.nodes if n.name == "add")
    assert np.all(half.values[add.inputs[1]].data == np.float16(65504))


@pytest.mark.parametrize("tail", ["Softmax", "Sigmoid"])
def test_onnxruntime_fp16_matches_fp32(tmp_path, rng, tail):
    path = _model(tmp_path, rng, tail=tail)
    x = {"x": rng.standard_normal((2, 8)).astype(np.float32)}
    art = dlgen.compile(path, "onnxruntime", tmp_path / "art", options={"precision": "fp16"})
    got = dlgen.run(art.path, x)["y"]
    want = dlgen.run(path, x, target="onnxruntime")["y"]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=5e-3, atol=5e-3)
    saved = onnx.load(str(art.path / "model.onnx"))
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in saved.graph.initializer) or \
        any(n.op_type == "Cast" for n in saved.graph.node)


def test_fashion_cnn_fp16(tmp_path, rng):
    x = {"image": rng.random((1, 1, 28, 28), dtype=np.float32)}
    art = dlgen.compile(FASHION, "onnxruntime", tmp_path / "art", options={"precision": "fp16"})
    got = dlgen.run(art.path, x)["logits"]
    want = dlgen.run(FASHION, x, target="onnxruntime")["logits"]
    np.testing.assert_allclose(got, want, rtol=1e-2, atol=2e-2)
    assert got.argmax() == want.argmax()


def test_c_target_refuses_float16_compute_clearly(tmp_path):
    with pytest.raises(Unsupported) as info:
        dlgen.compile(FASHION, "c", tmp_path / "c", options={"precision": "fp16"})
    assert "float16" in info.value.render()


def test_unknown_precision(tmp_path):
    with pytest.raises(BadInput, match="precision 'int3'"):
        dlgen.compile(FASHION, "onnxruntime", tmp_path / "o", options={"precision": "int3"})
