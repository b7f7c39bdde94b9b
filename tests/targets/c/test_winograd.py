"""Winograd F(4x4, 3x3) convolution (runtime_c/src/opt/winograd.c, selected in ops/conv.py)
against ONNX Runtime, its weight packing against numpy, and the selection rule.

Tolerance: F(4x4, 3x3) rounds more than a direct sum (its transforms have coefficients up to
8 and 1/24): with outputs of order 1 (weights scaled by 1/sqrt(9 * Cin)) its measured max
error against float64 is about 1e-5 at 16 input channels and 6e-5 at 256, against 2e-6 for
the implicit GEMM; the tests allow atol 3e-4 + rtol 1e-3, a few times the worst measured,
and far below what a wrong tap, tile or border (errors of order 1) would give.
"""
import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.errors import BadInput
from dlgen.targets.c.build import STRICT_FLAGS, check_compiles
from dlgen.targets.c.ops.packing import MR, pack_winograd_weights
from oplib import assert_close, make_model, ort_outputs

ATOL, RTOL = 3e-4, 1e-3
WINOGRAD_CALL = "dlg_conv_winograd_f32("


def _data(rng, x_shape, w_shape):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(9 * w_shape[1])).astype(np.float32)
    return x, w


def _run(model, feeds, tmp_path, options, *, expect_winograd=True):
    """Compile with options, check whether the model calls the Winograd kernel, run it."""
    art = dlgen.compile(model, "c", tmp_path / "out", name="m", options=options)
    source = (art.path / "m.c").read_text()
    assert (WINOGRAD_CALL in source) == expect_winograd
    with art.runner() as runner:
        return runner.run(feeds)


# (x shape, Cout, pads): odd and tiny planes (partial and clipped tiles), no/asymmetric pads,
# batch > 1, channel counts off the MR/NR multiples, more input channels than a K block
# (DLG_SGEMM_KC = 256) and more tiles than one block (several blocks per image).
SHAPES = {
    "pad1_odd": ((1, 5, 9, 11), 7, [1, 1, 1, 1]),
    "pad0": ((1, 8, 10, 13), 6, [0, 0, 0, 0]),
    "asymmetric": ((1, 6, 7, 9), 5, [0, 2, 1, 0]),
    "big_pads": ((1, 4, 5, 6), 3, [2, 3, 3, 2]),
    "one_pixel_out": ((1, 3, 3, 3), 2, [0, 0, 0, 0]),
    "thin_row": ((1, 4, 3, 21), 9, [1, 0, 1, 0]),
    "batch3": ((3, 16, 12, 10), 20, [1, 1, 1, 1]),
    "k_blocks": ((1, 300, 6, 7), 13, [1, 1, 1, 1]),
    "many_blocks": ((2, 64, 23, 21), 70, [1, 1, 1, 1]),
    "wide_out": ((1, 32, 17, 17), 131, [1, 1, 1, 1]),
}


@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("case", sorted(SHAPES))
def test_winograd_matches_onnxruntime(case, bias, rng, tmp_path):
    x_shape, maps, pads = SHAPES[case]
    x, w = _data(rng, x_shape, (maps, x_shape[1], 3, 3))
    consts = {"w": w}
    if bias:
        consts["b"] = rng.standard_normal(maps).astype(np.float32)
    model = make_model("Conv", {"x": x}, consts=consts, attrs={"pads": pads},
                       input_order=["x", *consts])
    got = _run(model, {"x": x}, tmp_path, {"winograd": "on"})
    assert_close(got, ort_outputs(model, {"x": x}), atol=ATOL, rtol=RTOL)


def _block_model(rng, c, hw, act_nodes, act_inits=()):
    """Conv(3x3, pads 1) + bias, + residual x, then the activation nodes on "s" -> "y"."""
    x, w = _data(rng, (2, c, hw, hw + 3), (c, c, 3, 3))
    inits = [numpy_helper.from_array(w, "w"),
             numpy_helper.from_array(rng.standard_normal(c).astype(np.float32), "b"),
             *act_inits]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["h"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["h", "x"], ["s"]), *act_nodes]
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "res", [vi("x", onnx.TensorProto.FLOAT, x.shape)],
                              [vi("y", onnx.TensorProto.FLOAT, x.shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), {"x": x}


ACTIVATIONS = {
    "relu": ([helper.make_node("Relu", ["s"], ["y"])], []),
    "leaky_relu": ([helper.make_node("LeakyRelu", ["s"], ["y"], alpha=0.2)], []),
    "sigmoid": ([helper.make_node("Sigmoid", ["s"], ["y"])], []),
    "clip": ([helper.make_node("Clip", ["s", "lo", "hi"], ["y"])],
             [numpy_helper.from_array(np.float32(-0.5), "lo"),
              numpy_helper.from_array(np.float32(0.7), "hi")]),
    "none": ([helper.make_node("Identity", ["s"], ["y"])], []),
}


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_winograd_residual_and_activation(act, rng, tmp_path):
    """Conv + Add + activation fuse into one FusedConv whose epilogue Winograd applies."""
    model, feeds = _block_model(rng, 16, 11, *ACTIVATIONS[act])
    got = _run(model, feeds, tmp_path, {"winograd": "on"})
    assert_close(got, ort_outputs(model, feeds), atol=ATOL, rtol=RTOL)


def test_winograd_threads(rng, tmp_path):
    """With threads, the three phases of each block are split among them."""
    x, w = _data(rng, (1, 48, 30, 29), (40, 48, 3, 3))
    model = make_model("Conv", {"x": x}, consts={"w": w}, attrs={"pads": [1, 1, 1, 1]},
                       input_order=["x", "w"])
    got = _run(model, {"x": x}, tmp_path, {"winograd": "on", "threads": 2})
    assert_close(got, ort_outputs(model, {"x": x}), atol=ATOL, rtol=RTOL)


# Winograd transforms in float64 (Lavin and Gray's F(4x4, 3x3), as winograd.c hard-codes them).
BT = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], float)
AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
               [0, 1, -1, 8, -8, 1]], float)


def test_pack_winograd_weights_layout(rng):
    """Unpacking U as winograd.h documents and applying the transforms to one 6x6 patch gives
    the direct 3x3 correlation."""
    maps, channels = 8, 5
    w = rng.standard_normal((maps, channels, 3, 3)).astype(np.float32)
    d = rng.standard_normal((channels, 6, 6))
    packed = pack_winograd_weights(w)
    mp = -(-maps // MR) * MR
    assert packed.dtype == np.float32 and packed.size == 36 * mp * channels
    u = packed.reshape(36, mp // MR, channels, MR).transpose(0, 1, 3, 2).reshape(36, mp, -1)
    u = u[:, :maps].reshape(6, 6, maps, channels)
    v = np.einsum("ik,ckl,jl->ijc", BT, d, BT)
    y = np.einsum("ki,ijm,lj->mkl", AT, np.einsum("ijmc,ijc->ijm", u, v), AT)
    want = np.array([[[(d[:, a:a + 3, b:b + 3] * w[m]).sum() for b in range(4)]
                      for a in range(4)] for m in range(maps)])
    np.testing.assert_allclose(y, want, atol=1e-4)


def _conv_model(x_shape, maps, **attrs):
    x = np.zeros(x_shape, np.float32)
    w = np.ones((maps, x_shape[1] // attrs.get("group", 1), 3, 3), np.float32)
    return make_model("Conv", {"x": x}, consts={"w": w}, attrs={"pads": [1, 1, 1, 1], **attrs},
                      input_order=["x", "w"])


@pytest.mark.parametrize("x_shape,maps,attrs,options,expected", [
    # winograd=auto: the measured rule (ops/conv.py)
    ((1, 64, 56, 56), 64, {}, {}, True),
    ((1, 256, 14, 14), 256, {}, {}, True),
    ((1, 16, 55, 55), 64, {}, {}, True),
    ((1, 8, 56, 56), 32, {}, {}, False),       # too few input channels
    ((1, 64, 8, 8), 64, {}, {}, False),        # 4 tiles
    ((1, 64, 10, 10), 64, {}, {}, True),       # 9 tiles
    ((1, 512, 12, 12), 512, {}, {}, False),    # large weights, 9 tiles
    ((1, 512, 14, 14), 512, {}, {}, True),     # large weights, 16 tiles
    ((1, 512, 7, 7), 512, {}, {}, False),
    # forced
    ((1, 3, 5, 5), 2, {}, {"winograd": "on"}, True),
    ((1, 64, 56, 56), 64, {}, {"winograd": "off"}, False),
    # never: other convolutions and kernel sets
    ((1, 64, 28, 28), 64, {"strides": [2, 2]}, {"winograd": "on"}, False),
    ((1, 64, 28, 28), 64, {"dilations": [2, 2]}, {"winograd": "on"}, False),
    ((1, 64, 28, 28), 64, {"group": 2}, {"winograd": "on"}, False),
    ((1, 64, 28, 28), 64, {}, {"winograd": "on", "kernels": "reference"}, False),
    # cblas keeps Winograd for the 3x3 convolutions it takes (ahead of im2col + BLAS)
    ((1, 64, 28, 28), 64, {}, {"kernels": "cblas"}, True),
])
def test_winograd_selection(x_shape, maps, attrs, options, expected, tmp_path):
    model = _conv_model(x_shape, maps, **attrs)
    art = dlgen.compile(model, "c", tmp_path / "out", name="m", options=options)
    assert (WINOGRAD_CALL in (art.path / "m.c").read_text()) == expected


def test_bad_winograd_option_refused(tmp_path):
    with pytest.raises(BadInput, match="winograd"):
        dlgen.compile(_conv_model((1, 4, 6, 6), 4), "c", tmp_path / "a",
                      options={"winograd": "maybe"})


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_winograd_compiles_strict(cc, tmp_path, rng):
    """winograd.c and its callers compile warning-free, portable and with -march=native."""
    model, _ = _block_model(rng, 16, 9, *ACTIVATIONS["relu"])
    art = dlgen.compile(model, "c", tmp_path / "out", name="m", options={"winograd": "on"})
    assert (art.path / "runtime" / "src" / "winograd.c").exists()
    check_compiles(art.path, cc=cc)
    check_compiles(art.path, cc=cc, flags=STRICT_FLAGS + ["-O2", "-march=native"])


def test_bench_spec_winograd_option():
    """`dlgen bench -t c:winograd=off` compiles without Winograd, for A/B runs."""
    from dlgen.bench.specs import parse_target_spec

    spec = parse_target_spec("c:winograd=off")
    assert spec.label == "c:winograd=off" and spec.compile_options()["winograd"] == "off"
    assert "winograd" not in parse_target_spec("c").compile_options()
    with pytest.raises(BadInput, match="winograd"):
        parse_target_spec("c:winograd=maybe")
