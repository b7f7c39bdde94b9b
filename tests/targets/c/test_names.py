"""Hostile names: model strings never become C code verbatim.

Unit tests for ``names.identifier``, ``Namer`` and ``comment``; then whole models whose model,
graph, node and tensor names are C keywords, collide after sanitizing, hold quotes,
backslashes, comment delimiters, newlines, trigraphs, non-ASCII or are very long. The
generated C must compile warning-free under gcc and clang (-std=c99 -Wall -Wextra -Wpedantic
-Werror), give ONNX Runtime's numbers, and hold those strings only escaped, in comments.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import dlgen
from dlgen.targets.c.build import check_compiles
from dlgen.targets.c.codegen import _param_text
from dlgen.targets.c.names import (C_KEYWORDS, C_LIBRARY_NAMES, CXX_KEYWORDS, Namer, comment,
                                   identifier)
from dlgen.targets.onnxruntime import OrtRunner

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
COMPILERS = [cc for cc in ("gcc", "clang") if shutil.which(cc)]
needs_cc = pytest.mark.skipif(not COMPILERS, reason="neither gcc nor clang is installed")

# Strings a model may use as names; none may reach the C code outside an escaped comment.
NASTY = [
    "int", "return", "main", "while", "class", "a-b", "a.b", "a_b", 'q"uote', "it's",
    "back\\slash", "end*/ZZTAIL", "/*ZZOPEN", "new\nline", "cr\rlf", "tab\there", "nul\0byte",
    "tri??/", "tri??=hash", "tri???-", "ünïcødé", "emoji😀", "\u202eright-to-left", "9lives",
    "", " ", "_", "__", "_Bool", "__x", "_X", "dlg_ok", "dlgen_runtime", "size_t", "memcpy",
    "v0", "L" * 300, "\\\n" * 3, "*/" * 50, "??" * 50,
]


# -- identifier --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", NASTY)
def test_identifier_is_always_a_safe_c_identifier(text):
    ident = identifier(text)
    assert IDENT.match(ident), ident
    assert ident.isascii()
    assert ident not in C_KEYWORDS and ident not in CXX_KEYWORDS
    assert not ident.startswith("__") and not re.match(r"_[A-Z]", ident)
    assert not re.match(r"dlg(en)?(_|$)", ident), "the runtime's namespace"
    assert len(ident) <= 41
    assert identifier(ident) == ident  # stable: sanitizing twice changes nothing


@pytest.mark.parametrize("text, want", [
    ("conv1/weight", "conv1_weight"),
    ("int", "int_"),
    ("main", "main_"),
    ("class", "class_"),
    ("a-b", "a_b"),
    ("9lives", "x_9lives"),
    ("ünïcødé", "ncd"),
    ("", "x"),
    ("😀", "x"),
    ("Input.1", "input_1"),
    ("dlgen_runtime", "x_dlgen_runtime"),
    ("DLG_OK", "x_dlg_ok"),
])
def test_identifier_examples(text, want):
    assert identifier(text) == want


def test_identifier_default_and_length():
    assert identifier("", default="model") == "model"
    assert identifier("7", default="model") == "model_7"
    assert len(identifier("a" * 1000)) == 40
    assert len(identifier("a" * 1000, max_len=12)) == 12


# -- Namer -------------------------------------------------------------------------------------

def test_namer_keeps_colliding_names_apart():
    namer = Namer()
    got = [namer(t) for t in ("a-b", "a.b", "a_b", "A_B", "a_b_2")]
    assert got[:4] == ["a_b", "a_b_2", "a_b_3", "a_b_4"]
    assert len(set(got)) == len(got)
    assert all(IDENT.match(g) for g in got)


def test_namer_respects_reserved_names():
    namer = Namer({"arena", "x"})
    assert namer("arena") == "arena_2"
    assert namer("x") == "x_2"
    assert namer("y") == "y"


def test_namer_same_text_twice_gets_two_names():
    namer = Namer()
    assert namer("w") != namer("w")


def test_namer_long_names_that_differ_at_the_end():
    namer = Namer()
    a, b = namer("L" * 300 + "a"), namer("L" * 300 + "b")
    assert a != b and len(a) <= 44 and len(b) <= 44


def test_namer_all_nasty_names_are_unique():
    namer = Namer()
    got = [namer(t) for t in NASTY]
    assert len(set(got)) == len(NASTY)
    assert all(IDENT.match(g) for g in got)


# -- comment -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", NASTY + ["*" * 10 + "/", "?" * 7, "a*" + "/" * 3, "?" + "??/"])
def test_comment_text_is_safe(text):
    safe = comment(text)
    assert all(32 <= ord(c) < 127 for c in safe), safe
    assert "*/" not in safe and "/*" not in safe and "??" not in safe and "\\" not in safe
    assert len(safe) <= 120
    # Inside a comment it stays one whole comment, whatever the text around it.
    for wrapped in (f"/* {safe} */", f"/*{safe}*/", f"/* '{safe}' */ x"):
        code, comments, _ = split_c(wrapped)
        assert len(comments) == 1 and safe in comments[0] and code.strip() in ("", "x")


def test_comment_keeps_readable_text():
    assert comment("conv1/weight") == "conv1/weight"
    assert comment("a.b") == "a.b"
    assert comment("new\nline") == "new<U+000A>line"
    assert comment("back\\slash") == "back<backslash>slash"
    assert comment("ü") == "<U+00FC>"
    assert comment("x" * 500).endswith("...") and len(comment("x" * 500)) == 120


# -- parameters never shadow what generated code uses -----------------------------------------

@pytest.mark.parametrize("name", ["v0", "k12", "s3", "i0", "arena", "status", "x", "a",
                                  "tanhf", "expf", "memcpy", "size_t", "int64_t", "errno",
                                  "math_errhandling", "net_run", "net_arena", "net_v3",
                                  "dlg_gemm_f32", "DLG_OK"])
def test_param_names_avoid_locals_library_and_model_symbols(name):
    ident = _param_text(name, "net")
    assert IDENT.match(ident)
    assert not ident.startswith(("net_", "dlg")) and ident not in C_LIBRARY_NAMES
    assert not re.fullmatch(r"[vksi][0-9]+", ident) and ident not in ("arena", "status", "x", "a")


def test_param_names_keep_ordinary_names():
    assert _param_text("image", "net") == "image"
    assert _param_text("logits", "net") == "logits"


def test_param_names_when_the_prefix_is_t():
    """The escape prefix "t_" must not step into a model prefixed "t"."""
    ident = _param_text("v0", "t")
    assert not ident.startswith("t_") and IDENT.match(ident)


# -- whole models --------------------------------------------------------------------------------

TAIL = "ZZTAIL"  # text after a "*/" in a name; if it shows up in code, a comment was closed early
IN1, IN2, IN3 = "int", "a-b", f"new\nline*/{TAIL}1"
C_MAIN, C_TRI, C_UNI, C_LONG = "main", "tri??/", "ünïcødé", "L" * 300
OUTPUTS = ["a.b", "a_b", "return", "emoji😀", "while"]
GRAPH_NAME = f"graph */ {TAIL}2 ??= \\ \n main ünï 😀 /*"


def hostile_model() -> onnx.ModelProto:
    rng = np.random.default_rng(5)
    f32 = TensorProto.FLOAT
    inits = [
        numpy_helper.from_array(rng.standard_normal((2, 3)).astype(np.float32), C_MAIN),
        numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), C_TRI),
        numpy_helper.from_array(np.array([1.5], np.float32), C_UNI),
        numpy_helper.from_array(rng.standard_normal((2, 3)).astype(np.float32), C_LONG),
    ]
    node = helper.make_node
    nodes = [
        node("Add", [IN1, C_MAIN], ["a.b"], name="return"),
        node("Mul", ["a.b", IN2], [f"end*/{TAIL}3"], name='q"uote'),
        node("Tanh", [f"end*/{TAIL}3"], [f"/*{TAIL}4"], name="back\\slash"),
        node("Add", [f"/*{TAIL}4", C_TRI], ["tri??=hash"], name="??="),
        node("Sigmoid", ["tri??=hash"], ["9lives"], name="emoji😀"),
        node("Mul", ["9lives", C_UNI], ["a_b"], name="ünïcødé"),
        node("Sub", ["a_b", C_LONG], ["return"], name="main"),
        node("Add", ["return", IN3], ["emoji😀"], name=""),
        node("Identity", [IN2], ["while"], name="int"),
    ]
    graph = helper.make_graph(
        nodes, GRAPH_NAME,
        [helper.make_tensor_value_info(IN1, f32, [2, 3]),
         helper.make_tensor_value_info(IN2, f32, [2, 3]),
         helper.make_tensor_value_info(IN3, f32, [3])],
        [helper.make_tensor_value_info(n, f32, [2, 3]) for n in OUTPUTS], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="*/ ??= \\")
    model.ir_version = 8
    model.doc_string = "doc */ ??/ \n"
    onnx.checker.check_model(model)
    return model


def feeds_for(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim])
            .astype(np.float32) for i in model.graph.input}


def split_c(text: str) -> tuple[str, list[str], list[str]]:
    """C source -> (code with comments and literals blanked, comments, string/char literals)."""
    code, comments, literals = [], [], []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            assert end >= 0, "unterminated comment"
            comments.append(text[i + 2:end])
            code.append(" ")
            i = end + 2
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            comments.append(text[i + 2:end])
            code.append(" ")
            i = end
        elif text[i] in "\"'":
            quote, j = text[i], i + 1
            while text[j] != quote:
                assert text[j] != "\n", f"unterminated literal at {text[i:i + 40]!r}"
                j += 2 if text[j] == "\\" else 1
            literals.append(text[i + 1:j])
            code.append(" ")
            i = j + 1
        else:
            code.append(text[i])
            i += 1
    return "".join(code), comments, literals


def test_split_c():
    code, comments, literals = split_c('int a; /* x "y */ b = "s/*t\\"*/"; // z\nc = \'"\';')
    assert comments == [' x "y ', " z"]
    assert literals == ['s/*t\\"*/', '"']
    assert "x" not in code and "s/*t" not in code and "b =" in code and "c =" in code


def c_sources(outdir: Path) -> list[Path]:
    return sorted(p for p in outdir.rglob("*") if p.suffix in (".c", ".h"))


def model_sources(outdir: Path, prefix: str) -> list[Path]:
    names = [f"{prefix}.h", f"{prefix}.c", f"{prefix}_weights.c", "main.c"]
    return [outdir / n for n in names if (outdir / n).exists()]


def assert_safe_sources(outdir: Path, prefix: str, raw_names: list[str]) -> None:
    """No raw hostile string outside comments; comments escaped; files plain ASCII."""
    special = [s for s in raw_names if not re.fullmatch(r"[A-Za-z0-9_]*", s) or len(s) > 40]
    for path in c_sources(outdir):
        data = path.read_bytes()
        assert data.isascii(), f"{path.name} has non-ASCII bytes"
        text = data.decode()
        assert "??" not in text, f"{path.name} has a trigraph introducer"
        code, comments, literals = split_c(text)
        for c in comments:
            assert "/*" not in c, f"{path.name}: comment with a nested opener: {c!r}"
        outside = code + "\n".join(literals)
        assert TAIL not in outside, f"{path.name}: a model name closed a comment early"
        for raw in special:
            assert raw not in outside, f"{path.name} has {raw!r} outside comments"
    for path in model_sources(outdir, prefix):
        text = path.read_text()
        code, _, _ = split_c(text)
        assert "\\" not in code, f"{path.name} has a backslash (line splice) in code"
        for raw in raw_names:  # a newline in a name never breaks a line of generated code
            for piece in raw.split("\n")[:-1]:
                assert not piece or piece + "\n" not in text, f"{path.name}: {raw!r}"


def header_params(outdir: Path, prefix: str) -> list[str]:
    header = (outdir / f"{prefix}.h").read_text()
    code, _, _ = split_c(header)
    proto = re.search(rf"int {prefix}_run\(([^)]*)\);", code)
    assert proto, header
    return [p.strip().split("*")[-1].strip() for p in proto.group(1).split(",")]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile model compiled once per weights mode: {mode: artifact}."""
    model = hostile_model()
    root = tmp_path_factory.mktemp("hostile")
    path = root / f"hostile 'q\" *??= ü\\ {TAIL}5.onnx"  # the file name is in comments too
    onnx.save(model, str(path))
    return model, {mode: dlgen.compile(path, "c", root / mode, name="int",
                                       options={"weights": mode})
                   for mode in ("c", "inline", "bin")}


RAW_NAMES = [IN1, IN2, IN3, C_MAIN, C_TRI, C_UNI, C_LONG, GRAPH_NAME, 'q"uote', "back\\slash",
             "??=", "emoji😀", "ünïcødé", f"end*/{TAIL}3", f"/*{TAIL}4", "tri??=hash",
             "*/ ??= \\", "doc */ ??/ \n", *OUTPUTS]


@needs_cc
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("mode", ["c", "inline", "bin"])
def test_hostile_model_compiles_strict(hostile, mode, cc):
    _, arts = hostile
    check_compiles(arts[mode].path, cc=cc)


@needs_cc
@pytest.mark.parametrize("mode", ["c", "inline", "bin"])
def test_hostile_model_matches_onnxruntime(hostile, mode):
    model, arts = hostile
    feeds = feeds_for(model)
    with OrtRunner(model) as ref:
        want = ref.run(feeds)
    with arts[mode].runner() as runner:
        got = runner.run(feeds)
    assert set(got) == set(OUTPUTS)
    for name in OUTPUTS:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("mode", ["c", "inline", "bin"])
def test_hostile_model_sources_hold_names_only_in_comments(hostile, mode):
    _, arts = hostile
    art = arts[mode]
    prefix = art.manifest["c"]["prefix"]
    assert prefix == "int_"
    assert_safe_sources(art.path, prefix, RAW_NAMES)
    params = header_params(art.path, prefix)
    assert len(params) == 3 + len(OUTPUTS) and len(set(params)) == len(params)
    for p in params:
        assert IDENT.match(p) and p not in C_KEYWORDS and p not in CXX_KEYWORDS, p
    # the model names are still there for a reader, escaped, in the header's comments
    header = (art.path / f"{prefix}.h").read_text()
    assert "model name 'a-b'" in header and "model name 'int'" in header
    assert f"graph *_/ {TAIL}2 ?_?= <backslash> <U+000A>" in (art.path / f"{prefix}.c").read_text()
    assert "/* Mul q\"uote */" in (art.path / f"{prefix}.c").read_text()


@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("clang++")), reason="no C++ compiler")
def test_hostile_header_is_valid_cplusplus(hostile, tmp_path):
    _, arts = hostile
    art = arts["c"]
    cxx = shutil.which("g++") or shutil.which("clang++")
    src = tmp_path / "use.cpp"
    src.write_text('#include "int_.h"\nint main() { return 0; }\n')
    proc = subprocess.run([cxx, "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                           f"-I{art.path}", str(src)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


PREFIXES = ["int", "main", "return", "a-b", "ünïcødé😀", "9lives", "dlgen_runtime", "dlg",
            "L" * 300, 'q"uote*/??=\\\n', "", "class", "size_t"]


@needs_cc
@pytest.mark.parametrize("name", PREFIXES)
def test_hostile_prefix(name, tmp_path):
    """--name becomes the C prefix: it must make valid, non-clashing symbols."""
    model = hostile_model()
    art = dlgen.compile(model, "c", tmp_path / "out", name=name)
    prefix = art.manifest["c"]["prefix"]
    assert IDENT.match(prefix) and (art.path / f"{prefix}.h").exists()
    for cc in COMPILERS:
        check_compiles(art.path, cc=cc)
    assert_safe_sources(art.path, prefix, RAW_NAMES + [name])
    feeds = feeds_for(model)
    with OrtRunner(model) as ref:
        want = ref.run(feeds)
    with art.runner() as runner:
        got = runner.run(feeds)
    for out in OUTPUTS:
        np.testing.assert_allclose(got[out], want[out], rtol=1e-5, atol=1e-6, err_msg=out)


CLASHING_INPUTS = ["v0", "tanhf", "size_t", "errno", "net_arena", "i0", "arena"]
CLASHING_OUTPUTS = ["net_run_ctx", "memcpy", "k0", "s0", "dlg_ok", "net_v1", "status", "expf"]


def clashing_model() -> onnx.ModelProto:
    """Inputs and outputs named like the generated code's locals, C library functions and
    types, and the model's own symbols (prefix "net")."""
    f32 = TensorProto.FLOAT
    node = helper.make_node
    nodes = [node("Add", ["v0", "tanhf"], ["t1"]), node("Add", ["t1", "size_t"], ["t2"]),
             node("Add", ["t2", "errno"], ["t3"]), node("Add", ["t3", "net_arena"], ["t4"]),
             node("Add", ["t4", "i0"], ["t5"]), node("Mul", ["t5", "arena"], ["t6"]),
             node("Tanh", ["t6"], ["net_run_ctx"]), node("Exp", ["net_run_ctx"], ["memcpy"]),
             node("Relu", ["memcpy"], ["k0"]), node("Sigmoid", ["k0"], ["s0"]),
             node("Neg", ["s0"], ["dlg_ok"]), node("Abs", ["dlg_ok"], ["net_v1"]),
             node("Add", ["net_v1", "k0"], ["status"]), node("Exp", ["status"], ["expf"])]
    graph = helper.make_graph(
        nodes, "clash", [helper.make_tensor_value_info(n, f32, [4]) for n in CLASHING_INPUTS],
        [helper.make_tensor_value_info(n, f32, [4]) for n in CLASHING_OUTPUTS])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@needs_cc
def test_params_named_like_generated_or_library_symbols(tmp_path):
    model = clashing_model()
    art = dlgen.compile(model, "c", tmp_path / "out", name="net")
    for cc in COMPILERS:
        check_compiles(art.path, cc=cc)
    params = header_params(art.path, "net")
    assert len(set(params)) == len(params) == len(CLASHING_INPUTS) + len(CLASHING_OUTPUTS)
    for p in params:
        assert not p.startswith(("net_", "dlg")) and p not in C_LIBRARY_NAMES, p
        assert not re.fullmatch(r"[vksi][0-9]+", p), p
    feeds = feeds_for(model)
    with OrtRunner(model) as ref:
        want = ref.run(feeds)
    with art.runner() as runner:
        got = runner.run(feeds)
    for out in CLASHING_OUTPUTS:
        np.testing.assert_allclose(got[out], want[out], rtol=1e-5, atol=1e-6, err_msg=out)
