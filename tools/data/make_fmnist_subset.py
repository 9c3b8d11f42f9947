#!/usr/bin/env python3
"""Writes the main job's embedded dataset: a fixed, stratified, seeded subset of Fashion-MNIST.

Reads Debian's `dataset-fashion-mnist` package (IDX files, gzipped, in
/usr/share/datasets/fashion-mnist/ unless --source says otherwise) and writes, into the examples'
resources (io/github/stablerep/examples/demo/):

  train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz   (--train images, the same count per class)
  t10k-images-idx3-ubyte.gz,  t10k-labels-idx1-ubyte.gz    (--test images, the same count per class)
  indices.txt.gz   one line per chosen image: split<TAB>index into the original file
  PROVENANCE.md    source, licence, how the subset was drawn, sha256 of every file

The files are gzipped IDX, exactly what io.github.stablerep.eval.data.IdxDataset reads, written
with gzip mtime 0 so that a rerun gives the same bytes. Selection: for each class c, in class
order, numpy.random.default_rng(seed).choice(indices of class c, k, replace=False), k = count /
10; the chosen indices are then sorted, so images keep the original file's order.

Run with /usr/bin/python3 (numpy only):
  /usr/bin/python3 tools/data/make_fmnist_subset.py [--train 12000] [--test 2000] [--seed 0]
"""
import argparse
import gzip
import hashlib
import os
import struct

import numpy as np

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "..", "examples", "src", "main", "resources", "io", "github", "stablerep",
                           "examples", "demo")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    assert magic >> 8 == 0x08, f"{path}: expected unsigned-byte IDX, found magic {magic:#x}"
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_idx(path, array):
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with open(path, "wb") as raw:
        # mtime 0 and no file name in the header: the same input gives the same bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def choose(labels, count, rng):
    per_class = count // len(CLASSES)
    assert per_class * len(CLASSES) == count, f"count {count}: expected a multiple of {len(CLASSES)}"
    chosen = []
    for c in range(len(CLASSES)):
        pool = np.flatnonzero(labels == c)
        chosen.append(rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--train", type=int, default=12000)
    p.add_argument("--test", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    lines = []
    written = []
    for split, prefix, count in (("train", "train", a.train), ("test", "t10k", a.test)):
        images = read_idx(os.path.join(a.source, f"{prefix}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(a.source, f"{prefix}-labels-idx1-ubyte.gz"))
        idx = choose(labels, count, rng)
        for name, arr in ((f"{prefix}-images-idx3-ubyte.gz", images[idx]), (f"{prefix}-labels-idx1-ubyte.gz",
                                                                             labels[idx])):
            write_idx(os.path.join(a.out, name), arr)
            written.append(name)
        lines += [f"{split}\t{i}" for i in idx]
    with open(os.path.join(a.out, "indices.txt.gz"), "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(("split\tindex\n" + "\n".join(lines) + "\n").encode())
    written.append("indices.txt.gz")
    sums = "\n".join(f"| `{n}` | `{sha256(os.path.join(a.out, n))}` |" for n in written)
    with open(os.path.join(a.out, "PROVENANCE.md"), "w") as f:
        f.write(f"""# The main job's embedded dataset

A fixed subset of **Fashion-MNIST** (Xiao, Rasul and Vollgraf, 2017,
https://github.com/zalandoresearch/fashion-mnist), which is released under the **MIT licence**
(Copyright (c) 2017 Zalando SE). Taken from Debian's `dataset-fashion-mnist` package
(`{a.source}`).

- {a.train} training images ({a.train // 10} per class) from `train-*`, {a.test} test images
  ({a.test // 10} per class) from `t10k-*`; 28x28 grayscale, labels 0-9:
  {", ".join(f"{i} {c}" for i, c in enumerate(CLASSES))}.
- Drawn by `tools/data/make_fmnist_subset.py --train {a.train} --test {a.test} --seed {a.seed}`:
  per class, `numpy.random.default_rng({a.seed}).choice(class indices, k, replace=False)`
  (one generator for both splits, train first), then sorted. The chosen indices into the
  original files are in `indices.txt.gz`.
- Format: gzipped IDX, as the original files (gzip mtime 0, so a rerun is byte-identical).

| file | sha256 |
|---|---|
{sums}
""")
    print("wrote", ", ".join(written), "to", os.path.normpath(a.out))


if __name__ == "__main__":
    main()
