"""DFT, STFT (against ONNX Runtime) and SwiGLU (against numpy: ONNX Runtime has no opset 28):
real and complex input, every axis, inverse, one-sided, dft_length padding and truncation,
the opset 17 (axis attribute) and opset 20 (axis input) forms."""
import numpy as np
import pytest

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import assert_close, check_op, dlgen_outputs, make_model

ATOL = 1e-4


def _signal(rng, shape, cplx):
    return rng.standard_normal(tuple(shape) + (cplx,)).astype(np.float32)


# (signal shape without the complex dim, axis)
DFT_SHAPES = [((8,), 0), ((3, 10), 1), ((3, 10), 0), ((2, 5, 7), 1), ((2, 4, 6), -2)]


@pytest.mark.parametrize("cplx", [1, 2])
@pytest.mark.parametrize("inverse", [0, 1])
@pytest.mark.parametrize("shape,axis", DFT_SHAPES)
def test_dft_opset20(shape, axis, inverse, cplx, rng):
    x = _signal(rng, shape, cplx)
    check_op("DFT", {"x": x}, consts={"axis": np.array(axis, np.int64)},
             attrs={"inverse": inverse}, opset=20, input_order=["x", "", "axis"], atol=ATOL)


@pytest.mark.parametrize("shape,axis", [((6, 4), 0), ((2, 9, 3), 1), ((7,), 0)])
def test_dft_opset17_axis_attribute(shape, axis, rng):
    x = _signal(rng, shape, 1)
    check_op("DFT", {"x": x}, attrs={"axis": axis}, opset=17, atol=ATOL)


def test_dft_opset17_default_axis(rng):
    x = _signal(rng, (2, 6, 3), 2)
    check_op("DFT", {"x": x}, opset=17, atol=ATOL)


@pytest.mark.parametrize("length", [4, 7, 12])
@pytest.mark.parametrize("cplx", [1, 2])
def test_dft_length(length, cplx, rng):
    """dft_length shorter than the axis truncates the signal, longer zero-pads it."""
    x = _signal(rng, (2, 7, 3), cplx)
    check_op("DFT", {"x": x}, consts={"dft_length": np.array(length, np.int64),
                                      "axis": np.array(1, np.int64)},
             opset=20, input_order=["x", "dft_length", "axis"], atol=ATOL)


@pytest.mark.parametrize("length", [None, 5, 11])
@pytest.mark.parametrize("shape,axis", [((9,), 0), ((2, 8, 3), 1), ((4, 6), -2)])
def test_dft_onesided_forward(shape, axis, length, rng):
    x = _signal(rng, shape, 1)
    consts = {"axis": np.array(axis, np.int64)}
    order = ["x", "", "axis"]
    if length is not None:
        consts["dft_length"] = np.array(length, np.int64)
        order[1] = "dft_length"
    check_op("DFT", {"x": x}, consts=consts, attrs={"onesided": 1}, opset=20,
             input_order=order, atol=ATOL)


@pytest.mark.parametrize("n", [None, 9, 10, 6])
@pytest.mark.parametrize("axis", [0, 1])
def test_dft_irfft(n, axis, rng):
    """Inverse one-sided DFT (IRFFT): ONNX Runtime lacks it, so numpy's irfft is the reference
    (which also ignores the imaginary parts of the DC and Nyquist bins)."""
    spec = rng.standard_normal((6, 5)) + 1j * rng.standard_normal((6, 5))
    spec = np.moveaxis(spec, 0, axis)
    x = np.stack([spec.real, spec.imag], -1).astype(np.float32)
    consts = {"axis": np.array(axis, np.int64)}
    order = ["x", "", "axis"]
    if n is not None:
        consts["dft_length"] = np.array(n, np.int64)
        order[1] = "dft_length"
    model = make_model("DFT", {"x": x}, consts=consts, attrs={"onesided": 1, "inverse": 1},
                       opset=20, input_order=order)
    want = np.fft.irfft(spec.astype(np.complex64), n=n, axis=axis)[..., None]
    assert_close(dlgen_outputs(model, {"x": x}), {"y0": want.astype(np.float32)},
                 atol=ATOL, rtol=1e-4)


@pytest.mark.parametrize("onesided", [0, 1])
@pytest.mark.parametrize("batch,length,step,frame", [(1, 64, 8, 16), (2, 50, 7, 12),
                                                    (3, 20, 20, 9), (1, 16, 1, 16)])
def test_stft_window(batch, length, step, frame, onesided, rng):
    x = _signal(rng, (batch, length), 1)
    window = rng.uniform(0.1, 1.0, frame).astype(np.float32)
    check_op("STFT", {"signal": x}, consts={"frame_step": np.array(step, np.int64),
                                            "window": window},
             attrs={"onesided": onesided}, atol=ATOL)


@pytest.mark.parametrize("with_window", [False, True])
def test_stft_frame_length(with_window, rng):
    x = _signal(rng, (2, 40), 1)
    consts = {"frame_step": np.array(5, np.int64), "frame_length": np.array(10, np.int64)}
    order = ["signal", "frame_step", "", "frame_length"]
    if with_window:
        consts["window"] = np.hanning(10).astype(np.float32)
        order[2] = "window"
    check_op("STFT", {"signal": x}, consts=consts, attrs={"onesided": 1}, input_order=order,
             atol=ATOL)


def test_stft_default_onesided_with_bad_inferred_shape(rng, tmp_path):
    """ONNX shape inference (onnx 1.2x) takes onesided as 0 when the attribute is absent,
    while the spec and ONNX Runtime default it to 1: the declared shape is refused clearly."""
    x = _signal(rng, (1, 32), 1)
    model = make_model("STFT", {"signal": x},
                       consts={"frame_step": np.array(4, np.int64),
                               "window": np.ones(8, np.float32)})
    if model.graph.output[0].type.tensor_type.shape.dim[2].dim_value != 8:
        pytest.skip("shape inference now follows the spec default")
    with pytest.raises(Unsupported, match="onesided"):
        dlgen.compile(model, "c", tmp_path / "out", name="m")


def test_stft_complex_two_sided(rng):
    x = _signal(rng, (2, 30), 2)
    check_op("STFT", {"signal": x}, consts={"frame_step": np.array(4, np.int64),
                                            "window": np.hamming(8).astype(np.float32)},
             attrs={"onesided": 0}, atol=ATOL)


def _swiglu(a, b, alpha):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(over="ignore"):  # exp(-alpha * a) -> inf gives the exact limit 0
        return (a64 / (1 + np.exp(-alpha * a64)) * b64).astype(a.dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("alpha", [None, 0.5, 1.702])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_swiglu(shape, alpha, dtype, rng):
    a = (rng.standard_normal(shape) * 4).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    attrs = {} if alpha is None else {"alpha": alpha}
    model = make_model("SwiGLU", {"a": a, "b": b}, attrs=attrs, opset=28)
    want = _swiglu(a, b, 1.0 if alpha is None else alpha)
    tol = 2e-3 if dtype == np.float16 else 1e-5
    assert_close(dlgen_outputs(model, {"a": a, "b": b}), {"y0": want}, atol=tol, rtol=tol)


def test_swiglu_extremes():
    a = np.array([-1e4, -100.0, -0.0, 0.0, 100.0, 1e4], np.float32)
    b = np.full_like(a, 2.0)
    model = make_model("SwiGLU", {"a": a, "b": b}, opset=28)
    got = dlgen_outputs(model, {"a": a, "b": b})["y0"]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, _swiglu(a, b, 1.0), atol=1e-5)


def _raw_model(op, x, inits, attrs, inputs, y_shape, opset):
    """A one-node model with a declared output shape and no shape inference (which rejects
    some of the forms the lowering must refuse on its own)."""
    from onnx import helper, numpy_helper
    node = helper.make_node(op, inputs, ["y"], **attrs)
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", elem, list(x.shape))],
        [helper.make_tensor_value_info("y", elem, list(y_shape))],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("op,x,inits,attrs,inputs,y_shape,match", [
    ("DFT", np.zeros((4, 2), np.float64), {}, {"axis": 0}, ["x"], (4, 2), "float64"),
    ("DFT", np.zeros((6, 1), np.float32), {}, {"axis": 0, "onesided": 1, "inverse": 1}, ["x"],
     (10, 1), "complex input"),
    ("STFT", np.zeros((1, 16, 2), np.float32),
     {"step": np.array(4, np.int64), "w": np.ones(8, np.float32)}, {"onesided": 1},
     ["x", "step", "w"], (1, 3, 5, 2), "real signal"),
])
def test_signal_refusals(op, x, inits, attrs, inputs, y_shape, match, tmp_path):
    """float64, IRFFT of a real input, one-sided STFT of a complex signal."""
    model = _raw_model(op, x, inits, attrs, inputs, y_shape, 17)
    with pytest.raises(Unsupported, match=match):
        dlgen.compile(model, "c", tmp_path / "out", name="m")


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_signal_compiles_strict(cc, tmp_path, rng):
    x = _signal(rng, (1, 32), 1)
    dft = make_model("DFT", {"x": x}, attrs={"axis": 1, "onesided": 1}, opset=17)
    stft = make_model("STFT", {"signal": x},
                      consts={"frame_step": np.array(4, np.int64),
                              "window": np.hanning(8).astype(np.float32)},
                      attrs={"onesided": 1})
    for name, model in (("dft", dft), ("stft", stft)):
        art = dlgen.compile(model, "c", tmp_path / name, name=name)
        check_compiles(art.path, cc=cc)
