"""The portable fast kernels (runtime_c/src/opt) on the shapes that exercise their blocking:
edge tiles (M, N not multiples of the register tile), depths past one K block, depthwise
windows, and the layout contract between Python's weight packing and sgemm.h."""
import re

import numpy as np
import pytest

from dlgen.resources import runtime_dir
from dlgen.targets.c.ops import packing
from oplib import check_op


def _randn(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


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
@pytest.mark.parametrize("kernels", ["portable", "reference"])
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
@pytest.mark.parametrize("kernels", ["portable", "reference"])
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
