"""Export scikit-learn's 8x8 digits (UCI optdigits test set) to digits.npz, once.

scikit-learn is not a dependency: fetch its wheel without installing it,
    pip download scikit-learn --no-deps -d /tmp/skl
then run
    python resources/datasets/make_digits.py /tmp/skl/scikit_learn-*.whl
The npz holds `images` (1797, 8, 8) uint8 in 0..16 and `labels` (1797,) uint8.
"""
from __future__ import annotations

import gzip
import io
import os
import sys
import zipfile

import numpy as np

MEMBER = "sklearn/datasets/data/digits.csv.gz"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        raw = gzip.decompress(z.read(MEMBER))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",")
    assert table.shape == (1797, 65), table.shape
    images = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)
    labels = table[:, 64].astype(np.uint8)
    assert images.max() == 16 and set(np.unique(labels)) == set(range(10))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.npz")
    np.savez_compressed(out, images=images, labels=labels)
    print(f"wrote {out}: {images.shape[0]} images, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
