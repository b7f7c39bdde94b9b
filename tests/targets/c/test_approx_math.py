"""The vectorizable exp, sigmoid and tanh of runtime.h (dlg_exp_approx, dlg_sigmoid_approx,
dlg_tanh_approx; used by dlg_act_apply / dlg_act_inplace, so by fused activations and the RNN
gates) against float64 numpy: a dense sweep of float32 (every 4093rd bit pattern, which covers
subnormals, huge values and infinities, and a fine grid over [-20, 20]) plus the edge values,
with the error bounds runtime.h documents. Each is built twice: loops that compilers vectorize
(-O3 -march=native, the artifacts' build) and scalar code (-O0)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cffi
import numpy as np
import pytest

from dlgen.resources import runtime_dir
from dlgen.targets.c.build import STRICT_FLAGS, native_flags

# Bounds in units in the last place of the float32-rounded true value (runtime.h's comment).
MAX_ULP = {"exp": 1.0, "sigmoid": 3.0, "tanh": 1.5}

SOURCE = r"""
#include "dlgen/runtime.h"

void approx_exp(float *y, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) {
        y[i] = dlg_exp_approx(y[i]);
    }
}

void approx_act(float *y, size_t n, int kind) {
    dlg_act_inplace(y, n, kind, 0.0f, 0.0f);
}

void approx_act_scalar(float *y, size_t n, int kind) {
    size_t i;
    for (i = 0; i < n; ++i) {
        y[i] = dlg_act_apply(y[i], kind, 0.0f, 0.0f);
    }
}
"""
CDEF = """
void approx_exp(float *y, size_t n);
void approx_act(float *y, size_t n, int kind);
void approx_act_scalar(float *y, size_t n, int kind);
"""
KIND = {"sigmoid": 3, "tanh": 4}  # DLG_ACT_SIGMOID, DLG_ACT_TANH


def _compilers() -> list[str]:
    return [cc for cc in ("gcc", "clang") if shutil.which(cc)]


@pytest.fixture(scope="module", params=[(cc, opt) for cc in _compilers() for opt in ("-O3", "-O0")],
                ids=lambda p: f"{p[0]}{p[1]}")
def lib(request, tmp_path_factory):
    cc, opt = request.param
    tmp = tmp_path_factory.mktemp("approx")
    src = tmp / "approx.c"
    src.write_text(SOURCE)
    so = tmp / "approx.so"
    flags = [*STRICT_FLAGS, opt, "-fPIC", "-shared", *(native_flags(cc) if opt == "-O3" else [])]
    subprocess.run([cc, *flags, f"-I{runtime_dir() / 'include'}", str(src), "-o", str(so), "-lm"],
                   check=True, capture_output=True, text=True)
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    return ffi, ffi.dlopen(str(so))


def _edge_values() -> np.ndarray:
    f32 = np.float32
    marks = [0.0, 1e-45, 1e-40, 1.1754944e-38, 2.0 ** -12, 0.625, 1.0, 9.0, 9.1, 17.4, 20.0,
             87.33655, 88.0, 88.37626, 88.72283, 88.72284, 89.0, 100.0, 103.97, 103.98, 104.0,
             1e10, 3.4028235e38, np.inf]
    vals = []
    with np.errstate(over="ignore"):
        for m in marks:
            for v in (f32(m), -f32(m)):
                vals += [v, np.nextafter(v, f32(np.inf)), np.nextafter(v, f32(-np.inf))]
    return np.array(vals, np.float32)


def _sweep() -> np.ndarray:
    bits = np.arange(0, 2 ** 32, 4093, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = x[~np.isnan(x)]
    grid = np.linspace(-20.0, 20.0, 400_001, dtype=np.float32)
    return np.concatenate([x, grid, _edge_values()])


def _reference(name: str, x: np.ndarray) -> np.ndarray:
    xd = x.astype(np.float64)
    with np.errstate(over="ignore"):
        if name == "exp":
            return np.exp(xd)
        if name == "sigmoid":
            return 1.0 / (1.0 + np.exp(-xd))
        return np.tanh(xd)


def _run(lib, name: str, x: np.ndarray, scalar: bool = False) -> np.ndarray:
    ffi, so = lib
    y = np.array(x, np.float32)
    ptr = ffi.cast("float *", y.ctypes.data)
    if name == "exp":
        so.approx_exp(ptr, y.size)
    elif scalar:
        so.approx_act_scalar(ptr, y.size, KIND[name])
    else:
        so.approx_act(ptr, y.size, KIND[name])
    return y


def _ulp_errors(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        want32 = want.astype(np.float32)
    finite = np.isfinite(want32)
    err = np.zeros(got.shape)
    # Where the true value rounds to +-inf in float32, only that infinity is right.
    err[~finite] = np.where(got[~finite] == want32[~finite], 0.0, np.inf)
    spacing = np.spacing(np.abs(want32[finite])).astype(np.float64)
    err[finite] = np.abs(got[finite].astype(np.float64) - want[finite]) / spacing
    return err


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_error_bound_over_a_dense_sweep(lib, name):
    x = _sweep()
    got = _run(lib, name, x)
    err = _ulp_errors(got, _reference(name, x))
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP[name], (
        f"{name}({x[worst]!r}) = {got[worst]!r}, want {_reference(name, x[worst:worst + 1])[0]!r}"
        f" ({err[worst]:.2f} ulp)")


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_scalar_form_matches_the_bound(lib, name):
    # dlg_act_apply (one value at a time, as Conv epilogues call it) keeps the same bound.
    x = np.concatenate([np.linspace(-30.0, 30.0, 20_001, dtype=np.float32), _edge_values()])
    err = _ulp_errors(_run(lib, name, x, scalar=True), _reference(name, x))
    assert err.max() <= MAX_ULP[name]


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh"])
def test_nan_passes_through(lib, name):
    got = _run(lib, name, np.array([np.nan, -np.nan, 1.0], np.float32))
    assert np.isnan(got[:2]).all() and not np.isnan(got[2])


def test_saturation_and_signed_zero(lib):
    inf = np.float32(np.inf)
    x = np.array([inf, -inf, 88.72284, -103.98, 1e30, -1e30], np.float32)
    np.testing.assert_array_equal(_run(lib, "exp", x), [inf, 0, inf, 0, inf, 0])
    x = np.array([inf, -inf, 17.4, 50.0, -104.0, -1e30], np.float32)
    np.testing.assert_array_equal(_run(lib, "sigmoid", x), [1, 0, 1, 1, 0, 0])
    assert _run(lib, "sigmoid", np.array([-100.0], np.float32))[0] > 0  # subnormal, not 0
    x = np.array([inf, -inf, 9.1, -9.1, 1e30, -1e30, 2.0 ** -20], np.float32)
    np.testing.assert_array_equal(_run(lib, "tanh", x), [1, -1, 1, -1, 1, -1, 2.0 ** -20])
    zero = _run(lib, "tanh", np.array([-0.0, 0.0], np.float32))
    assert list(np.signbit(zero)) == [True, False] and not zero.any()
