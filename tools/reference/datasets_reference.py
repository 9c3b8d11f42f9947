#!/usr/bin/python3
"""Golden values for stablerep-eval's dataset readers (io.github.stablerep.eval.data).

Fashion-MNIST (Debian package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist): the
t10k images and labels are read with numpy straight from the gzipped IDX files (big-endian
header, then uint8 data), independently of the Java reader. Only summary numbers are written,
never the data: the count, the first 16 labels and the pixel sums (uint8 values, summed as
int64) of images 0 and 1.

CIFAR: the binary format has no files here (no download), so this script writes tiny ones the
way the format is defined (https://www.cs.toronto.edu/~kriz/cifar.html): per record, CIFAR-10
one label byte, CIFAR-100 a coarse then a fine label byte, then 3072 bytes: the 1024 red, 1024
green and 1024 blue values of a 32x32 image in row-major order. Three records each with random
pixels (seed 0), plus the expected arrays as numpy would decode them: images [3, 3, 32, 32]
float32 = bytes / 255, labels int32.

Writes, under stablerep-eval/src/test/resources/golden/datasets/:
  fmnist_t10k_count.npy []           int64
  fmnist_t10k_labels16.npy [16]      int32
  fmnist_t10k_pixel_sums.npy [2]     int64 (images 0 and 1)
  cifar10.bin (3 x 3073 bytes), cifar10_images.npy [3,3,32,32] float32, cifar10_labels.npy [3]
  cifar100.bin (3 x 3074 bytes), cifar100_images.npy, cifar100_coarse.npy, cifar100_fine.npy
"""
import gzip
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "stablerep-eval/src/test/resources/golden/datasets")
FMNIST = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return magic, np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    os.makedirs(OUT, exist_ok=True)
    mi, images = idx(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"))
    ml, labels = idx(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"))
    assert mi == 0x803 and ml == 0x801 and images.shape == (10000, 28, 28) and labels.shape == (10000,)
    np.save(os.path.join(OUT, "fmnist_t10k_count.npy"), np.int64(len(labels)))
    np.save(os.path.join(OUT, "fmnist_t10k_labels16.npy"), labels[:16].astype(np.int32))
    np.save(os.path.join(OUT, "fmnist_t10k_pixel_sums.npy"),
            images[:2].reshape(2, -1).astype(np.int64).sum(axis=1))

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    labels10 = np.array([3, 0, 9], dtype=np.uint8)
    with open(os.path.join(OUT, "cifar10.bin"), "wb") as f:
        for i in range(3):
            f.write(bytes([labels10[i]]) + pixels[i].tobytes())
    images = (pixels.reshape(3, 3, 32, 32).astype(np.float32) / np.float32(255))
    np.save(os.path.join(OUT, "cifar10_images.npy"), images)
    np.save(os.path.join(OUT, "cifar10_labels.npy"), labels10.astype(np.int32))

    coarse = np.array([19, 4, 0], dtype=np.uint8)
    fine = np.array([99, 42, 7], dtype=np.uint8)
    with open(os.path.join(OUT, "cifar100.bin"), "wb") as f:
        for i in range(3):
            f.write(bytes([coarse[i], fine[i]]) + pixels[i].tobytes())
    np.save(os.path.join(OUT, "cifar100_images.npy"), images)
    np.save(os.path.join(OUT, "cifar100_coarse.npy"), coarse.astype(np.int32))
    np.save(os.path.join(OUT, "cifar100_fine.npy"), fine.astype(np.int32))
    print("wrote", sorted(os.listdir(OUT)))
    print("labels16", labels[:16].tolist())


if __name__ == "__main__":
    main()
