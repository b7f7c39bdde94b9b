"""A tiny reader for the IDX files of (Fashion-)MNIST, gzipped or raw.

IDX: two zero bytes, a type byte (0x08 = unsigned byte), the number of
dimensions, one big-endian uint32 per dimension, then the data in C order.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

# Debian's dataset-fashion-mnist package installs the four files here.
DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {data.size} bytes of data for shape {shape}")
    return data.reshape(shape)


def find(kind: str, data_dir: str = DATA_DIR) -> tuple[str, str]:
    """Paths of the images and labels of kind "train" or "t10k" (.gz or raw)."""
    paths = []
    for what in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        base = os.path.join(data_dir, f"{kind}-{what}")
        for candidate in (base + ".gz", base):
            if os.path.exists(candidate):
                paths.append(candidate)
                break
        else:
            raise FileNotFoundError(
                f"{base}(.gz) not found; install Debian's dataset-fashion-mnist package "
                f"or pass --data-dir")
    return paths[0], paths[1]


def load(kind: str, data_dir: str = DATA_DIR) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [n, 28, 28] and uint8 labels [n]."""
    images_path, labels_path = find(kind, data_dir)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise ValueError(f"{images_path}, {labels_path}: shapes {images.shape}, {labels.shape}")
    return images, labels
