"""CausalConvWithState, LinearAttention (opset 27) and FlexAttention (ai.onnx.preview) on the C
target. ONNX Runtime implements none of them yet, so the reference is onnx.reference (the
spec's own implementation), over random shapes and every attribute form."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import dlgen_outputs


def _model(op, feeds, order, outputs, attrs, opset=27, domain="", extra_opsets=()):
    node = helper.make_node(op, order, outputs, domain=domain or None, **attrs)
    inputs = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype),
                                            list(v.shape)) for k, v in feeds.items()]
    outs = [helper.make_tensor_value_info(o, 0, None) for o in outputs]
    graph = helper.make_graph([node], "g", inputs, outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                    *extra_opsets])
    model.ir_version = 10
    return onnx.shape_inference.infer_shapes(model)  # fills in the output types


def _compare(model, feeds, atol=1e-5, rtol=1e-4):
    want = ReferenceEvaluator(model).run(None, feeds)
    got = dlgen_outputs(model, feeds)
    for name, w in zip([o.name for o in model.graph.output], want):
        g = got[name]
        assert g.shape == w.shape and g.dtype == w.dtype, (name, g.shape, w.shape, g.dtype)
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), atol=atol,
                                   rtol=rtol, err_msg=name)


def _f(rng, *shape, dtype=np.float32, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# -- CausalConvWithState ------------------------------------------------------------------------

@pytest.mark.parametrize("b,c,length,k", [(2, 4, 8, 4), (1, 1, 6, 4), (3, 5, 2, 5), (2, 3, 7, 1),
                                          (1, 2, 1, 3)])
@pytest.mark.parametrize("bias,past", [(False, False), (True, False), (False, True),
                                       (True, True)])
@pytest.mark.parametrize("activation", [None, "silu", "swish"])
def test_causal_conv_with_state(b, c, length, k, bias, past, activation):
    rng = np.random.default_rng(b * 100 + c * 10 + length + k)
    feeds = {"x": _f(rng, b, c, length), "w": _f(rng, c, 1, k)}
    order = ["x", "w"]
    if bias:
        feeds["bias"] = _f(rng, c)
    if past:
        feeds["past"] = _f(rng, b, c, k - 1)
        order += ["bias" if bias else "", "past"]
    elif bias:
        order.append("bias")
    attrs = {"activation": activation} if activation else {}
    _compare(_model("CausalConvWithState", feeds, order, ["y", "present"], attrs), feeds)


def test_causal_conv_float16():
    rng = np.random.default_rng(3)
    feeds = {"x": _f(rng, 2, 4, 8, dtype=np.float16), "w": _f(rng, 4, 1, 4, dtype=np.float16)}
    _compare(_model("CausalConvWithState", feeds, ["x", "w"], ["y", "present"],
                    {"activation": "silu"}), feeds, atol=2e-3, rtol=2e-3)


# -- LinearAttention ----------------------------------------------------------------------------

def _linear_case(rng, *, b=2, t=4, hq=4, hkv=4, dk=8, dv=8, rule="gated_delta", past=False,
                 decay_per_head=False, beta_scalar=False, dtype=np.float32, scale=None):
    feeds = {"q": _f(rng, b, t, hq * dk, dtype=dtype), "k": _f(rng, b, t, hkv * dk, dtype=dtype,
                                                               scale=0.3),
             "v": _f(rng, b, t, hkv * dv, dtype=dtype)}
    order = ["q", "k", "v", ""]
    if past:
        feeds["past"] = _f(rng, b, hkv, dk, dv, dtype=dtype)
        order[3] = "past"
    if rule in ("gated", "gated_delta"):
        width = hkv if decay_per_head else hkv * dk
        feeds["decay"] = (-np.abs(rng.standard_normal((b, t, width))) * 0.5).astype(dtype)
        order.append("decay")
    if rule in ("delta", "gated_delta"):
        if len(order) == 4:
            order.append("")
        feeds["beta"] = rng.uniform(0, 1, (b, t, 1 if beta_scalar else hkv)).astype(dtype)
        order.append("beta")
    while order and order[-1] == "":
        order.pop()
    attrs = {"q_num_heads": hq, "kv_num_heads": hkv, "update_rule": rule}
    if scale is not None:
        attrs["scale"] = scale
    return feeds, order, attrs


LINEAR_CASES = [
    {"rule": "linear"}, {"rule": "gated"}, {"rule": "gated", "decay_per_head": True},
    {"rule": "delta"}, {}, {"beta_scalar": True}, {"hq": 8, "hkv": 4}, {"hq": 8, "hkv": 1},
    {"t": 1, "past": True}, {"past": True}, {"scale": 0.25}, {"dk": 4, "dv": 6, "t": 5},
    {"rule": "linear", "t": 1}, {"b": 1, "t": 7, "hq": 6, "hkv": 3, "dk": 3, "dv": 5,
                                 "past": True, "decay_per_head": True},
]


@pytest.mark.parametrize("case", range(len(LINEAR_CASES)))
def test_linear_attention(case):
    rng = np.random.default_rng(200 + case)
    feeds, order, attrs = _linear_case(rng, **LINEAR_CASES[case])
    model = _model("LinearAttention", {k: feeds[k] for k in order if k}, order,
                   ["y", "present"], attrs)
    _compare(model, feeds, atol=1e-4)


def test_linear_attention_float16():
    rng = np.random.default_rng(9)
    feeds, order, attrs = _linear_case(rng, hq=8, hkv=4, dtype=np.float16)
    model = _model("LinearAttention", feeds, order, ["y", "present"], attrs)
    _compare(model, feeds, atol=1e-2, rtol=1e-2)


def test_linear_attention_refuses_wrong_inputs_for_rule():
    rng = np.random.default_rng(0)
    feeds, order, attrs = _linear_case(rng, rule="linear")
    attrs["update_rule"] = "gated"  # the rule needs a decay input
    model = _model("LinearAttention", feeds, order, ["y", "present"], attrs)
    # shape inference rejects the form, so declare the output types by hand
    del model.graph.output[:]
    model.graph.output.extend([
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4, 32]),
        helper.make_tensor_value_info("present", TensorProto.FLOAT, [2, 4, 8, 8])])
    with pytest.raises(Unsupported, match="needs a decay"):
        dlgen_outputs(model, feeds)


# -- FlexAttention ------------------------------------------------------------------------------

_PREVIEW = helper.make_opsetid("ai.onnx.preview", 1)


def _mod_graph(name, op, const):
    """A score_mod/prob_mod subgraph: out = op(in, const)."""
    return helper.make_graph(
        [helper.make_node(op, ["s", "c"], ["o"])], name,
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(np.array(const, np.float32), "c")])


def _causal_mod():
    """score_mod: -inf above the diagonal (query i sees keys j <= i)."""
    nodes = [
        helper.make_node("Shape", ["s"], ["shape"]),
        helper.make_node("Gather", ["shape", "i2"], ["L"], axis=0),
        helper.make_node("Gather", ["shape", "i3"], ["S"], axis=0),
        helper.make_node("Range", ["zero", "L", "one"], ["qr"]),
        helper.make_node("Range", ["zero", "S", "one"], ["kr"]),
        helper.make_node("Unsqueeze", ["qr", "ax1"], ["qi"]),
        helper.make_node("GreaterOrEqual", ["qi", "kr"], ["m"]),
        helper.make_node("Where", ["m", "s", "ninf"], ["o"]),
    ]
    inits = [onnx.numpy_helper.from_array(np.array(v, dt), n) for n, v, dt in [
        ("i2", 2, np.int64), ("i3", 3, np.int64), ("zero", 0, np.int64), ("one", 1, np.int64),
        ("ax1", [1], np.int64), ("ninf", -np.inf, np.float32)]]
    return helper.make_graph(nodes, "causal",
                             [helper.make_tensor_value_info("s", TensorProto.FLOAT, None)],
                             [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)],
                             inits)


FLEX_CASES = [
    ({"b": 2, "hq": 4, "hkv": 4, "l": 8, "s": 6, "e": 16, "ev": 16}, {}),
    ({"b": 1, "hq": 8, "hkv": 2, "l": 4, "s": 6, "e": 8, "ev": 12}, {"scale": 0.3}),
    ({"b": 2, "hq": 3, "hkv": 1, "l": 5, "s": 5, "e": 4, "ev": 4},
     {"score_mod": _mod_graph("bias", "Add", 0.5)}),
    ({"b": 1, "hq": 2, "hkv": 2, "l": 3, "s": 7, "e": 4, "ev": 2},
     {"prob_mod": _mod_graph("scale", "Mul", 0.5)}),
    ({"b": 1, "hq": 2, "hkv": 1, "l": 6, "s": 6, "e": 8, "ev": 8},
     {"score_mod": _causal_mod(), "prob_mod": _mod_graph("p", "Mul", 2.0)}),
]


@pytest.mark.parametrize("case", range(len(FLEX_CASES)))
def test_flex_attention(case):
    dims, attrs = FLEX_CASES[case]
    rng = np.random.default_rng(300 + case)
    feeds = {"Q": _f(rng, dims["b"], dims["hq"], dims["l"], dims["e"]),
             "K": _f(rng, dims["b"], dims["hkv"], dims["s"], dims["e"]),
             "V": _f(rng, dims["b"], dims["hkv"], dims["s"], dims["ev"])}
    model = _model("FlexAttention", feeds, ["Q", "K", "V"], ["Y"], attrs, opset=26,
                   domain="ai.onnx.preview", extra_opsets=[_PREVIEW])
    _compare(model, feeds)


def test_flex_attention_refuses_double():
    rng = np.random.default_rng(0)
    feeds = {n: _f(rng, 1, 2, 3, 4, dtype=np.float64) for n in "QKV"}
    model = _model("FlexAttention", feeds, ["Q", "K", "V"], ["Y"], {}, opset=26,
                   domain="ai.onnx.preview", extra_opsets=[_PREVIEW])
    with pytest.raises(Unsupported, match="float64"):
        dlgen_outputs(model, feeds)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_stateful_artifacts_compile_strictly(tmp_path, cc):
    rng = np.random.default_rng(1)
    feeds = {"x": _f(rng, 2, 3, 5, dtype=np.float16), "w": _f(rng, 3, 1, 3, dtype=np.float16)}
    models = [_model("CausalConvWithState", feeds, ["x", "w"], ["y", "present"],
                     {"activation": "silu"})]
    lf, order, attrs = _linear_case(rng, hq=4, hkv=2)
    models.append(_model("LinearAttention", lf, order, ["y", "present"], attrs))
    ff = {n: _f(rng, 1, 2, 3, 4) for n in "QKV"}
    models.append(_model("FlexAttention", ff, ["Q", "K", "V"], ["Y"],
                         {"score_mod": _causal_mod()}, opset=26, domain="ai.onnx.preview",
                         extra_opsets=[_PREVIEW]))
    for k, model in enumerate(models):
        check_compiles(dlgen.compile(model, "c", tmp_path / str(k), name="m").path, cc=cc)
