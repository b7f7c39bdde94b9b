"""The portable fast kernels (runtime_c/src/opt) on the shapes that exercise their blocking:
edge tiles (M, N not multiples of the register tile), depths past one K block, depthwise
windows, and the layout contract between Python's weight packing and sgemm.h."""
import re

import numpy as np
import pytest

from dlgen.resources import runtime_dir
from dlgen.targets.c.ops import packing
from oplib import check_op, has_cblas


def _randn(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)



# Every kernel set; cblas needs a CBLAS (make test installs Debian's libopenblas-dev).
KERNEL_SETS = ["portable", "reference",
               pytest.param("cblas", marks=pytest.mark.skipif(
                   not has_cblas(), reason="no CBLAS library (apt-get install libopenblas-dev)"))]


def test_packing_constants_match_the_header():
    header = (runtime_dir() / "include" / "dlgen" / "sgemm.h").read_text()
    defines = dict(re.findall(r"#define DLG_SGEMM_(MR|NR) (\d+)", header))
    assert int(defines["MR"]) == packing.MR
    assert int(defines["NR"]) == packing.NR


def test_pack_layouts(rng):
    b = _randn(rng, (5, 19))
    bp = packing.pack_b(b)
    assert bp.shape == (2, 5, packing.NR)
    assert bp[1, 3, 2] == b[3, packing.NR + 2] and not bp[1, :, 3:].any()
    a = _randn(rng, (7, 4))
    ap = packing.pack_a(a)
    assert ap.shape == (2, 4, packing.MR)
    assert ap[1, 2, 0] == a[packing.MR, 2] and not ap[1, :, 1:].any()


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (1, 33, 300), (7, 17, 257), (13, 5, 600),
                                   (6, 16, 256)])
@pytest.mark.parametrize("kernels", KERNEL_SETS)
def test_gemm_blocking(m, n, k, kernels, rng):
    check_op("Gemm", {"A": _randn(rng, (m, k))},
             consts={"B": _randn(rng, (n, k)), "C": _randn(rng, (n,))},
             attrs={"transB": 1, "alpha": 0.5}, atol=1e-4, options={"kernels": kernels})


@pytest.mark.parametrize("a_shape,b_shape", [((3, 300), (300, 20)), ((2, 9, 40), (2, 40, 33))])
def test_matmul_runtime_operands_blocking(a_shape, b_shape, rng):
    check_op("MatMul", {"A": _randn(rng, a_shape), "B": _randn(rng, b_shape)}, atol=1e-4)


@pytest.mark.parametrize("x_shape,w_shape,attrs", [
    ((1, 32, 9, 11), (13, 32, 3, 3), {"pads": [1, 1, 1, 1]}),              # K = 288 > KC
    ((2, 8, 10, 10), (20, 8, 1, 1), {}),                                    # 1x1, 2 images
    ((1, 6, 17, 17), (12, 3, 3, 3), {"group": 2, "strides": [2, 2]}),      # grouped, strided
    ((1, 4, 12, 12), (7, 4, 3, 3), {"dilations": [2, 2], "pads": [2, 1, 0, 2]}),
    ((1, 3, 40), (5, 3, 5), {"pads": [2, 2]}),                              # 1-D
    ((1, 2, 5, 6, 7), (4, 2, 3, 3, 3), {"pads": [1, 1, 1, 1, 1, 1]}),     # 3-D
])
@pytest.mark.parametrize("kernels", KERNEL_SETS)
def test_conv_implicit_gemm(x_shape, w_shape, attrs, kernels, rng):
    consts = {"w": _randn(rng, w_shape), "b": _randn(rng, (w_shape[0],))}
    check_op("Conv", {"x": _randn(rng, x_shape)}, consts=consts, attrs=attrs, atol=1e-4,
             options={"kernels": kernels})


@pytest.mark.parametrize("x_shape,k,attrs", [
    ((1, 8, 14, 14), 3, {"pads": [1, 1, 1, 1]}),
    ((2, 5, 15, 13), 3, {"pads": [1, 1, 1, 1], "strides": [2, 2]}),
    ((1, 4, 9, 9), 5, {"pads": [4, 0, 0, 4], "dilations": [2, 1]}),
    ((1, 3, 20), 7, {"pads": [3, 3]}),
])
def test_depthwise(x_shape, k, attrs, rng):
    c = x_shape[1]
    w_shape = (c, 1) + (k,) * (len(x_shape) - 2)
    consts = {"w": _randn(rng, w_shape), "b": _randn(rng, (c,))}
    check_op("Conv", {"x": _randn(rng, x_shape)}, consts=consts, attrs={"group": c, **attrs},
             atol=1e-4)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_fast_kernels_compile_strict_native(cc, tmp_path, rng):
    """The vector paths (AVX2/FMA with -march=native) compile warning-free too."""
    import onnx
    from onnx import helper, numpy_helper

    import dlgen
    from dlgen.targets.c.build import STRICT_FLAGS, check_compiles

    w = numpy_helper.from_array(_randn(rng, (8, 4, 3, 3)), "w")
    d = numpy_helper.from_array(_randn(rng, (4, 1, 3, 3)), "d")
    g = numpy_helper.from_array(_randn(rng, (8 * 6 * 6, 10)), "g")
    nodes = [helper.make_node("Conv", ["x", "d"], ["t"], group=4, pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["t", "w"], ["u"]),
             helper.make_node("Flatten", ["u"], ["f"]),
             helper.make_node("MatMul", ["f", "g"], ["y"])]
    graph = helper.make_graph(
        nodes, "fast", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 10])], [w, d, g])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    art = dlgen.compile(model, "c", tmp_path / "out", name="m")
    check_compiles(art.path, cc=cc, flags=STRICT_FLAGS + ["-O2", "-march=native"])


@pytest.mark.parametrize("depthwise", [False, True])
@pytest.mark.parametrize("kernels", KERNEL_SETS)
def test_residual_conv_add_relu(depthwise, kernels, rng):
    """Conv + Add + Relu (a ResNet block's tail) runs as one FusedConv with a residual."""
    import onnx
    from onnx import helper, numpy_helper

    from oplib import assert_close, dlgen_outputs, ort_outputs

    c = 8
    w = _randn(rng, (c, 1, 3, 3) if depthwise else (c, c, 3, 3))
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["h"], pads=[1, 1, 1, 1],
                              group=c if depthwise else 1),
             helper.make_node("Add", ["h", "x"], ["s"]),
             helper.make_node("Relu", ["s"], ["y"])]
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "res", [vi("x", onnx.TensorProto.FLOAT, [1, c, 7, 9])],
                              [vi("y", onnx.TensorProto.FLOAT, [1, c, 7, 9])],
                              [numpy_helper.from_array(w, "w"),
                               numpy_helper.from_array(_randn(rng, (c,)), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    feeds = {"x": _randn(rng, (1, c, 7, 9))}
    assert_close(dlgen_outputs(model, feeds, options={"kernels": kernels}),
                 ort_outputs(model, feeds), atol=1e-4)


def _small_cnn(rng):
    """Conv (depthwise, grouped, plain), MaxPool and a Gemm: every threaded kernel."""
    import onnx
    from onnx import helper, numpy_helper

    inits = {"dw": _randn(rng, (8, 1, 3, 3)), "w": _randn(rng, (16, 8, 3, 3)),
             "b": _randn(rng, (16,)), "fc": _randn(rng, (10, 16 * 10 * 10))}
    nodes = [helper.make_node("Conv", ["x", "dw"], ["a"], group=8, pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["a", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1)]
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "cnn", [vi("x", onnx.TensorProto.FLOAT, [2, 8, 20, 20])],
                              [vi("y", onnx.TensorProto.FLOAT, [2, 10])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("kernels", KERNEL_SETS)
def test_threads(kernels, tmp_path, rng):
    """--threads 2 builds with OpenMP (the pthread pool next to a CBLAS's own pool; both are
    tested in test_parallel.py) and gives ONNX Runtime's numbers."""
    import dlgen
    from oplib import assert_close, ort_outputs

    model = _small_cnn(rng)
    feeds = {"x": _randn(rng, (2, 8, 20, 20))}
    art = dlgen.compile(model, "c", tmp_path / "out", name="m",
                        options={"kernels": kernels, "threads": 2})
    config = art.manifest["c"]["build_config"]
    flag = "-pthread" if kernels == "cblas" else "-fopenmp"
    assert "DLG_THREADS=2" in config["defines"] and flag in config["cflags"]
    makefile = (tmp_path / "out" / "Makefile").read_text()
    assert "-DDLG_THREADS=2" in makefile and f"DLG_LIBS = {flag}" in makefile
    with art.runner() as runner:
        assert_close(runner.run(feeds), ort_outputs(model, feeds), atol=1e-3)


def test_bad_threads_and_missing_blas_are_refused(tmp_path, rng):
    import dlgen
    from dlgen.errors import BadInput, TargetUnavailable

    model = _small_cnn(rng)
    with pytest.raises(BadInput, match="threads must be a positive integer"):
        dlgen.compile(model, "c", tmp_path / "a", options={"threads": 0})
    with pytest.raises(TargetUnavailable, match="no CBLAS") as info:
        dlgen.compile(model, "c", tmp_path / "b",
                      options={"kernels": "cblas", "blas_libs": "-lno_such_blas_dlgen"})
    assert "libopenblas-dev" in info.value.hint
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("op,gates", [("LSTM", 4), ("GRU", 3)])
@pytest.mark.parametrize("direction,layout", [("forward", 0), ("bidirectional", 0)])
@pytest.mark.parametrize("kernels", ["portable", "reference"])
def test_rnn_input_projection_gemm(op, gates, direction, layout, kernels, rng):
    """The fast path computes X.W^T of all steps as one GEMM; the reference does per-step
    matvecs: both equal ONNX Runtime, with sequence lengths, in both directions."""
    seq, batch, inp, hidden = 5, 3, 7, 6
    dirs = 2 if direction == "bidirectional" else 1
    x = _randn(rng, (batch, seq, inp) if layout else (seq, batch, inp))
    consts = {"W": _randn(rng, (dirs, gates * hidden, inp)) * 0.5,
              "R": _randn(rng, (dirs, gates * hidden, hidden)) * 0.5,
              "B": _randn(rng, (dirs, 2 * gates * hidden)) * 0.1,
              "lens": np.array([5, 2, 4], dtype=np.int32)}
    check_op(op, {"X": x}, consts=consts, input_order=["X", "W", "R", "B", "lens"],
             attrs={"hidden_size": hidden, "direction": direction, "layout": layout},
             outputs=2, opset=14, atol=1e-4, options={"kernels": kernels})
