#!/usr/bin/python3
"""Golden size and brightness terciles for the main job's real caption groups.

The shipped tiny Stable Diffusion was trained on captions whose size and brightness words are
terciles of two image measures within each class (tools/tiny-sd/prompts.py, `measure` and the
np.quantile edges). The main job groups real images by the same rule
(`DemoData.contentTerciles`); this script recomputes it with NumPy on the first 20 images per
class of the embedded Fashion-MNIST subset, in reading order, as `DemoData.load(null, work, 28,
20, 5)` takes them.

Run from the repository root:

    /usr/bin/python3 tools/reference/caption_content_reference.py

Writes examples/src/test/resources/golden/demo/content_terciles.npy: int64 [2, 200], row 0 the
size tercile and row 1 the brightness tercile of each image (0, 1, 2).
"""
import gzip
import os

import numpy as np

RES = os.path.join("examples", "src", "main", "resources", "io", "github", "stablerep", "examples", "demo")
OUT = os.path.join("examples", "src", "test", "resources", "golden", "demo")


def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def measure(u8):
    # tools/tiny-sd/prompts.py's measure
    x = u8.astype(np.float64) / 255
    m = x > 0.1
    return m.mean((1, 2)), (x * m).sum((1, 2)) / np.maximum(m.sum((1, 2)), 1) * 255


def main():
    x = idx(os.path.join(RES, "train-images-idx3-ubyte.gz"))
    y = idx(os.path.join(RES, "train-labels-idx1-ubyte.gz"))
    keep, taken = [], np.zeros(10, int)
    for i, c in enumerate(y):
        if taken[c] < 20:
            taken[c] += 1
            keep.append(i)
    x, y = x[keep], y[keep]
    size, bright = measure(x)
    attr = np.zeros((2, len(y)), np.int64)
    for c in range(10):
        s = y == c
        for row, v in enumerate((size, bright)):
            e = np.quantile(v[s], [1 / 3, 2 / 3])
            attr[row, s] = (v[s] > e[0]).astype(int) + (v[s] > e[1])
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "content_terciles.npy"), attr)
    print("images", len(y), "size tercile counts", np.bincount(attr[0]), "brightness", np.bincount(attr[1]))


if __name__ == "__main__":
    main()
