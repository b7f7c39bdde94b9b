"""The generated C API contract (docs/GENERATED_C.md): run, run_ctx, arena checks, weights blob."""
import threading

import cffi
import numpy as np
import pytest

import dlgen
from dlgen.targets.c.build import build_shared, check_compiles



@pytest.fixture(scope="module")
def tiny_model():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "golden"))
    import regen

    return regen.tiny_mlp()


def _load(art, weights_bin=False):
    ffi = cffi.FFI()
    ffi.cdef("int tiny_run(const float *, float *);"
             "int tiny_run_ctx(void *, const float *, float *);"
             + ("int tiny_load_weights(const void *, size_t);" if weights_bin else ""))
    return ffi, ffi.dlopen(str(build_shared(art.path)))


def _header_int(art, macro):
    for line in (art.path / "tiny.h").read_text().splitlines():
        if line.startswith(f"#define {macro} "):
            return int(line.split()[2].rstrip("u"))
    raise AssertionError(macro)


def test_run_ctx_is_reentrant(tiny_model, tmp_path, rng):
    art = dlgen.compile(tiny_model, "c", tmp_path / "out", name="tiny")
    ffi, lib = _load(art)
    arena_bytes = _header_int(art, "TINY_ARENA_BYTES")
    assert arena_bytes == art.manifest["arena_bytes"] > 0
    xs = [rng.standard_normal((2, 4)).astype(np.float32) for _ in range(8)]
    want = []
    for x in xs:
        y = np.empty((2, 3), np.float32)
        assert lib.tiny_run(ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y)) == 0
        want.append(y)
    results = [None] * len(xs)

    def worker(i):
        arena = np.zeros(arena_bytes + 16, np.uint8)
        start = (-arena.ctypes.data) % 16
        aligned = arena[start:start + arena_bytes]
        for _ in range(200):
            y = np.empty((2, 3), np.float32)
            rc = lib.tiny_run_ctx(ffi.from_buffer(aligned), ffi.from_buffer("float[]", xs[i]),
                                  ffi.from_buffer("float[]", y))
            assert rc == 0
        results[i] = y

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, exp in zip(results, want):
        np.testing.assert_array_equal(got, exp)


def test_run_ctx_rejects_null_and_misaligned_arena(tiny_model, tmp_path):
    art = dlgen.compile(tiny_model, "c", tmp_path / "out", name="tiny")
    ffi, lib = _load(art)
    x, y = np.zeros((2, 4), np.float32), np.zeros((2, 3), np.float32)
    xb, yb = ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y)
    assert lib.tiny_run_ctx(ffi.NULL, xb, yb) == -3
    arena = np.zeros(art.manifest["arena_bytes"] + 32, np.uint8)
    start = (-arena.ctypes.data) % 16 + 4
    assert lib.tiny_run_ctx(ffi.from_buffer(arena[start:]), xb, yb) == -3


def test_weights_blob_contract(tiny_model, tmp_path, rng):
    art = dlgen.compile(tiny_model, "c", tmp_path / "out", name="tiny", options={"weights": "bin"})
    assert not (art.path / "tiny_weights.c").exists()
    blob = (art.path / "tiny.bin").read_bytes()
    assert blob[:8] == b"DLGENWB1" and int.from_bytes(blob[8:16], "little") == len(blob)
    assert _header_int(art, "TINY_BLOB_BYTES") == len(blob)
    ffi, lib = _load(art, weights_bin=True)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    y = np.zeros((2, 3), np.float32)
    xb, yb = ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y)
    # Fresh library state (only this test loads the "bin" build): no weights yet.
    assert lib.tiny_run(xb, yb) == -1
    bad = bytearray(blob)
    bad[0:8] = b"XXXXXXXX"
    assert lib.tiny_load_weights(ffi.from_buffer(bytes(bad)), len(bad)) == -2
    assert lib.tiny_load_weights(ffi.from_buffer(blob), len(blob) - 1) == -2
    keep = np.frombuffer(blob, np.uint8).copy()
    assert lib.tiny_load_weights(ffi.from_buffer(keep), len(blob)) == 0
    assert lib.tiny_run(xb, yb) == 0
    ref = dlgen.compile(tiny_model, "c", tmp_path / "ref", name="tiny")
    with ref.runner() as r:
        np.testing.assert_array_equal(y, r.run({"x": x})["y"])


@pytest.mark.parametrize("weights", ["c", "inline", "bin"])
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_every_weights_mode_compiles_strict(tiny_model, tmp_path, weights, cc):
    art = dlgen.compile(tiny_model, "c", tmp_path / "out", name="tiny",
                        options={"weights": weights})
    check_compiles(art.path, cc=cc)


def test_no_mutable_globals_but_the_arena(tiny_model, tmp_path):
    art = dlgen.compile(tiny_model, "c", tmp_path / "out", name="tiny")
    import subprocess

    obj = tmp_path / "tiny.o"
    subprocess.run(["cc", "-std=c99", "-c", f"-I{art.path}", f"-I{art.path}/runtime/include",
                    str(art.path / "tiny.c"), "-o", str(obj)], check=True)
    syms = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    data = [line.split()[-1] for line in syms.splitlines()
            if len(line.split()) == 3 and line.split()[1] in "bBdD"]
    assert data == ["tiny_arena"], data
    assert "malloc" not in syms


def test_auto_weights_switch_to_a_blob_for_large_models(tiny_model, tmp_path, monkeypatch):
    from dlgen.targets.c import target

    small = dlgen.compile(tiny_model, "c", tmp_path / "small", name="tiny")
    assert small.manifest["c"]["weights_mode"] == "c"
    monkeypatch.setattr(target, "AUTO_BIN_BYTES", 64)
    large = dlgen.compile(tiny_model, "c", tmp_path / "large", name="tiny")
    assert large.manifest["c"]["weights_mode"] == "bin"
    assert (large.path / "tiny.bin").is_file()


def test_specialized_input_is_folded_and_guarded(tmp_path, rng):
    from onnx import helper

    node = helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [3, 4, 5]),
                                            helper.make_tensor_value_info("axes", 7, [1])],
                              [helper.make_tensor_value_info("y", 1, [3, 5])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    with pytest.raises(dlgen.DlgenError, match="compile-time constant"):
        dlgen.compile(model, "c", tmp_path / "plain")
    art = dlgen.compile(model, "c", tmp_path / "spec", specialize={"axes": np.array([1])})
    assert art.manifest["specialized_inputs"] == ["axes"]
    assert art.manifest["outputs"][0]["shape"] == [3, 5]
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    with art.runner() as r:
        np.testing.assert_allclose(r.run({"x": x, "axes": np.array([1])})["y"], x.sum(1),
                                   rtol=1e-5)
        with pytest.raises(dlgen.DlgenError, match="compiled for fixed values of 'axes'"):
            r.run({"x": x, "axes": np.array([2])})
