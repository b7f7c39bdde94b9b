"""The C runner's process-level contract: one loaded copy per generated library, shared by its
runners, safe to use from several Python threads, and never unloaded under its own threads."""
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import onnx

import dlgen
from oplib import make_model, ort_outputs

REPO = Path(__file__).resolve().parents[3]


def _conv_model(w: np.ndarray) -> onnx.ModelProto:
    return make_model("Conv", {"x": np.zeros((1, 16, 24, 24), np.float32)}, consts={"w": w},
                      attrs={"pads": [1, 1, 1, 1]})


def _reference(model, x):
    return ort_outputs(model, {"x": x})["y0"]


def test_threaded_library_outlives_its_runners(tmp_path, rng):
    """Runners of a library with a thread pool, closed or just dropped, while the process
    goes on forking compilers: the pool's workers keep running code of the library, so it must
    stay loaded (unloading it crashed the process within a few hundred runners)."""
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    model_path = tmp_path / "conv.onnx"
    onnx.save(_conv_model(w), model_path)
    script = textwrap.dedent(f"""
        import gc, subprocess, numpy as np, dlgen
        art = dlgen.compile({str(model_path)!r}, "c", {str(tmp_path / "out")!r},
                            options={{"threads": 2, "parallel": "pthread"}})
        x = np.ones((1, 16, 24, 24), np.float32)
        first = None
        for i in range(300):
            runner = art.runner()
            y = runner.run({{"x": x}})["y0"]
            first = y if first is None else first
            assert np.array_equal(y, first)
            if i % 2:
                runner.close()
            del runner
            gc.collect()
            subprocess.run(["true"], check=True)
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_runners_of_one_library_keep_their_own_weights(tmp_path, rng):
    """Two models that differ only in their weights, with the weights in a .bin file, compile
    to the same code (one library); interleaved runs each use their own weights."""
    x = rng.standard_normal((1, 16, 24, 24)).astype(np.float32)
    models = [_conv_model(rng.standard_normal((8, 16, 3, 3)).astype(np.float32))
              for _ in range(2)]
    arts = [dlgen.compile(m, "c", tmp_path / f"out{i}", name="m", options={"weights": "bin"})
            for i, m in enumerate(models)]
    want = [_reference(m, x) for m in models]
    runners = [a.runner().prepare() for a in arts]
    try:
        for _ in range(3):
            for runner, expected in zip(runners, want):
                np.testing.assert_allclose(runner.run({"x": x})["y0"], expected,
                                           atol=1e-4, rtol=1e-4)
    finally:
        for runner in runners:
            runner.close()


def test_one_runner_from_many_threads(tmp_path, rng):
    """The generated code keeps its arena in static storage; the runner serializes calls, so
    Python threads can share one runner (and each gets its own input's result)."""
    model = _conv_model(rng.standard_normal((8, 16, 3, 3)).astype(np.float32))
    art = dlgen.compile(model, "c", tmp_path / "out", name="m")
    xs = [rng.standard_normal((1, 16, 24, 24)).astype(np.float32) for _ in range(4)]
    want = [_reference(model, x) for x in xs]
    failures = []
    with art.runner() as runner:
        def work(i):
            for _ in range(100):
                got = runner.run({"x": xs[i]})["y0"]
                if not np.allclose(got, want[i], atol=1e-4, rtol=1e-4):
                    failures.append(i)
                    return

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []


def test_rejected_weights_leave_the_library_usable(tmp_path, rng):
    """A .bin that does not match the code is refused with a fix, and costs the other runners
    of that library nothing."""
    import shutil

    import pytest

    from dlgen.errors import DlgenError

    model = _conv_model(rng.standard_normal((8, 16, 3, 3)).astype(np.float32))
    art = dlgen.compile(model, "c", tmp_path / "good", name="m", options={"weights": "bin"})
    shutil.copytree(art.path, tmp_path / "bad")
    blob = bytearray((tmp_path / "bad" / "m.bin").read_bytes())
    blob[0] ^= 0xFF  # the magic
    (tmp_path / "bad" / "m.bin").write_bytes(bytes(blob))
    x = rng.standard_normal((1, 16, 24, 24)).astype(np.float32)
    with art.runner() as good:
        with pytest.raises(DlgenError, match="m.bin was rejected"):
            dlgen.load(tmp_path / "bad").prepare()
        np.testing.assert_allclose(good.run({"x": x})["y0"], _reference(model, x),
                                   atol=1e-4, rtol=1e-4)
