#!/usr/bin/env python3
"""Write the Fashion-MNIST test set in the C app's format (no torch needed).

Reads the 10,000 held-out test images from Debian's dataset-fashion-mnist
package and writes, into --out:
  test_set.bin  (little-endian) int32 count, int32 features (784),
                count*784 float32 images (pixels / 255, row-major 28x28),
                count int32 labels
  sample.pgm    the first test image as a binary PGM (P5, 28x28, maxval 255)
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import idx  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "build"))
    p.add_argument("--data-dir", default=idx.DATA_DIR)
    p.add_argument("--count", type=int, default=0,
                   help="keep only the first COUNT test images (default: all)")
    args = p.parse_args(argv)

    images, labels = idx.load("t10k", args.data_dir)
    if args.count > 0:
        images, labels = images[:args.count], labels[:args.count]
    os.makedirs(args.out, exist_ok=True)
    count = len(labels)
    # The same float32 division as train.py, so the C app sees what PyTorch saw.
    pixels = (images.astype(np.float32) / np.float32(255.0)).reshape(count, -1)
    with open(os.path.join(args.out, "test_set.bin"), "wb") as f:
        f.write(np.array([count, pixels.shape[1]], dtype="<i4").tobytes())
        f.write(pixels.astype("<f4").tobytes())
        f.write(labels.astype("<i4").tobytes())
    with open(os.path.join(args.out, "sample.pgm"), "wb") as f:
        f.write(b"P5\n28 28\n255\n" + images[0].tobytes())
    print(f"wrote {count} test images to {os.path.join(args.out, 'test_set.bin')}; "
          f"sample.pgm is test image 0 ({idx.CLASSES[labels[0]]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
