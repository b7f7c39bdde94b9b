#!/usr/bin/env python3
"""Train a small LeNet-style CNN on Fashion-MNIST and export it to ONNX.

Needs torch (and onnx, onnxscript, onnxruntime for the export and its check).
The data comes from Debian's dataset-fashion-mnist package
(/usr/share/datasets/fashion-mnist). Writes model/fashion.onnx: input
"image" float32 [1, 1, 28, 28] (pixels / 255), output float32 [1, 10] logits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import idx  # noqa: E402


class FashionCNN(nn.Module):
    """(Conv3x3 + BN + ReLU + MaxPool2) x 2, then Linear + ReLU + Dropout + Linear."""

    def __init__(self, c1: int = 8, c2: int = 16, hidden: int = 64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(hidden, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [n, 28, 28] -> float32 [n, 1, 28, 28] in [0, 1], as the C app sees it."""
    return torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    model.eval()
    return sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum())
               for i in range(0, len(x), 1000))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "model", "fashion.onnx"))
    p.add_argument("--data-dir", default=idx.DATA_DIR)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    x_train, y_train = idx.load("train", args.data_dir)
    x_test, y_test = idx.load("t10k", args.data_dir)
    x_train, x_test = to_tensor(x_train), to_tensor(x_test)
    y_train = torch.from_numpy(y_train.astype(np.int64))
    y_test = torch.from_numpy(y_test.astype(np.int64))

    model = FashionCNN()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"training a {n_params}-parameter CNN on {len(x_train)} images, "
          f"{args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * ((len(x_train) - 1) // args.batch_size + 1))
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train))
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            batch = order[i:i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(batch)
        correct = accuracy(model, x_test, y_test)
        print(f"  epoch {epoch + 1}: train loss {total / len(order):.4f}, "
              f"test accuracy {correct / len(x_test):.4f} ({correct}/{len(x_test)}), "
              f"{time.perf_counter() - t0:.0f} s")
    correct = accuracy(model, x_test, y_test)
    print(f"PyTorch test accuracy: {correct / len(x_test):.4f} ({correct}/{len(x_test)})")

    model.eval()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    # PyTorch's default exporter, weights inside the .onnx file.
    torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), args.out,
                      input_names=["image"], output_names=["logits"], external_data=False)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")

    import onnx
    import onnxruntime as ort
    onnx.checker.check_model(onnx.load(args.out), full_check=True)
    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    sample = x_test[:500]
    ort_out = np.concatenate([sess.run(None, {"image": sample[i:i + 1].numpy()})[0]
                              for i in range(len(sample))])
    with torch.no_grad():
        torch_out = model(sample).numpy()
    diff = float(np.max(np.abs(ort_out - torch_out)))
    same = int(np.sum(ort_out.argmax(1) == torch_out.argmax(1)))
    print(f"ONNX Runtime vs PyTorch on {len(sample)} test images: max |diff| {diff:.2e}, "
          f"same prediction on {same}/{len(sample)}")
    if diff > 1e-3 or same != len(sample):
        raise SystemExit("the exported model does not match PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
