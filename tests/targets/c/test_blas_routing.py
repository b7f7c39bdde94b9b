"""--kernels cblas sends to the BLAS only the products where it wins (ops/gemm.py blas_wins,
ops/conv.py blas_conv_wins) and keeps the rest on the portable kernels; both paths, with 1 and
2 threads, must match ONNX Runtime."""
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.targets.c.ops import gemm as gemm_ops
from oplib import assert_close, has_cblas, make_model, ort_outputs


pytestmark = pytest.mark.skipif(not has_cblas(),
                                reason="no CBLAS library (apt-get install libopenblas-dev)")
DEEP = gemm_ops.BLAS_MIN_DEPTH
ROWS = gemm_ops.BLAS_MIN_ROWS


def _randn(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _run(model, feeds, tmp_path, threads=1):
    """The C source of the model compiled with --kernels cblas, after checking its outputs."""
    art = dlgen.compile(model, "c", tmp_path / "out", name="m",
                        options={"kernels": "cblas", "threads": threads})
    with art.runner() as runner:
        assert_close(runner.run(feeds), ort_outputs(model, feeds), atol=2e-3, rtol=1e-3)
    return (tmp_path / "out" / "m.c").read_text()


@pytest.mark.parametrize("m,n,k,want", [(ROWS + 2, ROWS + 12, DEEP + 8, "dlg_gemm_blas_f32"),
                                        (1, 300, 2 * DEEP, "dlg_gemm_packed_f32"),
                                        (ROWS, ROWS, DEEP - 1, "dlg_gemm_packed_f32")])
def test_gemm_routing(m, n, k, want, tmp_path, rng):
    model = make_model("Gemm", {"a": _randn(rng, (m, k))},
                       consts={"b": _randn(rng, (n, k), 0.05), "c": _randn(rng, (n,))},
                       attrs={"transB": 1, "alpha": 0.5, "beta": 2.0})
    code = _run(model, {"a": _randn(rng, (m, k))}, tmp_path)
    assert want in code


@pytest.mark.parametrize("a_shape,b_shape,want", [
    ((ROWS, DEEP), (DEEP, ROWS + 3), "dlg_gemm_blas_f32"),
    ((2, ROWS, DEEP), (2, DEEP, ROWS), "dlg_matmul_blas_f32"),
    ((2, 5, 7), (2, 7, 9), "dlg_matmul_f32"),
    ((5, 7), (7, 9), "dlg_gemm_f32")])
def test_matmul_with_runtime_operands(a_shape, b_shape, want, tmp_path, rng):
    model = make_model("MatMul", {"a": _randn(rng, a_shape), "b": _randn(rng, b_shape, 0.05)})
    code = _run(model, {"a": _randn(rng, a_shape), "b": _randn(rng, b_shape, 0.05)}, tmp_path)
    assert f"{want}(" in code


@pytest.mark.parametrize("x_shape,w_shape,attrs,want", [
    ((1, 64, 15, 15), (ROWS, 64, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1]},
     "dlg_conv_im2col_f32"),                       # deep im2col GEMM: the BLAS
    ((2, DEEP, 6, 7), (ROWS, DEEP, 1, 1), {}, "dlg_conv_im2col_f32"),   # pointwise, no im2col
    ((1, 16, 12, 12), (32, 16, 1, 1), {}, "dlg_conv_packed_f32"),       # shallow: portable
    ((1, DEEP, 6, 6), (ROWS, DEEP // 4, 1, 1), {"group": 4}, "dlg_conv_packed_f32"),
    ((1, 24, 10, 10), (24, 1, 3, 3), {"group": 24, "pads": [1, 1, 1, 1]},
     "dlg_conv_depthwise_f32")])
def test_conv_routing(x_shape, w_shape, attrs, want, tmp_path, rng):
    model = make_model("Conv", {"x": _randn(rng, x_shape)},
                       consts={"w": _randn(rng, w_shape, 0.05), "b": _randn(rng, w_shape[:1])},
                       attrs=attrs)
    code = _run(model, {"x": _randn(rng, x_shape)}, tmp_path)
    assert want in code


def test_threads_with_blas(tmp_path, rng):
    """--threads 2: BLAS convs and Gemms (their own pool, pinned to 2 threads) next to portable
    depthwise convs on the runtime's pool."""
    inits = {"dw": _randn(rng, (64, 1, 3, 3)), "w": _randn(rng, (ROWS, 64, 3, 3), 0.05),
             "fc": _randn(rng, (ROWS * 64, ROWS), 0.01)}
    nodes = [helper.make_node("Conv", ["x", "dw"], ["a"], group=64, pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["a", "w"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Reshape", ["r", "shape"], ["f"]),
             helper.make_node("MatMul", ["f", "fc"], ["y"])]
    inits["shape"] = np.array([ROWS, -1], np.int64)
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "mixed", [vi("x", onnx.TensorProto.FLOAT, [ROWS, 64, 15, 15])],
                              [vi("y", onnx.TensorProto.FLOAT, [ROWS, ROWS])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    code = _run(model, {"x": _randn(rng, (ROWS, 64, 15, 15))}, tmp_path, threads=2)
    assert "dlg_conv_depthwise_f32" in code and "dlg_conv_im2col_f32" in code
    assert "dlg_gemm_blas_f32" in code
