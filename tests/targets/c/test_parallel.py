"""--threads N: dlg_parallel_for (runtime parallel.h) with its OpenMP and POSIX threads backends,
the backend choice at compile time (--parallel auto|openmp|pthread), and the BLAS routing of
--kernels cblas with threads."""
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.errors import BadInput, TargetUnavailable
from dlgen.targets.c.build import (_OPENMP_PROBE, _links, build_config, check_compiles,
                                   include_flags, sources)
from dlgen.targets.c.runner import starts_threads
from oplib import assert_close, ort_outputs

HAS_CLANG = shutil.which("clang") is not None


def _has(kernels: str = "portable", parallel: str = "auto", cc: str | None = None) -> bool:
    try:
        build_config(kernels, 2, parallel=parallel, cc=cc)
    except TargetUnavailable:
        return False
    return True


HAS_CBLAS = _has("cblas")
BACKENDS = [pytest.param("openmp", marks=pytest.mark.skipif(
                not _has(parallel="openmp"), reason="the compiler has no OpenMP")),
            "pthread"]


def _randn(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _threaded_model(rng):
    """Every threaded loop with enough work to split (DLG_PARALLEL_MIN_WORK multiply-adds):
    a depthwise conv (32 planes), a 3x3 conv (implicit GEMM, blocks of positions), a grouped
    1x1 conv, and Gemms whose B panels split unevenly over 2 and 3 threads (19 panels, and 2
    panels: one thread idle)."""
    inits = {"dw": _randn(rng, (32, 1, 3, 3)), "w": _randn(rng, (24, 32, 3, 3), 0.2),
             "b": _randn(rng, (24,)), "pw": _randn(rng, (32, 6, 1, 1), 0.3),
             "fc": _randn(rng, (32 * 20 * 20, 300), 0.02), "fc2": _randn(rng, (300, 32), 0.1)}
    nodes = [helper.make_node("Conv", ["x", "dw"], ["a"], group=32, pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["a", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Conv", ["r", "pw"], ["p"], group=4, strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("MatMul", ["f", "fc"], ["g"]),
             helper.make_node("MatMul", ["g", "fc2"], ["y"])]
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "threaded", [vi("x", onnx.TensorProto.FLOAT, [2, 32, 40, 40])],
                              [vi("y", onnx.TensorProto.FLOAT, [2, 32])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


KERNELS = ["portable", pytest.param("cblas", marks=pytest.mark.skipif(
    not HAS_CBLAS, reason="no CBLAS library (apt-get install libopenblas-dev)"))]


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("parallel", BACKENDS)
def test_threaded_numerics(parallel, threads, kernels, tmp_path, rng):
    model = _threaded_model(rng)
    feeds = {"x": _randn(rng, (2, 32, 40, 40))}
    art = dlgen.compile(model, "c", tmp_path / "out", name="m",
                        options={"kernels": kernels, "threads": threads, "parallel": parallel})
    config = art.manifest["c"]["build_config"]
    assert config["parallel"] == parallel
    assert f"DLG_THREADS={threads}" in config["defines"]
    assert f"DLG_PARALLEL_{parallel.upper()}" in config["defines"]
    assert starts_threads(config)
    want = ort_outputs(model, feeds)
    with art.runner() as runner:
        for _ in range(3):  # the pool is reused across calls
            assert_close(runner.run(feeds), want, atol=2e-3, rtol=1e-3)


def _small_plane_model(rng):
    """Convolutions on a 7x7 plane (one block of output positions): with threads they split by
    output channels, 100 of them (not a multiple of the micro-kernel's 6 rows), with bias, a
    fused residual and a fused activation; one of them batched and grouped."""
    inits = {"w": _randn(rng, (100, 64, 3, 3), 0.05), "b": _randn(rng, (100,)),
             "s": _randn(rng, (100, 64, 1, 1), 0.1), "g": _randn(rng, (100, 50, 1, 1), 0.1)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "s"], ["short"]),
             helper.make_node("Add", ["c", "short"], ["sum"]),
             helper.make_node("Relu", ["sum"], ["r"]),
             helper.make_node("Conv", ["r", "g"], ["y"], group=2)]
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "small_plane", [vi("x", onnx.TensorProto.FLOAT,
                                                        [2, 64, 7, 7])],
                              [vi("y", onnx.TensorProto.FLOAT, [2, 100, 7, 7])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("parallel", BACKENDS)
def test_small_plane_splits_by_channels(parallel, threads, tmp_path, rng):
    model = _small_plane_model(rng)
    feeds = {"x": _randn(rng, (2, 64, 7, 7))}
    art = dlgen.compile(model, "c", tmp_path / "out", name="m",
                        options={"threads": threads, "parallel": parallel, "winograd": "off"})
    want = ort_outputs(model, feeds)
    with art.runner() as runner:
        for _ in range(3):
            assert_close(runner.run(feeds), want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("threads", [2, 3])
def test_pthread_pool_after_fork(threads, tmp_path, rng):
    """A process forked after the pool started (a pre-forking server) runs the model in the
    child, serially, with the parent's results; the parent's pool keeps working."""
    import sys
    import textwrap

    model_path = tmp_path / "m.onnx"
    onnx.save(_small_plane_model(rng), model_path)
    script = textwrap.dedent(f"""
        import os, numpy as np, dlgen
        art = dlgen.compile({str(model_path)!r}, "c", {str(tmp_path / "out")!r},
                            options={{"threads": {threads}, "parallel": "pthread"}})
        x = np.random.default_rng(0).standard_normal((2, 64, 7, 7)).astype(np.float32)
        runner = art.runner()
        want = runner.run({{"x": x}})["y"]
        pid = os.fork()
        if pid == 0:
            same = all(np.array_equal(runner.run({{"x": x}})["y"], want) for _ in range(3))
            os._exit(0 if same else 3)
        _, status = os.waitpid(pid, 0)
        assert np.array_equal(runner.run({{"x": x}})["y"], want)
        print("child", os.waitstatus_to_exitcode(status))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "child 0", proc.stderr[-2000:]


def test_one_thread_has_no_backend(tmp_path, rng):
    art = dlgen.compile(_threaded_model(rng), "c", tmp_path / "out", name="m",
                        options={"parallel": "pthread"})
    config = art.manifest["c"]["build_config"]
    assert config["parallel"] is None and config["libs"] == [] and not starts_threads(config)
    assert "pthread" not in (tmp_path / "out" / "Makefile").read_text()


def test_pthread_build_files(tmp_path, rng):
    """The Makefile and CMakeLists of a pthread build link -pthread / Threads::Threads."""
    dlgen.compile(_threaded_model(rng), "c", tmp_path / "out", name="m",
                  options={"threads": 2, "parallel": "pthread"})
    makefile = (tmp_path / "out" / "Makefile").read_text()
    assert "-DDLG_THREADS=2 -DDLG_PARALLEL_PTHREAD -pthread" in makefile
    assert "DLG_LIBS = -pthread" in makefile
    cmake = (tmp_path / "out" / "CMakeLists.txt").read_text()
    assert "Threads::Threads" in cmake and "OpenMP" not in cmake


def test_bad_parallel_is_refused(tmp_path, rng):
    with pytest.raises(BadInput, match="unknown parallel backend"):
        dlgen.compile(_threaded_model(rng), "c", tmp_path / "a",
                      options={"threads": 2, "parallel": "tbb"})


@pytest.mark.skipif(not HAS_CLANG, reason="clang not installed")
def test_clang_without_openmp_uses_pthreads(tmp_path, rng, monkeypatch):
    """A compiler without an OpenMP runtime builds --threads with the pthread pool; asking for
    OpenMP explicitly is a clear compile-time error."""
    if _links("clang", _OPENMP_PROBE, ["-fopenmp"])[0]:
        pytest.skip("this clang has an OpenMP runtime")
    assert build_config("portable", 2, cc="clang")["parallel"] == "pthread"
    with pytest.raises(TargetUnavailable, match="cannot build threaded code") as info:
        build_config("portable", 2, cc="clang", parallel="openmp")
    assert "libomp-dev" in info.value.hint
    monkeypatch.setenv("CC", "clang")
    model = _threaded_model(rng)
    feeds = {"x": _randn(rng, (2, 32, 40, 40))}
    art = dlgen.compile(model, "c", tmp_path / "out", name="m", options={"threads": 2})
    assert art.manifest["c"]["build_config"]["parallel"] == "pthread"
    with art.runner() as runner:
        assert_close(runner.run(feeds), ort_outputs(model, feeds), atol=2e-3, rtol=1e-3)


@pytest.mark.parametrize("cc", ["gcc", pytest.param("clang", marks=pytest.mark.skipif(
    not HAS_CLANG, reason="clang not installed"))])
@pytest.mark.parametrize("kernels", KERNELS)
def test_strict_compile(cc, kernels, tmp_path, rng, monkeypatch):
    """Both backends (and the serial form) compile warning-free under -Werror."""
    monkeypatch.setenv("CC", cc)
    backends = ["pthread", None] + (["openmp"] if _has(kernels, "openmp", cc) else [])
    for i, parallel in enumerate(backends):
        out = tmp_path / f"out{i}"
        dlgen.compile(_threaded_model(rng), "c", out, name="m",
                      options={"kernels": kernels, "threads": 1 if parallel is None else 3,
                               "parallel": parallel or "auto"})
        check_compiles(out, cc=cc)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_thread_sanitizer(tmp_path, rng):
    """The pthread pool under ThreadSanitizer: the generated test bench, 3 threads, several
    runs, no data race reported."""
    model = _threaded_model(rng)
    art = dlgen.compile(model, "c", tmp_path / "out", name="m",
                        options={"threads": 3, "parallel": "pthread"})
    exe = tmp_path / "bench"
    defines = [f"-D{d}" for d in art.manifest["c"]["build_config"]["defines"]]
    build = subprocess.run(["gcc", "-std=c99", "-O1", "-g", "-fsanitize=thread", "-pthread",
                            *defines, *include_flags(art.path), *map(str, sources(art.path)),
                            str(art.path / "main.c"), "-o", str(exe), "-lm"],
                           capture_output=True, text=True)
    if build.returncode != 0 and "tsan" in build.stderr:
        pytest.skip("no ThreadSanitizer runtime")
    assert build.returncode == 0, build.stderr[-3000:]
    feeds = {"x": _randn(rng, (2, 32, 40, 40))}
    feeds["x"].tofile(tmp_path / "in0.bin")
    run = subprocess.run([str(exe), "-n", "3", "-i", str(tmp_path / "in0.bin"), "-o",
                          str(tmp_path / "out0.bin")], capture_output=True, text=True)
    if "FATAL: ThreadSanitizer" in run.stderr:  # e.g. an unsupported memory layout
        pytest.skip(run.stderr.splitlines()[0])
    assert run.returncode == 0 and "WARNING: ThreadSanitizer" not in run.stderr, \
        run.stderr[-3000:]
    got = np.fromfile(tmp_path / "out0.bin", dtype=np.float32).reshape(2, 32)
    np.testing.assert_allclose(got, ort_outputs(model, feeds)["y"], atol=2e-3, rtol=1e-3)
