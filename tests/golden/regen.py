"""Golden snapshots of generated C for small models.

    make golden          # rewrite tests/golden/<case>/ after an intended codegen change

tests/golden/test_golden.py regenerates each case into a temporary folder and diffs it
against the committed files, so any change to generated code shows up in review.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import dlgen  # noqa: E402

SNAPSHOT_FILES = ("{name}.h", "{name}.c", "{name}_weights.c", "Makefile", "CMakeLists.txt")


def tiny_mlp() -> onnx.ModelProto:
    """4 -> 8 (Relu) -> 3 (Sigmoid), with a residual-free Add, fixed weights."""
    rng = np.random.default_rng(7)
    w1 = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "fc1.weight")
    b1 = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "fc1.bias")
    w2 = numpy_helper.from_array(rng.standard_normal((3, 8)).astype(np.float32), "fc2.weight")
    b2 = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "fc2.bias")
    offset = numpy_helper.from_array(np.array([0.5, -0.5, 0.25], np.float32), "offset")
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["h_relu"], name="relu1"),
        helper.make_node("Gemm", ["h_relu", "fc2.weight", "fc2.bias"], ["z"], name="fc2", transB=1),
        helper.make_node("Add", ["z", "offset"], ["z2"], name="shift"),
        helper.make_node("Sigmoid", ["z2"], ["y"], name="out"),
    ]
    graph = helper.make_graph(nodes, "tiny_mlp",
                              [helper.make_tensor_value_info("x", 1, [2, 4])],
                              [helper.make_tensor_value_info("y", 1, [2, 3])],
                              [w1, b1, w2, b2, offset])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


CASES = {"tiny": tiny_mlp}


def generate(case: str, outdir: Path) -> Path:
    art = dlgen.compile(CASES[case](), "c", outdir / case, name=case)
    return art.path


def snapshot_files(case: str) -> list[str]:
    return [f.format(name=case) for f in SNAPSHOT_FILES]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            built = generate(case, Path(tmp))
            target = HERE / case
            if target.exists():
                shutil.rmtree(target)
            target.mkdir()
            for name in snapshot_files(case):
                shutil.copyfile(built / name, target / name)
            print(f"wrote {target}")


if __name__ == "__main__":
    main()
