"""Bad input gets a clear error: exit status 2, what and where, a hint, no traceback, and no
partial output folder left behind. Runs the real entry point in a subprocess."""
from __future__ import annotations

import json
import time
import tracemalloc

import numpy as np
import pytest

import dlgen as dlgen_api
from dlgen.errors import ShapeError
from dlgen.targets.c import registry


# -- the model file itself -------------------------------------------------------------------

def _truncated(models, tmp_path):
    data = models.mlp().read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    return path


def _garbage(models, tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(1).bytes(1000))
    return path


def _empty(models, tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    return path


def _folder(models, tmp_path):
    folder = tmp_path / "models_dir"
    folder.mkdir()
    models.mlp("models_dir/inside.onnx")
    return folder


BAD_MODELS = {
    # case: (make the path, words the message must contain)
    "missing": (lambda m, t: t / "nope.onnx", ["'", "nope.onnx", "no such file"]),
    "directory": (_folder, ["models_dir", "is a directory", "inside.onnx"]),
    "empty": (_empty, ["empty.onnx", "empty (0 bytes)"]),
    "garbage": (_garbage, ["garbage.onnx", "not an ONNX model"]),
    "truncated": (_truncated, ["truncated.onnx", "truncated"]),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_file_compile(case, models, tmp_path, dlgen, user_error, no_output):
    make, words = BAD_MODELS[case]
    path = make(models, tmp_path)
    out = tmp_path / "out"
    user_error(dlgen("compile", path, "-o", out), *words)
    no_output(out)


@pytest.mark.parametrize("command", ["run", "verify", "inspect"])
@pytest.mark.parametrize("case", ["missing", "garbage", "truncated"])
def test_bad_model_file_other_commands(command, case, models, tmp_path, dlgen, user_error):
    make, words = BAD_MODELS[case]
    user_error(dlgen(command, make(models, tmp_path)), *words)


def test_bad_model_in_missing_parent_leaves_no_folders(tmp_path, dlgen, user_error, no_output):
    """A failed compile removes the parent folders it created for the output."""
    out = tmp_path / "new1" / "new2" / "out"
    user_error(dlgen("compile", tmp_path / "nope.onnx", "-o", out), "no such file")
    no_output(out)
    assert not (tmp_path / "new1").exists()


def test_manifest_is_not_a_model(models, tmp_path, dlgen, user_error):
    art = tmp_path / "art"
    assert dlgen("compile", models.mlp(), "-o", art).returncode == 0
    user_error(dlgen("compile", art / "dlgen.json", "-o", tmp_path / "out"), "manifest")


# -- external data ---------------------------------------------------------------------------

def test_external_data_outside_model_folder(models, tmp_path, dlgen, user_error, no_output):
    model = models.external("../x.bin", data=tmp_path / "x.bin")
    out = tmp_path / "out"
    user_error(dlgen("compile", model, "-o", out),
               "ext.onnx", "'W'", "'../x.bin'", "outside the model's folder")
    no_output(out)


def test_external_data_absolute_path(models, tmp_path, dlgen, user_error, no_output):
    data = tmp_path / "abs.bin"
    model = models.external(str(data), data=data)
    out = tmp_path / "out"
    user_error(dlgen("compile", model, "-o", out), "'W'", "absolute path")
    no_output(out)


def test_external_data_missing_file(models, tmp_path, dlgen, user_error, no_output):
    model = models.external("weights.bin")
    out = tmp_path / "out"
    user_error(dlgen("compile", model, "-o", out), "'weights.bin'", "'W'", "missing")
    no_output(out)


def test_external_data_inside_folder_compiles(models, tmp_path, dlgen, ort):
    """The good case, for contrast: data beside the model is read."""
    model = models.external("weights.bin", data=tmp_path / "model" / "weights.bin")
    x = np.random.default_rng(2).standard_normal((2, 4)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    proc = dlgen("run", model, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz")
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "o.npz")["y"]
    np.testing.assert_allclose(got, ort(model, {"x": x})["y"], rtol=1e-5, atol=1e-5)


# -- unsupported ops -------------------------------------------------------------------------

def test_fixture_ops_are_really_unsupported():
    ops = registry.supported_ops()
    assert ("", "Det") not in ops and ("com.example", "Foo") not in ops


def test_unsupported_ops_are_all_listed(models, tmp_path, dlgen, user_error, no_output):
    model = models.unsupported()
    out = tmp_path / "out"
    err = user_error(dlgen("compile", model, "-o", out), "2 node(s)", "onnxruntime")
    lines = err.splitlines()
    custom = next(ln for ln in lines if "'custom_node'" in ln)
    det = next(ln for ln in lines if "'det_node'" in ln)
    for word in ("Foo", "com.example", "opset 1"):
        assert word in custom, custom
    for word in ("Det", "ai.onnx", "opset 17"):
        assert word in det, det
    no_output(out)


def test_unsupported_ops_in_run_and_verify(models, dlgen, user_error):
    model = models.unsupported()
    for command in ("run", "verify"):
        user_error(dlgen(command, model), "'custom_node'", "'det_node'")


def test_inspect_reports_unsupported_ops(models, dlgen):
    proc = dlgen("inspect", models.unsupported())
    assert proc.returncode == 0, proc.stderr
    assert "not supported" in proc.stdout
    assert "ai.onnx::Det" in proc.stdout and "com.example::Foo" in proc.stdout


def test_hostile_names_in_errors_are_escaped(models, dlgen, user_error):
    """A node name with a newline and a terminal escape is printed escaped, on one line."""
    evil = "evil\n\x1b[31mred"
    err = user_error(dlgen("compile", models.unsupported(custom_name=evil), "-o",
                           models.root / "out"))
    assert "\x1b" not in err
    assert "'evil\\n\\x1b[31mred'" in err


# -- shapes ----------------------------------------------------------------------------------

def test_unbound_dynamic_dim(models, tmp_path, dlgen, user_error, no_output):
    model = models.dynamic()
    out = tmp_path / "out"
    err = user_error(dlgen("compile", model, "-o", out), "'x'", "dim 0", "'N'", "--input-shape")
    assert "--input-shape x=" in err  # a flag the user can copy
    no_output(out)
    proc = dlgen("compile", model, "-o", out, "--input-shape", "x=2x4")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "dlgen.json").read_text())
    assert manifest["inputs"] == [{"name": "x", "dtype": "float32", "shape": [2, 4]}]
    assert manifest["outputs"][0]["shape"] == [2, 3]


def test_unbound_dynamic_dim_run_and_verify(models, dlgen, user_error):
    model = models.dynamic()
    user_error(dlgen("run", model), "--input-shape")
    proc = dlgen("verify", model, "--input-shape", "x=5x4")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "[5, 3]" in proc.stdout


def test_huge_initializer_is_refused(models, tmp_path, dlgen, user_error, no_output):
    out = tmp_path / "out"
    start = time.monotonic()
    proc = dlgen("compile", models.huge_initializer(), "-o", out, timeout=120)
    user_error(proc, "'W'", "4.0 TiB", "limit")
    assert time.monotonic() - start < 120
    no_output(out)


def test_huge_initializer_is_refused_without_allocating(models, tmp_path):
    path = models.huge_initializer()
    tracemalloc.start()
    try:
        with pytest.raises(ShapeError, match="4.0 TiB"):
            dlgen_api.compile(path, "c", tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"peak Python allocation {peak} bytes"


def test_huge_input_is_refused(models, tmp_path, dlgen, user_error, no_output):
    out = tmp_path / "out"
    user_error(dlgen("compile", models.huge_input(), "-o", out, timeout=120), "'x'", "limit")
    no_output(out)


# -- --input-shape ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec, words", [
    ("x2x4", ["'x2x4'", "NAME=DIMS"]),
    ("=2x4", ["'=2x4'", "NAME=DIMS"]),
    ("x=2xAx4", ["'x=2xAx4'", "positive integers"]),
    ("x=0x4", ["'x=0x4'", "positive integers"]),
    ("x=-1x4", ["'x=-1x4'", "positive integers"]),
    ("x=2x4x", ["'x=2x4x'", "positive integers"]),
    ("nope=2x4", ["'nope'", "no such input", "'x'"]),
    ("x=2", ["rank 1", "rank 2"]),
])
def test_malformed_input_shape(spec, words, models, tmp_path, dlgen, user_error, no_output):
    out = tmp_path / "out"
    user_error(dlgen("compile", models.dynamic(), "-o", out, "--input-shape", spec), *words)
    no_output(out)


def test_input_shape_cannot_change_a_fixed_dim(models, tmp_path, dlgen, user_error):
    user_error(dlgen("compile", models.mlp(), "-o", tmp_path / "out", "--input-shape", "x=3x4"),
               "fixes it at 2")


def test_input_shape_given_twice_differently(models, tmp_path, dlgen, user_error):
    user_error(dlgen("compile", models.dynamic(), "-o", tmp_path / "out",
                     "--input-shape", "x=2x4", "--input-shape", "x=3x4"), "already bound")


# -- --inputs / --outputs --------------------------------------------------------------------

def test_inputs_file_missing(models, tmp_path, dlgen, user_error):
    user_error(dlgen("run", models.mlp(), "--inputs", tmp_path / "nope.npz"),
               "--inputs", "nope.npz", "does not exist")


def test_inputs_file_not_npz(models, dlgen, user_error):
    model = models.mlp()
    user_error(dlgen("run", model, "--inputs", model), "--inputs", "mlp.onnx", "not an .npz")


def test_inputs_file_is_npy(models, tmp_path, dlgen, user_error):
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float32))
    user_error(dlgen("run", models.mlp(), "--inputs", tmp_path / "x.npy"), ".npy")


def test_inputs_missing_an_input(models, tmp_path, dlgen, user_error):
    np.savez(tmp_path / "in.npz", z=np.zeros((2, 4), np.float32))
    err = user_error(dlgen("run", models.mlp(), "--inputs", tmp_path / "in.npz"),
                     "missing 'x'", "unknown 'z'")
    assert "float32[2, 4]" in err  # the hint shows what the model wants


def test_inputs_wrong_shape(models, tmp_path, dlgen, user_error):
    np.savez(tmp_path / "in.npz", x=np.zeros((3, 4), np.float32))
    user_error(dlgen("run", models.mlp(), "--inputs", tmp_path / "in.npz"),
               "'x'", "[3, 4]", "[2, 4]")


def test_inputs_wrong_shape_for_an_artifact(models, tmp_path, dlgen, user_error):
    art = tmp_path / "art"
    assert dlgen("compile", models.mlp(), "-o", art).returncode == 0
    np.savez(tmp_path / "in.npz", x=np.zeros((2, 5), np.float32))
    user_error(dlgen("run", art, "--inputs", tmp_path / "in.npz"), "'x'", "[2, 5]", "[2, 4]")


def test_inputs_wrong_shape_for_verify(models, tmp_path, dlgen, user_error):
    np.savez(tmp_path / "in.npz", x=np.zeros((1, 4), np.float32))
    user_error(dlgen("verify", models.mlp(), "--inputs", tmp_path / "in.npz"), "[1, 4]")


def test_outputs_path_under_a_file(models, tmp_path, dlgen, user_error):
    (tmp_path / "afile").write_text("keep")
    user_error(dlgen("run", models.mlp(), "--outputs", tmp_path / "afile" / "o.npz"),
               "--outputs", "o.npz")


def test_outputs_path_is_a_folder(models, tmp_path, dlgen, user_error):
    (tmp_path / "o.npz").mkdir()
    user_error(dlgen("run", models.mlp(), "--outputs", tmp_path / "o.npz"), "is a folder")


# -- the output path -------------------------------------------------------------------------

def test_output_is_a_regular_file(models, tmp_path, dlgen, user_error):
    out = tmp_path / "out"
    out.write_text("precious")
    user_error(dlgen("compile", models.mlp(), "-o", out), "'", "out", "exists and is a file")
    assert out.read_text() == "precious"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_output_is_a_non_artifact_folder(models, tmp_path, dlgen, user_error):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    user_error(dlgen("compile", models.mlp(), "-o", out), "not a dlgen artifact")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "precious"


def test_output_parent_is_a_file(models, tmp_path, dlgen, user_error):
    (tmp_path / "afile").write_text("precious")
    user_error(dlgen("compile", models.mlp(), "-o", tmp_path / "afile" / "sub" / "out"),
               "is a file")
    assert (tmp_path / "afile").read_text() == "precious"


def test_output_in_an_unwritable_place(models, dlgen, user_error):
    user_error(dlgen("compile", models.mlp(), "-o", "/proc/dlgen-test/out"),
               "cannot create the output folder")


def test_model_inside_the_artifact_it_would_replace(models, tmp_path, dlgen, user_error):
    art = tmp_path / "art"
    assert dlgen("compile", models.mlp(), "-o", art).returncode == 0
    model = art / "copy.onnx"
    model.write_bytes(models.mlp().read_bytes())
    user_error(dlgen("compile", model, "-o", art), "inside the output folder")
    assert model.exists() and (art / "dlgen.json").exists()


def test_failed_recompile_keeps_the_old_artifact(models, tmp_path, dlgen, user_error):
    art = tmp_path / "art"
    assert dlgen("compile", models.mlp(), "-o", art).returncode == 0
    before = sorted(p.name for p in art.iterdir())
    user_error(dlgen("compile", models.unsupported(), "-o", art), "'det_node'")
    assert sorted(p.name for p in art.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".art.")]


# -- targets ---------------------------------------------------------------------------------

@pytest.mark.parametrize("target, words", [
    ("tensorrt", ["'tensorrt'", "not implemented"]),
    ("nonsense", ["unknown target 'nonsense'"]),
])
def test_unavailable_or_unknown_target(target, words, models, tmp_path, dlgen, user_error,
                                       no_output):
    out = tmp_path / "out"
    err = user_error(dlgen("compile", models.mlp(), "-t", target, "-o", out), *words)
    hint = err.split("\nhint: ", 1)[1]
    assert "c" in hint.replace(",", " ").split() and "onnxruntime" in hint
    no_output(out)


@pytest.mark.parametrize("command", ["run", "verify"])
def test_unknown_target_other_commands(command, models, dlgen, user_error):
    user_error(dlgen(command, models.mlp(), "-t", "nonsense"), "nonsense", "onnxruntime")


# -- other misuse ----------------------------------------------------------------------------

def test_run_on_a_folder_that_is_not_an_artifact(tmp_path, dlgen, user_error):
    (tmp_path / "stuff").mkdir()
    user_error(dlgen("run", tmp_path / "stuff"), "not a dlgen artifact")


def test_verify_on_an_artifact(models, tmp_path, dlgen, user_error):
    art = tmp_path / "art"
    assert dlgen("compile", models.mlp(), "-o", art).returncode == 0
    user_error(dlgen("verify", art), "original model")


def test_run_artifact_for_another_target(models, tmp_path, dlgen, user_error):
    art = tmp_path / "art"
    assert dlgen("compile", models.mlp(), "-o", art).returncode == 0
    user_error(dlgen("run", art, "-t", "onnxruntime"), "compiled for target 'c'")


def test_debug_shows_the_traceback(tmp_path, dlgen):
    proc = dlgen("--debug", "compile", tmp_path / "nope.onnx", "-o", tmp_path / "out")
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "error: " in proc.stderr


def test_usage_errors_exit_2(dlgen):
    proc = dlgen("compile")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "MODEL" in proc.stderr
    proc = dlgen("no-such-command")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
