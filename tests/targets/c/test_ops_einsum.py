"""Einsum against ONNX Runtime: transposes, reductions, products, diagonals, ellipses and
implicit outputs, float32 and float64."""
import numpy as np
import pytest

import dlgen
from dlgen.targets.c.build import check_compiles
from oplib import assert_close, check_op, dlgen_outputs, make_model

# (equation, operand shapes)
CASES = {
    "transpose": ("ij->ji", [(3, 4)]),
    "sum_rows": ("ij->i", [(3, 4)]),
    "sum_all": ("ij->", [(3, 4)]),
    "implicit_transpose": ("ji", [(3, 4)]),
    "trace": ("ii", [(4, 4)]),
    "diagonal": ("ii->i", [(5, 5)]),
    "batch_diagonal": ("...ii->...i", [(3, 5, 5)]),
    "inner": ("i,i", [(5,), (5,)]),
    "outer": ("i,j->ij", [(3,), (4,)]),
    "matmul": ("ij,jk->ik", [(3, 4), (4, 5)]),
    "matmul_implicit": ("ij,jk", [(3, 4), (4, 5)]),
    "batch_matmul": ("bij, bjk -> bik", [(2, 3, 4), (2, 4, 5)]),
    "ellipsis_broadcast": ("...ij,...jk->...ik", [(2, 1, 3, 4), (1, 3, 4, 2)]),
    "three_operands": ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    "bilinear": ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    "permute_4d": ("abcd->dbca", [(2, 3, 4, 5)]),
    "mixed_sum_transpose": ("abc->ca", [(2, 3, 4)]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(CASES))
def test_einsum(case, dtype, rng):
    equation, shapes = CASES[case]
    inputs = {f"x{i}": rng.standard_normal(s).astype(dtype) for i, s in enumerate(shapes)}
    check_op("Einsum", inputs, attrs={"equation": equation}, opset=12)


def test_einsum_scalar():
    """ONNX Runtime refuses "->" on a scalar; the ONNX spec (and numpy) return the scalar."""
    x = np.array(2.5, np.float64)
    model = make_model("Einsum", {"x": x}, attrs={"equation": "->"}, opset=12)
    assert_close(dlgen_outputs(model, {"x": x}), {"y0": np.einsum("->", x)})


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_einsum_compiles_strict(cc, tmp_path, rng):
    model = make_model("Einsum", {"a": rng.standard_normal((2, 3)).astype(np.float32),
                                  "b": rng.standard_normal((3, 3)).astype(np.float32)},
                       attrs={"equation": "ij,jj->i"}, opset=12)
    art = dlgen.compile(model, "c", tmp_path / "out", name="einsum")
    check_compiles(art.path, cc=cc)


@pytest.mark.parametrize("equation,shapes", [("ij->ji", [(3, 4)]), ("ij->i", [(3, 4)]),
                                             ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)])])
def test_einsum_bfloat16(equation, shapes, rng):
    """bfloat16 computes in float and rounds once; compared with numpy in float32."""
    import ml_dtypes
    from onnx import TensorProto, helper
    xs = [rng.standard_normal(s).astype(ml_dtypes.bfloat16) for s in shapes]
    names = [f"x{i}" for i in range(len(xs))]
    want = np.einsum(equation, *[x.astype(np.float32) for x in xs])
    node = helper.make_node("Einsum", names, ["y"], equation=equation)
    graph = helper.make_graph(
        [node], "einsum_bf16",
        [helper.make_tensor_value_info(n, TensorProto.BFLOAT16, x.shape)
         for n, x in zip(names, xs)],
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, want.shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    got = dlgen_outputs(model, dict(zip(names, xs)))["y"].astype(np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-2, atol=1e-2)
