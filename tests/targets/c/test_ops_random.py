"""Random ops (RandomUniform/Normal(Like), Bernoulli) on the C target.

Values can never match ONNX Runtime's generator, so these tests check what the C target
promises (docs/GENERATED_C.md, "Random numbers"): statistics within stated bounds over large
samples, exact Bernoulli at p = 0 and p = 1, determinism with a seed attribute (also across
compilers), a new stream on every call without one, <prefix>_seed, and outputs of the same
shape and dtype as ONNX Runtime's.

Statistical bounds are 6 standard errors of the estimate, so a correct generator fails one of
them with probability far below 1e-6 (and the seeded tests are deterministic anyway).
"""
from __future__ import annotations

import math
from pathlib import Path

import cffi
import numpy as np
import pytest
from onnx import TensorProto

import dlgen
from dlgen.targets.c import build
from dlgen.targets.c.build import check_compiles
from dlgen.targets.c.runner import CRunner
from oplib import dlgen_outputs, make_model, ort_outputs

N = 200_000


def _run(op, inputs=None, attrs=None, opset=22):
    inputs = inputs or {}
    model = make_model(op, inputs, attrs=attrs, opset=opset)
    return dlgen_outputs(model, inputs)["y0"]


@pytest.mark.parametrize("dtype", [TensorProto.FLOAT, TensorProto.DOUBLE])
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-3.0, 5.0)])
def test_uniform_statistics(dtype, low, high):
    y = _run("RandomUniform", attrs={"shape": [N], "low": low, "high": high, "dtype": dtype,
                                     "seed": 7.0})
    assert y.dtype == (np.float32 if dtype == TensorProto.FLOAT else np.float64)
    assert y.min() >= low and y.max() < high
    width = high - low
    x = y.astype(np.float64)
    assert abs(x.mean() - (low + high) / 2) < 6 * width / math.sqrt(12 * N)
    # var of a uniform = width^2 / 12; the estimate's standard error is width^2 / sqrt(180 N).
    assert abs(x.var() - width**2 / 12) < 6 * width**2 / math.sqrt(180 * N)
    # every tenth of the range gets a tenth of the values
    counts = np.histogram(x, bins=10, range=(low, high))[0]
    assert np.all(np.abs(counts - N / 10) < 6 * math.sqrt(N * 0.1 * 0.9))


@pytest.mark.parametrize("dtype", [TensorProto.FLOAT, TensorProto.DOUBLE])
@pytest.mark.parametrize("mean,scale", [(0.0, 1.0), (2.5, 0.5)])
def test_normal_statistics(dtype, mean, scale):
    y = _run("RandomNormal", attrs={"shape": [N], "mean": mean, "scale": scale, "dtype": dtype,
                                    "seed": 3.0})
    assert y.dtype == (np.float32 if dtype == TensorProto.FLOAT else np.float64)
    z = (y.astype(np.float64) - mean) / scale
    assert abs(z.mean()) < 6 / math.sqrt(N)
    assert abs(z.var() - 1) < 6 * math.sqrt(2 / N)
    assert abs(np.mean(z**3)) < 6 * math.sqrt(15 / N)            # skewness 0
    assert abs(np.mean(z**4) - 3) < 6 * math.sqrt(96 / N)        # kurtosis 3
    for k, p in ((1, 0.682689492), (2, 0.954499736), (3, 0.997300204)):
        assert abs(np.mean(np.abs(z) < k) - p) < 6 * math.sqrt(p * (1 - p) / N)


def test_half_outputs():
    y = _run("RandomUniform", attrs={"shape": [1000], "dtype": TensorProto.FLOAT16,
                                     "low": 2.0, "high": 4.0})
    assert y.dtype == np.float16 and y.min() >= 2.0 and y.max() <= 4.0
    y = _run("RandomNormal", attrs={"shape": [4000], "dtype": TensorProto.FLOAT16, "seed": 1.0})
    assert y.dtype == np.float16 and abs(float(y.astype(np.float32).mean())) < 0.1


@pytest.mark.parametrize("op,attrs", [("RandomUniformLike", {"low": 1.0, "high": 2.0}),
                                      ("RandomNormalLike", {"mean": 1.0, "scale": 0.1})])
def test_like_ops_follow_input(op, attrs):
    x = np.zeros((300, 200), np.float64)
    y = _run(op, {"x": x}, attrs=attrs)
    assert y.shape == x.shape and y.dtype == np.float64
    assert abs(y.mean() - 1.5 if op == "RandomUniformLike" else y.mean() - 1.0) < 0.01
    y = _run(op, {"x": x}, attrs={**attrs, "dtype": TensorProto.FLOAT})
    assert y.dtype == np.float32


@pytest.mark.parametrize("p_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("out", [None, TensorProto.BOOL, TensorProto.INT32, TensorProto.INT64,
                                 TensorProto.UINT8, TensorProto.FLOAT, TensorProto.DOUBLE])
def test_bernoulli_exact_ends_and_frequency(p_dtype, out):
    p = np.concatenate([np.zeros(1000), np.ones(1000), np.full(N, 0.3)]).astype(p_dtype)
    attrs = {} if out is None else {"dtype": out}
    feeds = {"p": p}
    model = make_model("Bernoulli", feeds, attrs=attrs, opset=17)  # ORT: Bernoulli-15
    y = dlgen_outputs(model, feeds)["y0"]
    want = ort_outputs(model, feeds)["y0"]
    assert y.shape == want.shape and y.dtype == want.dtype
    y = y.astype(np.float64)
    assert np.all(y[:1000] == 0) and np.all(y[1000:2000] == 1)
    assert set(np.unique(y)) <= {0.0, 1.0}
    assert abs(y[2000:].mean() - 0.3) < 6 * math.sqrt(0.3 * 0.7 / N)


@pytest.mark.parametrize("op,inputs,attrs", [
    ("RandomUniform", {}, {"shape": [3, 5], "dtype": TensorProto.DOUBLE}),
    ("RandomNormal", {}, {"shape": [2, 1, 4]}),
    ("RandomUniformLike", {"x": np.zeros((4, 3), np.float32)}, {}),
    ("RandomNormalLike", {"x": np.zeros((7,), np.float64)}, {"dtype": TensorProto.FLOAT}),
    ("Bernoulli", {"p": np.full((3, 4), 0.5, np.float64)}, {}),
    ("Bernoulli", {"p": np.full((5,), 0.5, np.float32)}, {"dtype": TensorProto.BOOL}),
])
def test_shapes_and_dtypes_match_onnxruntime(op, inputs, attrs):
    model = make_model(op, inputs, attrs={**attrs, "seed": 1.0}, opset=17)  # ORT has no -22
    got, want = dlgen_outputs(model, inputs)["y0"], ort_outputs(model, inputs)["y0"]
    assert got.shape == want.shape and got.dtype == want.dtype


def test_seed_is_deterministic_and_distinct():
    attrs = {"shape": [64], "seed": 42.0}
    a = _run("RandomNormal", attrs=attrs)
    b = _run("RandomNormal", attrs=attrs)
    np.testing.assert_array_equal(a, b)
    c = _run("RandomNormal", attrs={**attrs, "seed": 43.0})
    assert not np.array_equal(a, c)


def _open(art, cc=None):
    """The compiled model's library through cffi, with its run and seed functions."""
    ffi = cffi.FFI()
    ffi.cdef("int m_run(const float *x, float *y); void m_seed(uint64_t seed);"
             "int m_seed_ctx(void *arena, uint64_t seed);"
             "int m_run_ctx(void *arena, const float *x, float *y);"
             "void dlg_philox4x32(const uint32_t ctr[4], uint32_t k0, uint32_t k1,"
             "                    uint32_t out[4]);")
    return ffi, ffi.dlopen(str(build.build_shared(art.path, cc=cc)))


def _unseeded(tmp_path: Path, name="art"):
    x = np.zeros((256,), np.float32)
    model = make_model("RandomUniformLike", {"x": x}, opset=22)
    return dlgen.compile(model, "c", tmp_path / name, name="m")


def test_unseeded_streams_change_and_reseed(tmp_path):
    art = _unseeded(tmp_path)
    ffi, lib = _open(art)
    x = np.zeros(256, np.float32)

    def run():
        y = np.empty(256, np.float32)
        assert lib.m_run(ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y)) == 0
        return y

    lib.m_seed(5)
    first, second = run(), run()
    assert not np.array_equal(first, second)           # a new stream every call
    lib.m_seed(5)
    np.testing.assert_array_equal(run(), first)        # reseeding replays the sequence
    np.testing.assert_array_equal(run(), second)
    lib.m_seed(6)
    assert not np.array_equal(run(), first)
    # A caller arena has its own state.
    arena = np.zeros(art.manifest["arena_bytes"] + 16, np.uint8)
    start = (-arena.ctypes.data) % 16
    buf = ffi.from_buffer(arena[start:])
    assert lib.m_seed_ctx(buf, 5) == 0
    y = np.empty(256, np.float32)
    assert lib.m_run_ctx(buf, ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y)) == 0
    np.testing.assert_array_equal(y, first)
    assert lib.m_seed_ctx(ffi.NULL, 5) != 0
    assert {"m_seed", "m_seed_ctx"} <= set(art.manifest["c"]["entry_points"])


def test_unseeded_ops_in_one_model_differ():
    from onnx import helper
    graph = helper.make_graph(
        [helper.make_node("RandomNormal", [], ["a"], shape=[32]),
         helper.make_node("RandomNormal", [], ["b"], shape=[32])], "g", [],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [32]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [32])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    model.ir_version = 8
    out = dlgen_outputs(model, {})
    assert not np.array_equal(out["a"], out["b"])


def test_state_slot_is_never_shared(tmp_path):
    """The RNG state survives other ops' arena traffic: a model whose intermediates fill the
    arena around it still replays after reseeding."""
    from onnx import helper
    nodes = [helper.make_node("RandomUniformLike", ["x"], ["r"]),
             helper.make_node("Mul", ["x", "x"], ["t0"]),
             helper.make_node("Add", ["t0", "r"], ["t1"]),
             helper.make_node("Mul", ["t1", "t1"], ["y"])]
    graph = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [256])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [256])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    model.ir_version = 8
    art = dlgen.compile(model, "c", tmp_path / "a", name="m")
    plan = (art.path / "memory_plan.txt").read_text()
    assert "'rng_state'" in plan
    ffi, lib = _open(art)
    x = np.linspace(-1, 1, 256).astype(np.float32)

    def run():
        y = np.empty(256, np.float32)
        assert lib.m_run(ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y)) == 0
        return y

    lib.m_seed(9)
    seq = [run() for _ in range(3)]
    lib.m_seed(9)
    for want in seq:
        np.testing.assert_array_equal(run(), want)


def test_philox_known_answers(tmp_path):
    """Philox4x32-10 known-answer vectors of Random123 (kat_vectors)."""
    ffi, lib = _open(_unseeded(tmp_path))
    cases = [((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
             ((0xffffffff,) * 4, (0xffffffff,) * 2,
              (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
             ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
              (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]
    for ctr, key, want in cases:
        out = ffi.new("uint32_t[4]")
        lib.dlg_philox4x32(ctr, key[0], key[1], out)
        assert tuple(out) == want


# The first values of seeded ops: any change to the generator, or a platform or compiler that
# computes different bits, fails here.
_GOLDEN_UNIFORM = [0.4019639063671011, 0.5852969508444816, 0.30459844024234006]
_GOLDEN_NORMAL = [-1.7514739292098995, 1.523881461501582, -1.3154155418819382]


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_seeded_values_are_portable(tmp_path, cc):
    values = {}
    for op in ("RandomUniform", "RandomNormal"):
        model = make_model(op, {}, attrs={"shape": [3], "seed": 11.0,
                                          "dtype": TensorProto.DOUBLE}, opset=22)
        art = dlgen.compile(model, "c", tmp_path / op, name="m")
        with CRunner(art.path, art.manifest, cc=cc) as runner:
            values[op] = runner.run({})["y0"].tolist()
    assert values["RandomUniform"] == _GOLDEN_UNIFORM
    assert values["RandomNormal"] == _GOLDEN_NORMAL


def test_unsupported_output_type_is_refused():
    from dlgen.errors import Unsupported
    model = make_model("RandomUniform", {}, attrs={"shape": [2], "dtype": TensorProto.INT32},
                       opset=22)
    with pytest.raises(Unsupported, match="output element type int32"):
        dlgen_outputs(model, {})


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_random_artifacts_compile_strictly(tmp_path, cc):
    for k, (op, inputs, attrs) in enumerate([
            ("RandomUniformLike", {"x": np.zeros((3,), np.float32)}, {}),
            ("RandomNormal", {}, {"shape": [4], "seed": 2.0}),
            ("Bernoulli", {"p": np.full((3,), 0.5, np.float32)}, {"dtype": TensorProto.BOOL})]):
        model = make_model(op, inputs, attrs=attrs, opset=22)
        check_compiles(dlgen.compile(model, "c", tmp_path / str(k), name="m").path, cc=cc)
