"""DeformConv on the C target against ONNX Runtime: offset groups, mask, bias, groups, pads,
strides, dilations, offsets that move taps outside the image."""
from __future__ import annotations

import numpy as np
import pytest

import dlgen
from dlgen.errors import Unsupported
from dlgen.targets.c.build import check_compiles
from oplib import check_op, dlgen_outputs, make_model


def _case(rng, *, n=1, c=2, m=2, hw=(5, 6), k=(3, 3), group=1, offset_group=1, pads=(0, 0, 0, 0),
          strides=(1, 1), dilations=(1, 1), mask=False, bias=False, spread=1.5):
    x = rng.standard_normal((n, c, *hw)).astype(np.float32)
    w = rng.standard_normal((m, c // group, *k)).astype(np.float32)
    out = [(hw[i] + pads[i] + pads[i + 2] - ((k[i] - 1) * dilations[i] + 1)) // strides[i] + 1
           for i in range(2)]
    taps = offset_group * k[0] * k[1]
    feeds = {"X": x, "W": w,
             "offset": (spread * rng.standard_normal((n, 2 * taps, *out))).astype(np.float32)}
    order = ["X", "W", "offset"]
    if bias:
        feeds["B"] = rng.standard_normal((m,)).astype(np.float32)
    if mask:
        feeds["mask"] = rng.uniform(0, 1, (n, taps, *out)).astype(np.float32)
        order += ["B" if bias else "", "mask"]
    elif bias:
        order.append("B")
    attrs = {"group": group, "offset_group": offset_group, "pads": list(pads),
             "strides": list(strides), "dilations": list(dilations), "kernel_shape": list(k)}
    return feeds, attrs, order


CASES = [
    {},
    {"pads": (1, 1, 1, 1)},
    {"pads": (0, 2, 1, 0), "strides": (2, 1)},
    {"dilations": (2, 1), "hw": (7, 5)},
    {"k": (2, 3), "mask": True, "bias": True},
    {"bias": True},
    {"mask": True},
    {"c": 4, "m": 6, "group": 2},
    {"c": 4, "m": 2, "offset_group": 2, "mask": True},
    {"c": 6, "m": 6, "group": 3, "offset_group": 2, "bias": True, "mask": True},
    {"c": 4, "m": 4, "group": 4, "offset_group": 4},
    {"n": 3, "hw": (4, 4), "k": (1, 1)},
    {"spread": 6.0, "pads": (2, 2, 2, 2)},  # many taps fall outside the image
    {"spread": 0.0, "pads": (1, 1, 1, 1)},  # integer positions: a plain convolution
    {"hw": (1, 4), "k": (1, 2)},
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_deform_conv_matches_onnxruntime(case):
    rng = np.random.default_rng(100 + case)
    feeds, attrs, order = _case(rng, **CASES[case])
    check_op("DeformConv", feeds, attrs=attrs, input_order=order, opset=19, atol=1e-4)


def test_zero_offsets_equal_conv():
    rng = np.random.default_rng(7)
    feeds, attrs, order = _case(rng, c=3, m=4, pads=(1, 0, 1, 2), strides=(1, 2), spread=0.0)
    got = dlgen_outputs(make_model("DeformConv", feeds, attrs=attrs, input_order=order,
                                   opset=19), feeds)["y0"]
    conv_attrs = {k: v for k, v in attrs.items() if k != "offset_group"}
    conv = make_model("Conv", {"X": feeds["X"], "W": feeds["W"]}, attrs=conv_attrs, opset=19)
    want = dlgen_outputs(conv, {"X": feeds["X"], "W": feeds["W"]})["y0"]
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


def test_refuses_non_2d():
    rng = np.random.default_rng(0)
    feeds = {"X": rng.standard_normal((1, 1, 5)).astype(np.float32),
             "W": rng.standard_normal((1, 1, 2)).astype(np.float32),
             "offset": rng.standard_normal((1, 2, 4)).astype(np.float32)}
    model = make_model("DeformConv", feeds, attrs={"kernel_shape": [2]}, opset=19)
    with pytest.raises(Unsupported, match="2-D DeformConv"):
        dlgen_outputs(model, feeds)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_deform_artifact_compiles_strictly(tmp_path, cc):
    rng = np.random.default_rng(1)
    feeds, attrs, order = _case(rng, c=4, m=2, offset_group=2, mask=True, bias=True)
    model = make_model("DeformConv", feeds, attrs=attrs, input_order=order, opset=19)
    check_compiles(dlgen.compile(model, "c", tmp_path / "d", name="m").path, cc=cc)
