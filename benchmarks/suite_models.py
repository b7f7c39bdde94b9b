"""The benchmark suite's models: written with onnx.helper and seeded random weights, taken from
tests/fixtures/models (PyTorch exports), or the onnx package's ``light_*`` models (real
architectures whose weights are ConstantOfShape fills: right shapes and FLOPs, no download).

Each entry: name -> (kind, builder); ``kind`` is "tiny" (per-call overhead dominates) or "cnn"
(the geometric means of the README table are over the CNNs).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "models"
LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
OPSET = 17


def _save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _init(rng, name: str, shape, fan_in: int) -> onnx.TensorProto:
    data = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    return numpy_helper.from_array(data.astype(np.float32), name)


def mlp(path: Path) -> Path:
    """MLP 784-30-10: Gemm, Relu, Gemm (the digits-sized network of the issue)."""
    rng = np.random.default_rng(1)
    inits = [_init(rng, "w1", (784, 30), 784), _init(rng, "b1", (30,), 784),
             _init(rng, "w2", (30, 10), 30), _init(rng, "b2", (10,), 30)]
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["a"], name="relu1"),
             helper.make_node("Gemm", ["a", "w2", "b2"], ["y"], name="fc2")]
    graph = helper.make_graph(nodes, "mlp_784_30_10",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 784])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                              inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), path)


# MobileNetV1 at width 0.5: (depthwise stride, pointwise output channels) per block.
MOBILENET_BLOCKS = [(1, 32), (2, 64), (1, 64), (2, 128), (1, 128), (2, 256), (1, 256),
                    (1, 256), (1, 256), (1, 256), (1, 256), (2, 512), (1, 512)]


def mobilenet(path: Path, size: int = 224) -> Path:
    """MobileNetV1-style (width 0.5): 3x3 stem, 13 depthwise-separable blocks (3x3 depthwise +
    1x1 pointwise, each followed by ReLU6 as Clip 0..6), global average pool, 1000-way Gemm.
    BatchNormalization is left out: it folds into the convolutions anyway."""
    rng = np.random.default_rng(7)
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
             numpy_helper.from_array(np.array(6.0, np.float32), "six")]
    nodes = []

    def conv(x, cin, cout, k, stride, group, name):
        w = _init(rng, f"{name}_w", (cout, cin // group, k, k), cin // group * k * k)
        b = numpy_helper.from_array(np.zeros(cout, np.float32), f"{name}_b")
        inits.extend([w, b])
        nodes.append(helper.make_node("Conv", [x, w.name, b.name], [f"{name}_c"], name=name,
                                      kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[k // 2] * 4, group=group))
        nodes.append(helper.make_node("Clip", [f"{name}_c", "zero", "six"], [f"{name}_r"],
                                      name=f"{name}_relu6"))
        return f"{name}_r"

    x, c = conv("x", 3, 16, 3, 2, 1, "stem"), 16
    for i, (stride, cout) in enumerate(MOBILENET_BLOCKS):
        x = conv(x, c, c, 3, stride, c, f"dw{i}")
        x, c = conv(x, c, cout, 1, 1, 1, f"pw{i}"), cout
    inits += [_init(rng, "fc_w", (c, 1000), c), numpy_helper.from_array(
        np.zeros(1000, np.float32), "fc_b")]
    nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"),
              helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
              helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"], name="fc")]
    graph = helper.make_graph(nodes, "mobilenet_v1_050",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                             [1, 3, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1000])],
                              inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), path)


def _copy(src: Path):
    def build(path: Path) -> Path:
        shutil.copyfile(src, path)
        return path
    return build


MODELS = {
    "mlp_784_30_10": ("tiny", mlp),
    "lenet": ("tiny", _copy(FIXTURES / "lenet_legacy.onnx")),
    "embedding_lstm": ("tiny", _copy(FIXTURES / "lstm_legacy.onnx")),
    "gru": ("tiny", _copy(FIXTURES / "gru_legacy.onnx")),
    "light_squeezenet": ("cnn", _copy(LIGHT / "light_squeezenet.onnx")),
    "light_shufflenet": ("cnn", _copy(LIGHT / "light_shufflenet.onnx")),
    "light_resnet50": ("cnn", _copy(LIGHT / "light_resnet50.onnx")),
    "light_inception_v1": ("cnn", _copy(LIGHT / "light_inception_v1.onnx")),
    "mobilenet_v1_050": ("cnn", mobilenet),
}


def write_model(name: str, folder: Path) -> Path:
    """Write model ``name`` to ``folder/name.onnx`` (rebuilt every time: cheap, and never
    stale) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    return MODELS[name][1](folder / f"{name}.onnx")
