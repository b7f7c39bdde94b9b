#!/usr/bin/env python3
"""Train the [64, 30, 10] sigmoid network on scikit-learn's 8x8 digits and
export it to ONNX together with the held-out test set.

Writes, into --out (default: examples/digits_mlp/build):
  digits.onnx    image float32 [1, 64] -> Gemm+Sigmoid -> Gemm+Sigmoid -> scores float32 [1, 10]
  test_set.bin   int32 count, int32 features (64), count*64 float32 images,
                 count int32 labels; all little-endian
  test_set.npz   the same test set for Python (images, labels)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from network import CrossEntropyCost, Network, QuadraticCost  # noqa: E402

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17


def load_split(seed: int = 0):
    """Digits scaled to [0, 1]; fixed, stratified 70/30 split."""
    digits = load_digits()
    X = digits.data.astype(np.float64) / 16.0
    y = digits.target.astype(np.int64)
    return train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)


def export_onnx(net: Network, path: str) -> onnx.ModelProto:
    """One Gemm(transB=1) + Sigmoid per layer: scores = sigmoid(x W^T + b)."""
    inits, nodes = [], []
    prev = "image"
    n_layers = len(net.weights)
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        w_name, b_name = f"fc{i + 1}.weight", f"fc{i + 1}.bias"
        inits.append(numpy_helper.from_array(w.astype(np.float32), w_name))
        inits.append(numpy_helper.from_array(b.reshape(-1).astype(np.float32), b_name))
        z = f"fc{i + 1}.z"
        out = "scores" if i == n_layers - 1 else f"fc{i + 1}.a"
        nodes.append(helper.make_node("Gemm", [prev, w_name, b_name], [z],
                                      name=f"fc{i + 1}", transB=1))
        nodes.append(helper.make_node("Sigmoid", [z], [out], name=f"sigmoid{i + 1}"))
        prev = out
    graph = helper.make_graph(
        nodes,
        "digits_mlp",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, net.sizes[0]])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, net.sizes[-1]])],
        initializer=inits,
    )
    model = helper.make_model(graph, producer_name="dlgen-examples-digits_mlp",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.doc_string = "Sigmoid MLP %s trained with mini-batch SGD on sklearn digits" % (
        net.sizes,)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return model


def write_test_set(images: np.ndarray, labels: np.ndarray, out_dir: str) -> None:
    images = np.ascontiguousarray(images, dtype="<f4")
    labels = np.ascontiguousarray(labels, dtype="<i4")
    count, features = images.shape
    with open(os.path.join(out_dir, "test_set.bin"), "wb") as f:
        f.write(np.array([count, features], dtype="<i4").tobytes())
        f.write(images.tobytes())
        f.write(labels.tobytes())
    np.savez(os.path.join(out_dir, "test_set.npz"),
             images=images.astype(np.float32), labels=labels.astype(np.int32))


def check_with_onnxruntime(path: str, net: Network, images: np.ndarray) -> None:
    """ORT on the exported model must agree with the numpy network."""
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed; skipping the ORT cross-check")
        return
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ort_scores = np.concatenate(
        [sess.run(None, {"image": images[i:i + 1]})[0] for i in range(len(images))])
    np_scores = net.feedforward(images.astype(np.float64).T).T
    max_err = float(np.max(np.abs(ort_scores - np_scores)))
    same = int(np.sum(ort_scores.argmax(1) == np_scores.argmax(1)))
    print(f"ONNX Runtime vs numpy: max |diff| {max_err:.2e}, "
          f"same prediction on {same}/{len(images)}")
    if max_err > 1e-4 or same != len(images):
        raise SystemExit("exported ONNX model does not match the numpy network")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "build"),
                   help="output directory (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--eta", type=float, default=3.0)
    p.add_argument("--hidden", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cost", choices=["quadratic", "cross-entropy"], default="quadratic")
    args = p.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    X_train, X_test, y_train, y_test = load_split()
    Y_train = np.eye(10)[y_train]
    # Evaluate on the float32 images that the exported model will see.
    X_test32 = X_test.astype(np.float32)

    sizes = [X_train.shape[1], args.hidden, 10]
    cost = QuadraticCost if args.cost == "quadratic" else CrossEntropyCost
    net = Network(sizes, seed=args.seed, cost=cost)
    print(f"training {sizes} on {len(X_train)} digits, testing on {len(X_test)}: "
          f"{args.epochs} epochs, mini-batch {args.batch_size}, eta {args.eta}, "
          f"{args.cost} cost")
    t0 = time.perf_counter()
    history = net.SGD((X_train, Y_train), args.epochs, args.batch_size, args.eta,
                      test_data=(X_test32, y_test), verbose=False)
    elapsed = time.perf_counter() - t0
    for start in range(0, len(history), 10):
        chunk = history[start:start + 10]
        print(f"  epochs {start + 1:3d}-{start + len(chunk):<3d} test acc: "
              + " ".join(f"{a:.3f}" for a in chunk))
    correct = net.evaluate((X_test32, y_test))
    print(f"final test accuracy: {correct / len(y_test):.4f} ({correct}/{len(y_test)}) "
          f"after {elapsed:.2f} s")

    onnx_path = os.path.join(args.out, "digits.onnx")
    export_onnx(net, onnx_path)
    write_test_set(X_test32, y_test, args.out)
    print(f"wrote {onnx_path}, test_set.bin, test_set.npz ({len(y_test)} images)")
    check_with_onnxruntime(onnx_path, net, X_test32)
    return 0


if __name__ == "__main__":
    sys.exit(main())
