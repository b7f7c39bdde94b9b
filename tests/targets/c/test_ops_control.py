"""If, Loop and Scan on the C target: bodies compiled inline, numerics against ONNX Runtime."""
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

import dlgen
from dlgen.errors import ShapeError, Unsupported
from dlgen.targets.c.build import check_compiles, include_flags, sources
from oplib import assert_close, dlgen_outputs, ort_outputs

F = TP.FLOAT


def vi(name, elem=F, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "control", inputs, outputs,
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def check(m, feeds, **kw):
    assert_close(dlgen_outputs(m, feeds), ort_outputs(m, feeds), **kw)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# -- If -----------------------------------------------------------------------------------------

def branch(name, nodes, outs):
    return helper.make_graph(nodes, name, [], outs)


def if_model(then_nodes, else_nodes, shape=(3, 4)):
    then = branch("then", then_nodes, [vi("t", F, list(shape)), vi("t2", F, [1])])
    other = branch("else", else_nodes, [vi("e", F, list(shape)), vi("e2", F, [1])])
    node = helper.make_node("If", ["c"], ["y", "y2"], then_branch=then, else_branch=other)
    return model([helper.make_node("Relu", ["x0"], ["x"]), node],
                 [vi("c", TP.BOOL, []), vi("x0", F, list(shape))],
                 [vi("y", F, list(shape)), vi("y2", F, [1])], [("w", np.float32([2.5]))])


@pytest.mark.parametrize("cond", [True, False])
def test_if_runtime_condition_reads_outer_values(cond, rng):
    """Branches read an arena value (x), a weight (w) and compute several outputs."""
    m = if_model([helper.make_node("Mul", ["x", "w"], ["t"]),
                  helper.make_node("ReduceMax", ["x"], ["mx"], keepdims=0),
                  helper.make_node("Reshape", ["mx", "one"], ["t2"])],
                 [helper.make_node("Sub", ["x", "w"], ["e"]),
                  helper.make_node("Identity", ["w"], ["e2"])])
    m.graph.initializer.append(numpy_helper.from_array(np.int64([1]), "one"))
    check(m, {"c": np.array(cond), "x0": f32(rng, 3, 4)})


@pytest.mark.parametrize("outer,inner", [(True, True), (True, False), (False, True)])
def test_nested_if(outer, inner, rng):
    """An If inside a branch, its branches reading values two scopes up."""
    deep_then = branch("dt", [helper.make_node("Add", ["x", "x"], ["dt"])], [vi("dt", F, [4])])
    deep_else = branch("de", [helper.make_node("Neg", ["x"], ["de"])], [vi("de", F, [4])])
    then = branch("then", [helper.make_node("If", ["c2"], ["t"], then_branch=deep_then,
                                            else_branch=deep_else)], [vi("t", F, [4])])
    other = branch("else", [helper.make_node("Abs", ["x"], ["e"])], [vi("e", F, [4])])
    m = model([helper.make_node("If", ["c1"], ["y"], then_branch=then, else_branch=other)],
              [vi("c1", TP.BOOL, []), vi("c2", TP.BOOL, []), vi("x", F, [4])], [vi("y", F, [4])])
    check(m, {"c1": np.array(outer), "c2": np.array(inner), "x": f32(rng, 4)})


def test_if_branch_output_is_constant_or_outer_value(rng):
    then = branch("then", [helper.make_node("Constant", [], ["t"], value=numpy_helper.from_array(
        np.float32([1, 2, 3])))], [vi("t", F, [3])])
    other = branch("else", [helper.make_node("Identity", ["x"], ["e"])], [vi("e", F, [3])])
    m = model([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
              [vi("c", TP.BOOL, []), vi("x", F, [3])], [vi("y", F, [3])])
    for c in (True, False):
        check(m, {"c": np.array(c), "x": f32(rng, 3)})


def test_if_branches_with_different_shapes_are_refused(rng):
    then = branch("then", [helper.make_node("Identity", ["x"], ["t"])], [vi("t", F, [4])])
    other = branch("else", [helper.make_node("Concat", ["x", "x"], ["e"], axis=0)],
                   [vi("e", F, [8])])
    m = model([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
              [vi("c", TP.BOOL, []), vi("x", F, [4])], [vi("y", F, ["n"])])
    with pytest.raises((Unsupported, ShapeError)):
        dlgen_outputs(m, {"c": np.array(True), "x": f32(rng, 4)})


def test_constant_if_is_inlined(rng, tmp_path):
    """A constant condition: InlineConstantIf leaves no If, and branch shapes may differ."""
    then = branch("then", [helper.make_node("Concat", ["x", "x"], ["t"], axis=0)],
                  [vi("t", F, [8])])
    other = branch("else", [helper.make_node("Identity", ["x"], ["e"])], [vi("e", F, [4])])
    m = model([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
              [vi("x", F, [4])], [vi("y", F, ["n"])], [("c", np.array(True))])
    check(m, {"x": f32(rng, 4)})
    art = dlgen.compile(m, "c", tmp_path / "o", name="m")
    assert "If" not in art.manifest.get("ops", [])


# -- Loop ---------------------------------------------------------------------------------------

def loop_body(cond_nodes, scan=True):
    nodes = [helper.make_node("Cast", ["i"], ["fi"], to=F),
             helper.make_node("Mul", ["x", "fi"], ["xi"]),
             helper.make_node("Add", ["s_in", "xi"], ["s_out"]),
             helper.make_node("Mul", ["p_in", "w"], ["p_out"]),
             *cond_nodes]
    outs = [vi("c_out", TP.BOOL, []), vi("s_out", F, [2, 3]), vi("p_out", F, [3])]
    if scan:
        nodes.append(helper.make_node("ReduceSum", ["s_out"], ["scan"], keepdims=1))
        outs.append(vi("scan", F, [1, 1]))
    return helper.make_graph(nodes, "body", [vi("i", TP.INT64, []), vi("c_in", TP.BOOL, []),
                                             vi("s_in", F, [2, 3]), vi("p_in", F, [3])], outs)


def loop_model(body, trip="M", cond="", scan_shape=None, extra_inputs=()):
    outs = [vi("ys", F, [2, 3]), vi("yp", F, [3])]
    if scan_shape:
        outs.append(vi("z", F, list(scan_shape)))
    loop = helper.make_node("Loop", [trip, cond, "s0", "p0"], [o.name for o in outs], body=body)
    return model([helper.make_node("Relu", ["x0"], ["x"]), loop],
                 [vi("x0", F, [2, 3]), vi("s0", F, [2, 3]), vi("p0", F, [3]), *extra_inputs],
                 outs, [("M", np.int64(5)), ("w", np.float32([0.5, -1.0, 2.0]))])


def test_loop_constant_trip_count_carried_state_and_scan_output(rng):
    body = loop_body([helper.make_node("Identity", ["c_in"], ["c_out"])])
    m = loop_model(body, scan_shape=(5, 1, 1))
    check(m, {"x0": f32(rng, 2, 3), "s0": f32(rng, 2, 3), "p0": f32(rng, 3)})


def test_loop_condition_stops_early(rng):
    """The body's condition depends on the data: no scan outputs, carried values only."""
    body = loop_body([helper.make_node("ReduceSum", ["s_out"], ["tot"], keepdims=0),
                      helper.make_node("Less", ["tot", "lim"], ["c_out"])], scan=False)
    m = loop_model(body, cond="c0", extra_inputs=[vi("c0", TP.BOOL, [])])
    m.graph.initializer.append(numpy_helper.from_array(np.float32(6.0), "lim"))
    x0 = np.abs(f32(rng, 2, 3))
    for c in (True, False):
        check(m, {"x0": x0, "s0": np.zeros((2, 3), np.float32), "p0": f32(rng, 3),
                  "c0": np.array(c)})


def test_loop_run_time_trip_count(rng):
    body = loop_body([helper.make_node("Identity", ["c_in"], ["c_out"])], scan=False)
    m = loop_model(body, trip="n", extra_inputs=[vi("n", TP.INT64, [])])
    for n in (0, 1, 4):
        check(m, {"x0": f32(rng, 2, 3), "s0": f32(rng, 2, 3), "p0": f32(rng, 3),
                  "n": np.array(n, np.int64)})


def test_loop_scan_outputs_that_may_stop_early_are_refused(rng):
    cond = helper.make_node("Identity", ["c_in"], ["c_out"])
    m = loop_model(loop_body([cond]), cond="c0", scan_shape=(5, 1, 1),
                   extra_inputs=[vi("c0", TP.BOOL, [])])
    with pytest.raises((Unsupported, ShapeError), match="stop|static|unknown"):
        dlgen_outputs(m, {"x0": f32(rng, 2, 3), "s0": f32(rng, 2, 3), "p0": f32(rng, 3),
                          "c0": np.array(True)})


def test_loop_scan_output_shape_is_inferred(rng):
    """ONNX leaves the scan output's length unknown; InferControlFlowShapes sets [M, ...]."""
    body = loop_body([helper.make_node("Identity", ["c_in"], ["c_out"])])
    m = loop_model(body)
    m.graph.output.append(vi("z", F, ["m", "a", "b"]))
    m.graph.node[1].output.append("z")
    m.graph.node.append(helper.make_node("Neg", ["z"], ["nz"]))
    m.graph.output.append(vi("nz", F, ["m", "a", "b"]))
    check(m, {"x0": f32(rng, 2, 3), "s0": f32(rng, 2, 3), "p0": f32(rng, 3)})


# -- Scan ---------------------------------------------------------------------------------------

def scan_model(x_shape, in_axes, in_dirs, out_axes, out_dirs, out_shapes):
    body = helper.make_graph(
        [helper.make_node("Add", ["sum_in", "a"], ["sum_out"]),
         helper.make_node("Mul", ["a", "b"], ["ab"]),
         helper.make_node("Add", ["prod_in", "ab"], ["prod_out"]),
         helper.make_node("Identity", ["sum_out"], ["o1"]),
         helper.make_node("Mul", ["ab", "w"], ["o2"])],
        "body", [vi("sum_in", F, [2, 3]), vi("prod_in", F, [2, 3]), vi("a", F, [2, 3]),
                 vi("b", F, [2, 3])],
        [vi("sum_out", F, [2, 3]), vi("prod_out", F, [2, 3]), vi("o1", F, [2, 3]),
         vi("o2", F, [2, 3])])
    node = helper.make_node("Scan", ["s0", "p0", "xa", "xb"], ["s", "p", "z1", "z2"], body=body,
                            num_scan_inputs=2, scan_input_axes=in_axes,
                            scan_input_directions=in_dirs, scan_output_axes=out_axes,
                            scan_output_directions=out_dirs)
    return model([node], [vi("s0", F, [2, 3]), vi("p0", F, [2, 3]), vi("xa", F, x_shape[0]),
                          vi("xb", F, x_shape[1])],
                 [vi("s", F, [2, 3]), vi("p", F, [2, 3]), vi("z1", F, out_shapes[0]),
                  vi("z2", F, out_shapes[1])], [("w", np.float32(3.0))])


@pytest.mark.parametrize("in_axes,in_dirs,out_axes,out_dirs", [
    ([0, 0], [0, 0], [0, 0], [0, 0]),
    ([0, 0], [1, 0], [0, 0], [0, 1]),
    ([1, 2], [0, 1], [1, -1], [1, 0]),
    ([-1, 0], [1, 1], [2, 0], [0, 1]),
])
def test_scan_states_axes_and_directions(in_axes, in_dirs, out_axes, out_dirs, rng):
    n = 4
    xs = []
    for axis in in_axes:
        shape = [2, 3]
        shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, n)
        xs.append(shape)
    outs = []
    for axis in out_axes:
        shape = [2, 3]
        shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, n)
        outs.append(shape)
    m = scan_model(xs, in_axes, in_dirs, out_axes, out_dirs, outs)
    check(m, {"s0": f32(rng, 2, 3), "p0": f32(rng, 2, 3), "xa": f32(rng, *xs[0]),
              "xb": f32(rng, *xs[1])})


# -- generated code -----------------------------------------------------------------------------

def all_ops_model():
    """If (run-time), Loop (scan output) and Scan on axis 1 (runtime slice helpers) at once."""
    then = branch("then", [helper.make_node("Neg", ["x"], ["t"])], [vi("t", F, [2, 3])])
    other = branch("else", [helper.make_node("Abs", ["x"], ["e"])], [vi("e", F, [2, 3])])
    lbody = loop_body([helper.make_node("Identity", ["c_in"], ["c_out"])])
    sbody = helper.make_graph([helper.make_node("Add", ["si", "a"], ["so"]),
                               helper.make_node("Identity", ["so"], ["o"])], "sb",
                              [vi("si", F, [2]), vi("a", F, [2])], [vi("so", F, [2]), vi("o", F, [2])])
    nodes = [helper.make_node("Relu", ["x0"], ["x"]),
             helper.make_node("If", ["c"], ["xs"], then_branch=then, else_branch=other),
             helper.make_node("Loop", ["M", "", "xs", "p0"], ["ys", "yp", "z"], body=lbody),
             helper.make_node("Scan", ["s2", "ys"], ["sf", "sz"], body=sbody, num_scan_inputs=1,
                              scan_input_axes=[1], scan_output_axes=[1])]
    return model(nodes, [vi("c", TP.BOOL, []), vi("x0", F, [2, 3]), vi("p0", F, [3]),
                         vi("s2", F, [2])],
                 [vi("sf", F, [2]), vi("sz", F, [2, 3]), vi("yp", F, [3]), vi("z", F, [5, 1, 1])],
                 [("M", np.int64(5)), ("w", np.float32([0.5, -1.0, 2.0]))])


def feeds_all(rng, c=True):
    return {"c": np.array(c), "x0": f32(rng, 2, 3), "p0": f32(rng, 3), "s2": f32(rng, 2)}


@pytest.mark.parametrize("c", [True, False])
def test_if_loop_scan_together(c, rng):
    check(all_ops_model(), feeds_all(rng, c))


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_generated_code_compiles_strictly(cc, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    art = dlgen.compile(all_ops_model(), "c", tmp_path / "out", name="m")
    text = (art.path / "m.c").read_text()
    assert "b0_" in text and "dlg_slice_get" in text
    check_compiles(art.path, cc=cc)


def test_sanitized_build_runs_clean(rng, tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    m = all_ops_model()
    feeds = feeds_all(rng, False)
    art = dlgen.compile(m, "c", tmp_path / "out", name="m")
    exe = tmp_path / "bench"
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    subprocess.run(["gcc", "-std=c99", "-O1", "-g", *san, *include_flags(art.path),
                    *map(str, sources(art.path)), str(art.path / "main.c"), "-o", str(exe),
                    "-lm"], check=True, capture_output=True)
    args = [str(exe), "-n", "2"]
    for i, s in enumerate(art.manifest["inputs"]):
        path = tmp_path / f"in{i}.bin"
        np.ascontiguousarray(feeds[s["name"]], dtype=s["dtype"]).tofile(path)
        args += ["-i", str(path)]
    outs = art.manifest["outputs"]
    args += [a for i in range(len(outs)) for a in ("-o", str(tmp_path / f"out{i}.bin"))]
    run = subprocess.run(args, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    want = ort_outputs(m, feeds)
    for i, spec in enumerate(outs):
        got = np.fromfile(tmp_path / f"out{i}.bin", dtype=spec["dtype"]).reshape(spec["shape"])
        np.testing.assert_allclose(got, want[spec["name"]], atol=1e-5, rtol=1e-4)


def test_sequence_values_are_refused(rng):
    then = branch("then", [helper.make_node("SequenceConstruct", ["x"], ["t"])],
                  [helper.make_tensor_sequence_value_info("t", F, [3])])
    other = branch("else", [helper.make_node("SequenceConstruct", ["x", "x"], ["e"])],
                   [helper.make_tensor_sequence_value_info("e", F, [3])])
    m = model([helper.make_node("If", ["c"], ["s"], then_branch=then, else_branch=other),
               helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)],
              [vi("c", TP.BOOL, []), vi("x", F, [3])], [vi("y", F, ["n"])])
    with pytest.raises((Unsupported, ShapeError)):
        dlgen_outputs(m, {"c": np.array(True), "x": f32(rng, 3)})
