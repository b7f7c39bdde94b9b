"""A representative slice of models, built with AddressSanitizer and UndefinedBehaviorSanitizer
through the generated main.c test bench, must run clean and match ONNX Runtime."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import dlgen
from dlgen.targets.c.build import include_flags, sources
from oplib import make_model, ort_outputs

MODELS = Path(__file__).resolve().parents[2] / "fixtures" / "models"
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
rng = np.random.default_rng(0)


def _f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def one_node_cases():
    """(name, model, feeds): every op family at least once."""
    yield "binary_broadcast", make_model("Add", {"a": _f32(2, 1, 4), "b": _f32(3, 1)}), None
    yield "softmax", make_model("Softmax", {"x": _f32(2, 3, 5)}, attrs={"axis": 1}, opset=13), None
    yield "reduce", make_model("ReduceMean", {"x": _f32(3, 4, 5)},
                               consts={"axes": np.array([0, 2])}, opset=18), None
    yield "transpose", make_model("Transpose", {"x": _f32(2, 3, 4, 5)},
                                  attrs={"perm": [3, 1, 0, 2]}), None
    yield "slice", make_model("Slice", {"x": _f32(6, 7)},
                              consts={"s": np.array([5, 1]), "e": np.array([-7, 6]),
                                      "ax": np.array([0, 1]), "st": np.array([-2, 2])}), None
    yield "pad_reflect", make_model("Pad", {"x": _f32(1, 2, 4, 5)},
                                    consts={"p": np.array([0, 0, 2, 1, 0, 0, 1, 3])},
                                    attrs={"mode": "reflect"}), None
    yield "concat", make_model("Concat", {"a": _f32(2, 3), "b": _f32(2, 5)},
                               attrs={"axis": 1}), None
    yield "gather", make_model("Gather", {"x": _f32(5, 4)},
                               consts={"i": np.array([[4, -1], [0, 2]], np.int64)}), None
    yield "maxpool_indices", make_model(
        "MaxPool", {"x": _f32(1, 2, 7, 7)}, attrs={"kernel_shape": [3, 3], "strides": [2, 2],
                                                   "pads": [1, 1, 1, 1]}, outputs=2), None
    yield "conv_groups", make_model(
        "Conv", {"x": _f32(1, 4, 9, 9)}, consts={"w": _f32(6, 2, 3, 3), "b": _f32(6)},
        attrs={"group": 2, "strides": [2, 1], "dilations": [1, 2], "pads": [1, 0, 2, 1]}), None
    yield "conv_depthwise", make_model(
        "Conv", {"x": _f32(1, 5, 9, 8)}, consts={"w": _f32(5, 1, 3, 3), "b": _f32(5)},
        attrs={"group": 5, "strides": [2, 2], "pads": [1, 1, 1, 1]}), None
    yield "gemm_packed", make_model("Gemm", {"a": _f32(7, 300)},
                                    consts={"b": _f32(19, 300), "c": _f32(19)},
                                    attrs={"transB": 1}), None
    yield "nonzero_dynamic", make_model(
        "NonZero", {"x": (_f32(3, 5) > 0).astype(np.float32)}, opset=13), None
    yield "deform_conv", make_model(
        "DeformConv", {"x": _f32(1, 2, 5, 5), "w": _f32(3, 2, 2, 2), "offset": _f32(1, 8, 4, 4)},
        opset=19), None
    yield "random_seeded", make_model("RandomNormalLike", {"x": _f32(4, 6)},
                                      attrs={"seed": 3.0}), None


def fixture_cases():
    for stem in ("lenet_bn_dynamo", "lstm_legacy", "gru_dynamo"):
        with np.load(MODELS / "inputs" / f"{stem}.npz") as data:
            feeds = {k: data[k] for k in data.files}
        yield stem, MODELS / f"{stem}.onnx", feeds


CASES = list(one_node_cases()) + list(fixture_cases())


@pytest.mark.parametrize("name,model,feeds", CASES, ids=[c[0] for c in CASES])
def test_sanitized_build_runs_clean(name, model, feeds, tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    art = dlgen.compile(model, "c", tmp_path / "out", name="m")
    specs = art.manifest["inputs"]
    if feeds is None:
        feeds = {s["name"]: _f32(*s["shape"]).astype(s["dtype"]) for s in specs}
    exe = tmp_path / "bench"
    subprocess.run(["gcc", "-std=c99", "-O1", "-g", *SANITIZE, *include_flags(art.path),
                    *map(str, sources(art.path)), str(art.path / "main.c"), "-o", str(exe),
                    "-lm"], check=True, capture_output=True)
    args = [str(exe), "-n", "2"]
    for i, s in enumerate(specs):
        path = tmp_path / f"in{i}.bin"
        np.ascontiguousarray(feeds[s["name"]], dtype=s["dtype"]).tofile(path)
        args += ["-i", str(path)]
    outs = art.manifest["outputs"]
    for i in range(len(outs)):
        args += ["-o", str(tmp_path / f"out{i}.bin")]
    run = subprocess.run(args, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "runtime error" not in run.stderr and "AddressSanitizer" not in run.stderr
    if name.startswith("random"):
        return  # random values have no reference; test_ops_random checks their statistics
    want = ort_outputs(model if not isinstance(model, Path) else str(model), feeds)
    for i, spec in enumerate(outs):
        got = np.fromfile(tmp_path / f"out{i}.bin", dtype=spec["dtype"])
        ref = want[spec["name"]]
        # A data-dependent output is written compactly at the start of its bound buffer.
        got = got[:ref.size].reshape(ref.shape) if spec.get("dynamic") else \
            got.reshape(spec["shape"])
        np.testing.assert_allclose(got, ref, atol=1e-5, rtol=1e-4, err_msg=spec["name"])
