"""The fast paths for tiny models, against ONNX Runtime with the fast and the reference kernels:
small unit-stride 2-D convolutions read in place from a padded copy of the input
(src/opt/conv.c conv_small, src/opt/sgemm.c dlg_sgemm_rows), and plain 2x2 / 2 pooling, the
2-tap row loop and the average counts of the pooling kernels (src/ref/pool.c). Each case sits on a boundary of a
path: which shapes take it, K blocks, row tiles, the padded-width numbering, fused epilogues."""
import shutil

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.compiler import build_graph
from dlgen.targets.c.build import check_compiles
from oplib import assert_close, check_op, dlgen_outputs, ort_outputs

pytestmark = pytest.mark.usefixtures("kernels")


def _randn(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


# (x shape, w shape, attrs, bias)
SMALL_CONVS = {
    "lenet_conv1": ((1, 1, 28, 28), (6, 1, 5, 5), {"pads": [2, 2, 2, 2]}, True),
    "lenet_conv2": ((1, 6, 14, 14), (16, 6, 5, 5), {}, True),
    "batch2_no_bias": ((2, 3, 9, 7), (7, 3, 3, 3), {"pads": [1, 1, 1, 1]}, False),
    "asymmetric_pads": ((1, 2, 8, 9), (5, 2, 3, 4), {"pads": [0, 2, 1, 0]}, True),
    "dilation_h_only": ((1, 2, 12, 9), (4, 2, 3, 3), {"dilations": [2, 1], "pads": [2, 1, 2, 1]},
                        True),
    "two_k_blocks": ((1, 12, 9, 9), (8, 12, 5, 5), {"pads": [1, 1, 1, 1]}, True),  # K = 300
    "many_position_blocks": ((1, 1, 40, 37), (3, 1, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    "rows_at_the_limit": ((1, 3, 6, 6), (48, 3, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    "rows_past_the_limit": ((1, 3, 6, 6), (49, 3, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    "input_too_big": ((1, 3, 60, 60), (4, 3, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    "groups": ((1, 4, 7, 7), (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}, True),
    "conv1d": ((2, 3, 17), (4, 3, 5), {"pads": [2, 1]}, True),
    "one_output_column": ((1, 2, 6, 3), (3, 2, 3, 3), {}, True),
    "stride2_not_taken": ((1, 2, 9, 9), (3, 2, 3, 3), {"strides": [2, 2]}, True),
}


@pytest.mark.parametrize("case", sorted(SMALL_CONVS))
def test_small_conv(case, rng):
    x_shape, w_shape, attrs, bias = SMALL_CONVS[case]
    consts = {"w": _randn(rng, w_shape)}
    if bias:
        consts["b"] = _randn(rng, (w_shape[0],))
    check_op("Conv", {"x": _randn(rng, x_shape)}, consts=consts, attrs=attrs, atol=1e-4)


def _conv_model(rng, x_shape, w_shape, pads, residual: bool, act: str | None):
    """Conv (+ Add of a second input) (+ an activation), which the passes fuse into one
    dlgen::FusedConv."""
    x = _randn(rng, x_shape)
    out_shape = (x_shape[0], w_shape[0], x_shape[2] + pads[0] + pads[2] - w_shape[2] + 1,
                 x_shape[3] + pads[1] + pads[3] - w_shape[3] + 1)
    feeds = {"x": x}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=pads)]
    last = "c"
    if residual:
        feeds["z"] = _randn(rng, out_shape)
        nodes.append(helper.make_node("Add", ["c", "z"], ["s"]))
        last = "s"
    if act is not None:
        nodes.append(helper.make_node(act, [last], ["y"]))
    else:
        nodes[-1].output[0] = "y"
    consts = {"w": _randn(rng, w_shape), "b": _randn(rng, (w_shape[0],))}
    graph = helper.make_graph(
        nodes, "conv_fused",
        [helper.make_tensor_value_info(k, onnx.TensorProto.FLOAT, v.shape)
         for k, v in feeds.items()],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return onnx.shape_inference.infer_shapes(model), feeds


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("act", [None, "Relu", "Sigmoid", "Tanh"])
def test_small_conv_fused_epilogues(residual, act, rng):
    # Bias and activation in the GEMM epilogue, or (with a residual) applied while storing.
    model, feeds = _conv_model(rng, (1, 3, 11, 10), (7, 3, 3, 3), [1, 2, 0, 1], residual, act)
    fused = "FusedConv" if residual or act is not None else "Conv"
    assert [n.op_type for n in build_graph(model).graph.nodes] == [fused]
    assert_close(dlgen_outputs(model, feeds), ort_outputs(model, feeds), atol=1e-5)


# (x shape, attrs): plain 2x2 / 2 pooling (pool_2x2) and 2-tap windows along W (the row loop),
# taken or not.
POOLS = {
    "2x2_stride2": ((1, 3, 12, 10), {"kernel_shape": [2, 2], "strides": [2, 2]}),
    "2x2_stride2_odd_sizes": ((2, 2, 9, 11), {"kernel_shape": [2, 2], "strides": [2, 2]}),
    "2x2_stride2_unused_pad_end": ((1, 2, 8, 8), {"kernel_shape": [2, 2], "strides": [2, 2],
                                                   "pads": [0, 0, 1, 1]}),
    "2x2_stride1": ((1, 2, 7, 9), {"kernel_shape": [2, 2]}),
    "2x2_stride3": ((1, 2, 11, 11), {"kernel_shape": [2, 2], "strides": [3, 3]}),
    "odd_width_ceil": ((1, 2, 9, 9), {"kernel_shape": [2, 2], "strides": [2, 2],
                                      "ceil_mode": 1}),
    "pad_end_only": ((1, 2, 8, 7), {"kernel_shape": [2, 2], "strides": [2, 2],
                                    "pads": [0, 0, 1, 1]}),
    "pad_begin": ((1, 2, 8, 8), {"kernel_shape": [2, 2], "strides": [2, 2],
                                 "pads": [1, 1, 1, 1]}),
    "3x3_stride2": ((1, 2, 11, 12), {"kernel_shape": [3, 3], "strides": [2, 2],
                                     "pads": [1, 1, 1, 1]}),
    "2_taps_1d": ((2, 3, 13), {"kernel_shape": [2], "strides": [2]}),
}


@pytest.mark.parametrize("case", sorted(POOLS))
def test_maxpool_rows(case, rng):
    shape, attrs = POOLS[case]
    check_op("MaxPool", {"x": _randn(rng, shape)}, attrs=attrs, opset=12)


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("case", sorted(POOLS))
def test_averagepool_rows(case, count_include_pad, rng):
    shape, attrs = POOLS[case]
    check_op("AveragePool", {"x": _randn(rng, shape)},
             attrs={**attrs, "count_include_pad": count_include_pad}, opset=11)


def test_pool_rows_with_infinities(rng):
    x = _randn(rng, (1, 2, 6, 8))
    x[0, 0, 1, 2] = np.inf
    x[0, 1, 2, 4] = -np.inf
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2]}
    check_op("MaxPool", {"x": x}, attrs=attrs, opset=12)
    check_op("AveragePool", {"x": x}, attrs=attrs, opset=11)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_tiny_paths_compile_strict(cc, tmp_path, rng):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    model, _ = _conv_model(rng, (1, 3, 11, 10), (7, 3, 3, 3), [1, 1, 1, 1], True, "Relu")
    art = dlgen.compile(model, "c", tmp_path / "conv", name="m")
    check_compiles(art.path, cc=cc)
