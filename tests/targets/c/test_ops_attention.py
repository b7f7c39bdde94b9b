"""Attention (opset 23/24/25) and RotaryEmbedding (opset 23) against ONNX Runtime.

ONNX Runtime 1.32's CPU Attention lacks a few Attention-24/25 features; those cases compare with
onnx.reference.ReferenceEvaluator instead (marked `reference="onnx"` with the reason):
  - an attn_mask shorter than the total key length (ORT rejects it),
  - qk_matmul_output mode 2 with causal masking (ORT writes the lowest float, not -inf),
  - a fully masked query row (the spec's zero row),
  - past_key/past_value without the present outputs,
  - left_window_size/right_window_size (opset 25, not in ORT 1.32).
Note: for qk_matmul_output_mode 0 with softcap, dlgen follows the spec and ORT (scores before
the softcap); the onnx reference evaluator returns the softcapped scores there.
"""
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx.reference import ReferenceEvaluator

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import assert_close, dlgen_outputs, make_model, ort_outputs

OUTPUTS = ["Y", "present_key", "present_value", "qk"]


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _attention_model(feeds: dict, attrs, outputs, opset) -> onnx.ModelProto:
    order = ["Q", "K", "V", "attn_mask", "past_key", "past_value", "nonpad_kv_seqlen"]
    last = max(order.index(k) for k in feeds)
    input_order = [k if k in feeds else "" for k in order[:last + 1]]
    outs = [o if o in outputs else "" for o in OUTPUTS]
    while not outs[-1]:
        outs.pop()
    return make_model("Attention", feeds, attrs=attrs, outputs=outs, opset=opset,
                      input_order=input_order)


def check_attention(inputs: dict, *, attrs=None, outputs=("Y",), opset=23, reference="ort",
                    reference_mask=None, atol=1e-5, rtol=1e-4):
    """One Attention node; ``inputs`` keys name the node inputs (omitted ones are left out).

    ``reference_mask`` replaces attn_mask in the reference model only (e.g. the same mask
    materialized to the full shape, for a broadcast form the reference cannot take).
    """
    feeds = {k: v for k, v in inputs.items() if v is not None}
    model = _attention_model(feeds, attrs, outputs, opset)
    ref_feeds = feeds if reference_mask is None else {**feeds, "attn_mask": reference_mask}
    ref_model = model if reference_mask is None else _attention_model(ref_feeds, attrs, outputs,
                                                                      opset)
    if reference == "ort":
        want = ort_outputs(ref_model, ref_feeds)
    else:
        values = ReferenceEvaluator(ref_model).run(None, ref_feeds)
        want = {o.name: v for o, v in zip(ref_model.graph.output, values)}
    got = dlgen_outputs(model, feeds)
    assert_close(got, want, atol=atol, rtol=rtol)
    return got


# -- shapes and heads --------------------------------------------------------------------------
@pytest.mark.parametrize("q_heads,kv_heads,q_len,kv_len,size,v_size", [
    (3, 3, 4, 6, 8, 8),     # multi-head, cross lengths
    (6, 2, 4, 6, 8, 8),     # grouped-query
    (4, 1, 5, 5, 16, 16),   # multi-query, self attention
    (3, 3, 4, 6, 8, 10),    # V head size differs
    (2, 2, 1, 7, 4, 4),     # one query (decode step)
])
@pytest.mark.parametrize("causal", [0, 1])
def test_attention_4d(q_heads, kv_heads, q_len, kv_len, size, v_size, causal, rng):
    check_attention({"Q": _f32(rng, 2, q_heads, q_len, size),
                     "K": _f32(rng, 2, kv_heads, kv_len, size),
                     "V": _f32(rng, 2, kv_heads, kv_len, v_size)}, attrs={"is_causal": causal})


@pytest.mark.parametrize("q_heads,kv_heads,v_size", [(3, 3, 8), (9, 3, 8), (4, 1, 6), (3, 3, 10)])
def test_attention_3d(q_heads, kv_heads, v_size, rng):
    check_attention({"Q": _f32(rng, 2, 4, q_heads * 8), "K": _f32(rng, 2, 6, kv_heads * 8),
                     "V": _f32(rng, 2, 6, kv_heads * v_size)},
                    attrs={"q_num_heads": q_heads, "kv_num_heads": kv_heads, "is_causal": 1})


@pytest.mark.parametrize("scale", [0.01, 1.0, 2.5])
def test_attention_scale(scale, rng):
    check_attention({"Q": _f32(rng, 1, 2, 3, 8), "K": _f32(rng, 1, 2, 5, 8),
                     "V": _f32(rng, 1, 2, 5, 8)}, attrs={"scale": scale})


@pytest.mark.parametrize("softcap", [0.5, 2.0, 30.0])
def test_attention_softcap(softcap, rng):
    check_attention({"Q": _f32(rng, 2, 3, 4, 8) * 3, "K": _f32(rng, 2, 3, 6, 8),
                     "V": _f32(rng, 2, 3, 6, 8)}, attrs={"softcap": softcap})


# -- masks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask_shape", [(6,), (4, 6), (1, 4, 6), (3, 4, 6), (2, 1, 4, 6),
                                        (2, 3, 4, 6), (2, 3, 1, 6)])
# ORT rejects a rank-1 mask and a mask broadcast over queries (and onnx.reference gets causal
# masking wrong for them): the reference run gets the same mask materialized to [B, H, Sq, Skv].
@pytest.mark.parametrize("kind", ["float", "bool"])
@pytest.mark.parametrize("causal", [0, 1])
def test_attention_mask_broadcast(mask_shape, kind, causal, rng):
    if kind == "float":
        mask = _f32(rng, *mask_shape)
    else:
        mask = rng.random(mask_shape) > 0.3
        mask[..., 0] = True  # keep every row attended (fully masked rows: see below)
    full = None
    if len(mask_shape) == 1 or mask_shape[-2] == 1:
        full = np.ascontiguousarray(np.broadcast_to(mask, (2, 3, 4, 6)))
    check_attention({"Q": _f32(rng, 2, 3, 4, 8), "K": _f32(rng, 2, 3, 6, 8),
                     "V": _f32(rng, 2, 3, 6, 8), "attn_mask": mask},
                    attrs={"is_causal": causal}, reference_mask=full)


def test_attention_mask_shorter_than_keys(rng):
    # reference="onnx": ORT 1.32 rejects an attn_mask shorter than the total key length.
    for mask in (_f32(rng, 4, 4), rng.random((2, 1, 4, 5)) > 0.2):
        check_attention({"Q": _f32(rng, 2, 3, 4, 8), "K": _f32(rng, 2, 3, 6, 8),
                         "V": _f32(rng, 2, 3, 6, 8), "attn_mask": mask}, reference="onnx")


def test_attention_fully_masked_row_is_zero(rng):
    # reference="onnx": the spec (errata of 1.23) makes a fully masked row a zero row, not NaN.
    mask = np.ones((4, 6), bool)
    mask[1] = False
    got = check_attention({"Q": _f32(rng, 1, 2, 4, 8), "K": _f32(rng, 1, 2, 6, 8),
                           "V": _f32(rng, 1, 2, 6, 8), "attn_mask": mask},
                          attrs={"qk_matmul_output_mode": 3}, outputs=("Y", "qk"),
                          reference="onnx")
    assert not np.isnan(got["Y"]).any() and (got["Y"][:, :, 1] == 0).all()


# -- KV cache ----------------------------------------------------------------------------------
@pytest.mark.parametrize("q_heads,kv_heads,v_size", [(3, 3, 8), (6, 3, 8), (3, 3, 10)])
@pytest.mark.parametrize("causal", [0, 1])
def test_attention_past_present_4d(q_heads, kv_heads, v_size, causal, rng):
    check_attention({"Q": _f32(rng, 2, q_heads, 4, 8), "K": _f32(rng, 2, kv_heads, 4, 8),
                     "V": _f32(rng, 2, kv_heads, 4, v_size), "attn_mask": _f32(rng, 4, 9),
                     "past_key": _f32(rng, 2, kv_heads, 5, 8),
                     "past_value": _f32(rng, 2, kv_heads, 5, v_size)},
                    attrs={"is_causal": causal}, outputs=("Y", "present_key", "present_value"))


def test_attention_past_present_3d(rng):
    check_attention({"Q": _f32(rng, 2, 4, 72), "K": _f32(rng, 2, 4, 24),
                     "V": _f32(rng, 2, 4, 24), "attn_mask": _f32(rng, 2, 1, 4, 10),
                     "past_key": _f32(rng, 2, 3, 6, 8), "past_value": _f32(rng, 2, 3, 6, 8)},
                    attrs={"q_num_heads": 9, "kv_num_heads": 3},
                    outputs=("Y", "present_key", "present_value"))


def test_attention_past_without_present_outputs(rng):
    # reference="onnx": ORT 1.32 needs present_key when past_key is given.
    check_attention({"Q": _f32(rng, 1, 2, 3, 8), "K": _f32(rng, 1, 2, 3, 8),
                     "V": _f32(rng, 1, 2, 3, 8), "past_key": _f32(rng, 1, 2, 4, 8),
                     "past_value": _f32(rng, 1, 2, 4, 8)}, attrs={"is_causal": 1},
                    reference="onnx")


@pytest.mark.parametrize("causal", [0, 1])
def test_attention_nonpad_kv_seqlen(causal, rng):
    check_attention({"Q": _f32(rng, 3, 4, 2, 8), "K": _f32(rng, 3, 2, 6, 8),
                     "V": _f32(rng, 3, 2, 6, 8), "nonpad_kv_seqlen": np.array([2, 6, 4])},
                    attrs={"is_causal": causal}, opset=24)


# -- qk_matmul_output --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", [0, 1, 2, 3])
@pytest.mark.parametrize("softcap", [0.0, 2.0])
def test_attention_qk_output(mode, softcap, rng):
    check_attention({"Q": _f32(rng, 2, 3, 4, 8), "K": _f32(rng, 2, 3, 6, 8),
                     "V": _f32(rng, 2, 3, 6, 8), "attn_mask": _f32(rng, 4, 6)},
                    attrs={"qk_matmul_output_mode": mode, "softcap": softcap},
                    outputs=("Y", "qk"))


def test_attention_qk_output_causal_bias(rng):
    # reference="onnx": ORT writes the lowest float where the causal mask hides a key.
    got = check_attention({"Q": _f32(rng, 2, 3, 4, 8), "K": _f32(rng, 2, 3, 6, 8),
                           "V": _f32(rng, 2, 3, 6, 8), "attn_mask": _f32(rng, 4, 6)},
                          attrs={"qk_matmul_output_mode": 2, "is_causal": 1},
                          outputs=("Y", "qk"), reference="onnx")
    assert np.isneginf(got["qk"][0, 0, 0, 1])


# -- sliding windows (opset 25) ----------------------------------------------------------------
@pytest.mark.parametrize("left,right,causal", [(2, -1, 1), (1, 2, 0), (-1, 0, 0), (0, 0, 0)])
def test_attention_window(left, right, causal, rng):
    # reference="onnx": ORT 1.32 has no Attention-25 window attributes.
    check_attention({"Q": _f32(rng, 2, 3, 4, 8), "K": _f32(rng, 2, 3, 6, 8),
                     "V": _f32(rng, 2, 3, 6, 8)},
                    attrs={"is_causal": causal, "left_window_size": left,
                           "right_window_size": right}, opset=25, reference="onnx")


# -- refusals ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["double", "int_mask", "fp16_softmax", "heads"])
def test_attention_refuses(case, rng):
    q, k, v = _f32(rng, 1, 4, 3, 8), _f32(rng, 1, 2, 3, 8), _f32(rng, 1, 2, 3, 8)
    inputs, attrs = {"Q": q, "K": k, "V": v}, {}
    if case == "double":
        inputs = {n: x.astype(np.float64) for n, x in inputs.items()}
    elif case == "int_mask":
        inputs["attn_mask"] = np.ones((3, 3), np.int32)
    elif case == "fp16_softmax":
        attrs["softmax_precision"] = onnx.TensorProto.FLOAT16
    else:
        inputs["K"], inputs["V"] = _f32(rng, 1, 3, 3, 8), _f32(rng, 1, 3, 3, 8)
    order = list(inputs)
    model = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Attention", order, ["Y"], **attrs)], "g",
        [onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(x.dtype),
                                            x.shape) for n, x in inputs.items()],
        [onnx.helper.make_tensor_value_info("Y", onnx.helper.np_dtype_to_tensor_dtype(
            inputs["Q"].dtype), (1, 4, 3, 8))]),
        opset_imports=[onnx.helper.make_opsetid("", 23)])
    with tempfile.TemporaryDirectory() as tmp, pytest.raises(Unsupported, match="Attention"):
        dlgen.compile(model, "c", Path(tmp) / "out", name="m")


# -- RotaryEmbedding ---------------------------------------------------------------------------
def check_rotary(x, cos, sin, pos=None, **attrs):
    inputs = {"X": x, "cos": cos, "sin": sin}
    if pos is not None:
        inputs["pos"] = pos
    model = make_model("RotaryEmbedding", inputs, attrs=attrs, opset=23)
    assert_close(dlgen_outputs(model, inputs), ort_outputs(model, inputs))


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rot_dim", [0, 4, 8])
@pytest.mark.parametrize("layout", ["4d", "3d"])
def test_rotary_embedding_position_ids(interleaved, rot_dim, layout, rng):
    b, h, s, d = 2, 4, 3, 8
    half = (rot_dim or d) // 2
    x = _f32(rng, b, h, s, d) if layout == "4d" else _f32(rng, b, s, h * d)
    attrs = {"interleaved": interleaved, "rotary_embedding_dim": rot_dim}
    if layout == "3d":
        attrs["num_heads"] = h
    pos = rng.integers(0, 20, (b, s)).astype(np.int64)
    check_rotary(x, _f32(rng, 20, half), _f32(rng, 20, half), pos, **attrs)


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rot_dim", [0, 6])
def test_rotary_embedding_no_position_ids(interleaved, rot_dim, rng):
    b, h, s, d = 2, 3, 5, 12
    half = (rot_dim or d) // 2
    check_rotary(_f32(rng, b, h, s, d), _f32(rng, b, s, half), _f32(rng, b, s, half),
                 interleaved=interleaved, rotary_embedding_dim=rot_dim)


# -- generated C -------------------------------------------------------------------------------
COMPILERS = [cc for cc in ("gcc", "clang") if shutil.which(cc)]


@pytest.mark.skipif(not COMPILERS, reason="neither gcc nor clang is installed")
@pytest.mark.parametrize("cc", COMPILERS)
def test_attention_compiles_strict(cc, rng, tmp_path):
    feeds = {"Q": _f32(rng, 1, 2, 3, 8), "K": _f32(rng, 1, 2, 3, 8), "V": _f32(rng, 1, 2, 3, 8),
             "attn_mask": rng.random((3, 5)) > 0.5, "past_key": _f32(rng, 1, 2, 2, 8),
             "past_value": _f32(rng, 1, 2, 2, 8)}
    attention = make_model("Attention", feeds, attrs={"is_causal": 1, "softcap": 2.0,
                                                      "qk_matmul_output_mode": 3},
                           outputs=OUTPUTS, opset=23)
    art = dlgen.compile(attention, "c", tmp_path / "attention", name="m")
    check_compiles(art.path, cc=cc)
    rope = {"X": _f32(rng, 1, 3, 16), "cos": _f32(rng, 4, 2), "sin": _f32(rng, 4, 2),
            "pos": np.zeros((1, 3), np.int64)}
    model = make_model("RotaryEmbedding", rope, attrs={"num_heads": 2, "interleaved": 1,
                                                       "rotary_embedding_dim": 4}, opset=23)
    check_compiles(dlgen.compile(model, "c", tmp_path / "rope", name="m").path, cc=cc)


def test_inplace_needs_same_shape(rng):
    """Regression (found by the expanded Attention tests): Less writing bool [2,1,1,8] over its
    int64 [2,1,1,1] input, the same byte size, must not run in place (plan.py)."""
    from onnx import TensorProto as T, helper
    nodes = [helper.make_node("Add", ["a0", "one"], ["a"]),
             helper.make_node("Less", ["a", "b"], ["c"]),
             helper.make_node("Where", ["c", "ninf", "zero"], ["y"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("a0", T.INT64, [2, 1, 1, 1]),
                     helper.make_tensor_value_info("b", T.INT64, [1, 1, 1, 8])],
        [helper.make_tensor_value_info("y", T.FLOAT, [2, 1, 1, 8])],
        [helper.make_tensor("ninf", T.FLOAT, [], [-np.inf]),
         helper.make_tensor("zero", T.FLOAT, [], [0.0]),
         helper.make_tensor("one", T.INT64, [], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    feeds = {"a0": np.array([7, 4]).reshape(2, 1, 1, 1), "b": np.arange(8).reshape(1, 1, 1, 8)}
    assert_close(dlgen_outputs(model, feeds), ort_outputs(model, feeds))


@pytest.mark.parametrize("causal", [0, 1])
def test_attention_float16(causal, rng):
    """float16 in and out (computed in float32 inside); the KV cache and a float16 mask too."""
    h = np.float16
    check_attention({"Q": _f32(rng, 2, 4, 3, 8).astype(h), "K": _f32(rng, 2, 2, 3, 8).astype(h),
                     "V": _f32(rng, 2, 2, 3, 8).astype(h),
                     "attn_mask": _f32(rng, 3, 7).astype(h),
                     "past_key": _f32(rng, 2, 2, 4, 8).astype(h),
                     "past_value": _f32(rng, 2, 2, 4, 8).astype(h)},
                    attrs={"is_causal": causal}, outputs=("Y", "present_key", "present_value"),
                    atol=2e-3, rtol=2e-3)
