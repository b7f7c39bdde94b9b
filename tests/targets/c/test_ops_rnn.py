"""RNN, LSTM and GRU against ONNX Runtime: directions, layouts, optional inputs and outputs,
sequence lengths, peepholes, clip, activations, and the recurrent nodes of the PyTorch fixtures.

ONNX Runtime refuses layout=1 (batch first), so a layout-1 case is checked against ORT running
the same weights on the layout-0 model with transposed inputs, its outputs transposed back.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import dlgen
from dlgen.targets.c.build import check_compiles
from oplib import assert_close, dlgen_outputs, make_model, ort_outputs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "models"

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
INPUT_NAMES = {
    "RNN": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
    "LSTM": ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"],
    "GRU": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
}
OUTPUT_NAMES = {"RNN": ["Y", "Y_h"], "LSTM": ["Y", "Y_h", "Y_c"], "GRU": ["Y", "Y_h"]}
# Inputs fed at run time; the rest (weights, constant sequence_lens) become initializers.
RUNTIME = ("X", "initial_h", "initial_c")


def rnn_arrays(op: str, rng, *, seq=4, batch=3, inp=3, hidden=5, dirs=1, bias=True,
               init=False, lens=None, peephole=False, scale=0.6) -> dict:
    """The node's inputs in layout 0 (None for an omitted one)."""
    g = GATES[op]

    def randn(*shape):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    arrays = {
        "X": randn(seq, batch, inp) / scale,
        "W": randn(dirs, g * hidden, inp),
        "R": randn(dirs, g * hidden, hidden),
        "B": randn(dirs, 2 * g * hidden) if bias else None,
        "sequence_lens": None if lens is None else np.array(lens, np.int32),
        "initial_h": randn(dirs, batch, hidden) if init else None,
    }
    if op == "LSTM":
        arrays["initial_c"] = randn(dirs, batch, hidden) if init else None
        arrays["P"] = randn(dirs, 3 * hidden) if peephole else None
    return arrays


def _to_layout1(arrays: dict) -> dict:
    """Batch-first copies of X and the initial states ([S,N,I] -> [N,S,I], [D,N,H] -> [N,D,H])."""
    out = dict(arrays)
    for name in ("X", "initial_h", "initial_c"):
        if out.get(name) is not None:
            out[name] = np.ascontiguousarray(out[name].transpose(1, 0, 2))
    return out


def _from_layout0(name: str, y: np.ndarray) -> np.ndarray:
    """A layout-0 output in layout 1: Y [S,D,N,H] -> [N,S,D,H]; states [D,N,H] -> [N,D,H]."""
    return np.ascontiguousarray(y.transpose(2, 0, 1, 3) if name == "Y" else y.transpose(1, 0, 2))


def _model(op: str, arrays: dict, attrs: dict, outputs: list[str], opset: int,
           runtime: tuple[str, ...]):
    names = INPUT_NAMES[op]
    while arrays.get(names[-1]) is None:
        names = names[:-1]  # trailing omitted inputs are left out, not ""
    order = [n if arrays.get(n) is not None else "" for n in names]
    feeds = {n: arrays[n] for n in order if n in runtime}
    consts = {n: arrays[n] for n in order if n and n not in runtime}
    model = make_model(op, feeds, consts=consts, attrs=attrs, outputs=outputs, opset=opset,
                       input_order=order)
    return model, feeds


def check_rnn(op: str, arrays: dict, attrs: dict | None = None, *, layout: int = 0,
              outputs: list[str] | None = None, opset: int = 14,
              runtime: tuple[str, ...] = RUNTIME, atol: float = 1e-5, rtol: float = 1e-4):
    """Compile the node to C and compare every output with ONNX Runtime."""
    attrs = dict(attrs or {})
    attrs.setdefault("hidden_size", arrays["R"].shape[-1])
    outputs = outputs or OUTPUT_NAMES[op]
    ref_model, ref_feeds = _model(op, arrays, attrs, outputs, opset, runtime)
    want = ort_outputs(ref_model, ref_feeds)
    if layout == 0:
        got = dlgen_outputs(ref_model, ref_feeds)
    else:
        model, feeds = _model(op, _to_layout1(arrays), {**attrs, "layout": 1}, outputs, opset,
                              runtime)
        got = dlgen_outputs(model, feeds)
        want = {k: _from_layout0(k, v) for k, v in want.items()}
    assert_close(got, want, atol=atol, rtol=rtol)
    return got


DIRECTIONS = ["forward", "reverse", "bidirectional"]
LENS = [None, [2, 4, 1]]  # batch 3, seq_len 4: full, shorter and single-step sequences


def _ndirs(direction: str) -> int:
    return 2 if direction == "bidirectional" else 1


# -- the main matrix ---------------------------------------------------------------------------

@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", [0, 1])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("init", [True, False])
@pytest.mark.parametrize("lens", LENS)
def test_lstm(direction, layout, bias, init, lens, rng):
    arrays = rnn_arrays("LSTM", rng, dirs=_ndirs(direction), bias=bias, init=init, lens=lens)
    check_rnn("LSTM", arrays, {"direction": direction}, layout=layout)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", [0, 1])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("init", [True, False])
@pytest.mark.parametrize("lens", LENS)
@pytest.mark.parametrize("linear_before_reset", [0, 1])
def test_gru(direction, layout, bias, init, lens, linear_before_reset, rng):
    arrays = rnn_arrays("GRU", rng, dirs=_ndirs(direction), bias=bias, init=init, lens=lens)
    check_rnn("GRU", arrays, {"direction": direction, "linear_before_reset": linear_before_reset},
              layout=layout)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", [0, 1])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("init", [True, False])
@pytest.mark.parametrize("lens", LENS)
def test_simple_rnn(direction, layout, bias, init, lens, rng):
    arrays = rnn_arrays("RNN", rng, dirs=_ndirs(direction), bias=bias, init=init, lens=lens)
    check_rnn("RNN", arrays, {"direction": direction}, layout=layout)


@pytest.mark.parametrize("acts", [["Relu"], ["Sigmoid"], ["LeakyRelu"]])
def test_simple_rnn_activations_and_clip(acts, rng):
    arrays = rnn_arrays("RNN", rng, init=True, lens=[3, 4, 1])
    check_rnn("RNN", arrays, {"activations": acts, "clip": 0.7})
    check_rnn("RNN", rnn_arrays("RNN", rng, dirs=2), {"direction": "bidirectional",
                                                       "activations": acts * 2})


@pytest.mark.parametrize("outputs", [["Y"], ["", "Y_h"]])
def test_simple_rnn_omitted_outputs(outputs, rng):
    arrays = rnn_arrays("RNN", rng, dirs=2, init=True, lens=[3, 4, 0])
    check_rnn("RNN", arrays, {"direction": "bidirectional"}, outputs=outputs,
              runtime=RUNTIME + ("sequence_lens",))


# -- omitted outputs, sequence lengths ----------------------------------------------------------

@pytest.mark.parametrize("op,outputs", [
    ("LSTM", ["Y"]), ("LSTM", ["", "Y_h"]), ("LSTM", ["", "", "Y_c"]), ("LSTM", ["Y", "", "Y_c"]),
    ("LSTM", ["", "Y_h", "Y_c"]), ("GRU", ["Y"]), ("GRU", ["", "Y_h"]),
])
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", [0, 1])
def test_omitted_outputs(op, outputs, direction, layout, rng):
    arrays = rnn_arrays(op, rng, dirs=_ndirs(direction), init=True, lens=[3, 4, 1])
    check_rnn(op, arrays, {"direction": direction}, layout=layout, outputs=outputs)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", [0, 1])
def test_runtime_sequence_lens(op, direction, layout, rng):
    arrays = rnn_arrays(op, rng, seq=5, batch=4, dirs=_ndirs(direction), init=True,
                        lens=[5, 2, 3, 1])
    check_rnn(op, arrays, {"direction": direction}, layout=layout,
              runtime=RUNTIME + ("sequence_lens",))


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_zero_length_sequence(op, direction, rng):
    # An empty sequence keeps zeros in Y and gives zero final states (as ONNX Runtime does).
    arrays = rnn_arrays(op, rng, dirs=_ndirs(direction), init=True, lens=[0, 4, 2])
    check_rnn(op, arrays, {"direction": direction})


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_runtime_weights(op, rng):
    arrays = rnn_arrays(op, rng, dirs=2, init=True, lens=[1, 4, 3])
    check_rnn(op, arrays, {"direction": "bidirectional"},
              runtime=RUNTIME + ("W", "R", "B", "P", "sequence_lens"))


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("batch,seq,inp,hidden", [(1, 1, 1, 1), (1, 7, 6, 3), (5, 3, 2, 8)])
def test_sizes(op, batch, seq, inp, hidden, rng):
    arrays = rnn_arrays(op, rng, seq=seq, batch=batch, inp=inp, hidden=hidden, dirs=2,
                        init=True)
    check_rnn(op, arrays, {"direction": "bidirectional"}, layout=1)


# -- cell options --------------------------------------------------------------------------------

@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layout", [0, 1])
@pytest.mark.parametrize("lens", LENS)
def test_lstm_peepholes(direction, layout, lens, rng):
    arrays = rnn_arrays("LSTM", rng, dirs=_ndirs(direction), init=True, lens=lens,
                        peephole=True)
    check_rnn("LSTM", arrays, {"direction": direction}, layout=layout)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("peephole", [False, True])
def test_lstm_input_forget(direction, peephole, rng):
    arrays = rnn_arrays("LSTM", rng, dirs=_ndirs(direction), init=True, peephole=peephole)
    check_rnn("LSTM", arrays, {"direction": direction, "input_forget": 1})


@pytest.mark.parametrize("op,attrs", [
    ("LSTM", {}), ("LSTM", {"input_forget": 1}),
    ("GRU", {"linear_before_reset": 0}), ("GRU", {"linear_before_reset": 1}),
])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_clip(op, attrs, direction, rng):
    # Large weights so that many gate pre-activations lie outside [-clip, clip].
    arrays = rnn_arrays(op, rng, dirs=_ndirs(direction), init=True, lens=[4, 3, 2],
                        peephole=True, scale=2.0)
    check_rnn(op, arrays, {"direction": direction, "clip": 0.7, **attrs})


@pytest.mark.parametrize("op,attrs", [
    ("RNN", {}), ("LSTM", {}), ("LSTM", {"input_forget": 1}), ("LSTM", {"clip": 0.9}),
    ("GRU", {"linear_before_reset": 0}), ("GRU", {"linear_before_reset": 1}),
])
def test_kernel_sets(op, attrs, kernels, rng):
    # The reference kernels (dot products along R's rows) and the fast ones (R^T, summed across
    # all gates) on a hidden size whose tails miss every vector width and the 4-row blocks.
    arrays = rnn_arrays(op, rng, seq=5, dirs=2, hidden=11, init=True, lens=[5, 2, 3],
                        peephole=op == "LSTM", scale=1.5)
    check_rnn(op, arrays, {"direction": "bidirectional", **attrs})


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_opset7(op, direction, rng):
    arrays = rnn_arrays(op, rng, init=True, lens=[3, 1, 4])
    check_rnn(op, arrays, {"direction": direction}, opset=7)


# -- activations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("op,attrs", [
    ("LSTM", {"activations": ["HardSigmoid", "Relu", "Tanh"]}),
    ("LSTM", {"activations": ["HardSigmoid", "LeakyRelu", "Sigmoid"],
              "activation_alpha": [0.3, 0.05], "activation_beta": [0.45]}),
    ("LSTM", {"activations": ["sigmoid", "tanh", "tanh"]}),
    ("GRU", {"activations": ["HardSigmoid", "LeakyRelu"], "activation_alpha": [0.25, 0.1],
             "activation_beta": [0.4]}),
    ("GRU", {"activations": ["HardSigmoid", "LeakyRelu"], "linear_before_reset": 1}),
    ("GRU", {"activations": ["Sigmoid", "Relu"]}),
    ("GRU", {"activations": ["Sigmoid", "Relu"], "linear_before_reset": 1}),
])
def test_activations(op, attrs, rng):
    # Parameters are consumed in order by the functions that take them; missing ones take
    # the ONNX defaults (LeakyRelu alpha 0.01, HardSigmoid alpha 0.2 and beta 0.5).
    arrays = rnn_arrays(op, rng, init=True, lens=[4, 2, 3])
    check_rnn(op, arrays, attrs)


@pytest.mark.parametrize("op,acts", [
    ("LSTM", ["Sigmoid", "Tanh", "Tanh", "HardSigmoid", "LeakyRelu", "Relu"]),
    ("LSTM", ["HardSigmoid", "Tanh", "Relu", "Sigmoid", "Relu", "Tanh"]),
    ("GRU", ["Sigmoid", "Tanh", "HardSigmoid", "Relu"]),
    ("GRU", ["HardSigmoid", "Tanh", "LeakyRelu", "HardSigmoid"]),
])
def test_bidirectional_activations(op, acts, rng):
    arrays = rnn_arrays(op, rng, dirs=2, init=True, lens=[4, 1, 3])
    check_rnn(op, arrays, {"direction": "bidirectional", "activations": acts,
                           "activation_alpha": [0.3], "activation_beta": [0.4, 0.6]})


def _compile(op: str, arrays: dict, attrs: dict, tmp_path):
    attrs = {"hidden_size": arrays["R"].shape[-1], **attrs}
    model, _ = _model(op, arrays, attrs, OUTPUT_NAMES[op], 14, RUNTIME)
    return dlgen.compile(model, "c", tmp_path / "out", name="m")


@pytest.mark.parametrize("op,attrs,match", [
    ("LSTM", {"activations": ["Sigmoid", "Softsign", "Tanh"]}, "activation 'Softsign'"),
    ("GRU", {"activations": ["Sigmoid", "Elu"]}, "activation 'Elu'"),
    ("GRU", {"activations": ["Sigmoid", "Tanh", "Sigmoid"]}, "activations lists 3 functions"),
    ("LSTM", {"direction": "bidirectional", "activations": ["Sigmoid", "Tanh", "Tanh"]},
     "activations lists 3 functions, expected 6"),
    ("LSTM", {"clip": -1.0}, "clip -1.0 must be positive"),
])
def test_refused_forms(op, attrs, match, rng, tmp_path):
    arrays = rnn_arrays(op, rng, dirs=_ndirs(attrs.get("direction", "forward")))
    with pytest.raises(dlgen.errors.Unsupported, match=match):
        _compile(op, arrays, attrs, tmp_path)


# -- the PyTorch fixtures' recurrent nodes --------------------------------------------------------

def _fixture_node_case(stem: str):
    """The fixture's LSTM/GRU node alone, with the values it reads computed by ORT from the
    fixture's sample input: (op, arrays in input order, attrs, opset)."""
    model = onnx.load(FIXTURES / f"{stem}.onnx")
    node = next(n for n in model.graph.node if n.op_type in GATES)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    computed = [n for n in node.input if n and n not in inits]
    for name in computed:
        model.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    with np.load(FIXTURES / "inputs" / f"{stem}.npz") as data:
        values = {**inits, **ort_outputs(model, {k: data[k] for k in data.files})}
    arrays = {name: (values[v] if v else None)
              for name, v in zip(INPUT_NAMES[node.op_type], node.input)}
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return node.op_type, arrays, attrs, opset


@pytest.mark.parametrize("stem", ["lstm_legacy", "lstm_dynamo", "lstm_noopt_dynamo",
                                  "gru_legacy", "gru_dynamo", "gru_noopt_dynamo"])
def test_fixture_node(stem):
    op, arrays, attrs, opset = _fixture_node_case(stem)
    check_rnn(op, arrays, attrs, opset=opset, runtime=("X",))


# -- strict compilation ---------------------------------------------------------------------------

@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_compiles_strict(cc, rng, tmp_path):
    lstm = rnn_arrays("LSTM", rng, dirs=2, init=True, lens=[1, 2, 3], peephole=True)
    gru = rnn_arrays("GRU", rng, dirs=2, init=True, lens=[1, 2, 3])
    art = _compile("LSTM", lstm, {"direction": "bidirectional", "clip": 3.0,
                                  "activations": ["HardSigmoid", "Tanh", "Relu"] * 2},
                   tmp_path / "lstm")
    check_compiles(art.path, cc=cc)
    art = _compile("GRU", gru, {"direction": "bidirectional", "linear_before_reset": 1},
                   tmp_path / "gru")
    check_compiles(art.path, cc=cc)
