#!/usr/bin/python3
"""Time StableRep's strong augmentation as the official code runs it: torchvision 0.14 transforms
on PIL images inside a torch DataLoader with worker processes (google-research/syn-rep-learn,
StableRep/main_stablerep.py and dataset/util.py):

    RandomResizedCrop(224, scale=(0.08, 1.))                   # PIL bilinear
    RandomApply([ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8)      # PIL ImageEnhance + HSV hue
    RandomGrayscale(p=0.2)
    RandomApply([GaussianBlur([.1, 2.])], p=0.5)               # PIL ImageFilter.GaussianBlur(sigma)
    RandomHorizontalFlip()
    ToTensor()
    Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])

The dataset's __getitem__ applies this to one image and the DataLoader (batch_size 64,
shuffle, drop_last) collates the results into [64, 3, 224, 224] float batches, one batch per
worker at a time, as the reference's loader does (pin_memory is dropped: there is no GPU).

Two modes:
  --mode memory  (default) the 64 images are decoded once, before the workers fork; a worker
                 only augments. This is what AugmentBenchmark.apply measures in Java.
  --mode decode  every __getitem__ opens the PNG and converts it to RGB, as SupconDataset does
                 (AugmentBenchmark.readAndApply).

The dataset is the 64 images repeated (index i -> image i % 64) so that every worker gets
batches; images/s = 64 x batches / wall time of the timed batches, after warm-up batches that
also absorb the workers' start-up.

Images: --make-images DIR writes the benchmark's 64 photographs, 256x256 RGB PNGs cut at seeded
random positions and scales from the real photographs Debian ships with scikit-learn
(china.jpg, flower.jpg) and matplotlib (grace_hopper.jpg), resized with PIL's bicubic filter.

Usage:
    /usr/bin/python3 benchmarks/compare/augment.py --make-images benchmarks/target/augment-images
    /usr/bin/python3 benchmarks/compare/augment.py --images benchmarks/target/augment-images \
        [--workers 2] [--batches 40] [--warmup 6] [--mode memory|decode] [--json out.json]
"""
import argparse
import glob
import json
import os
import platform
import random
import statistics
import time

import numpy as np
import torch
import torchvision
import torchvision.transforms as transforms
from PIL import Image, ImageFilter

SOURCES = [
    "/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg",
    "/usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg",
    "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg",
]
BATCH = 64
SIDE = 256


def make_images(out_dir, count=BATCH, seed=20261129):
    os.makedirs(out_dir, exist_ok=True)
    rnd = random.Random(seed)
    photos = [Image.open(p).convert("RGB") for p in SOURCES]
    for i in range(count):
        photo = photos[i % len(photos)]
        w, h = photo.size
        side = rnd.randint(min(w, h) // 2, min(w, h))
        left = rnd.randint(0, w - side)
        top = rnd.randint(0, h - side)
        tile = photo.crop((left, top, left + side, top + side)).resize((SIDE, SIDE), Image.BICUBIC)
        tile.save(os.path.join(out_dir, "img%02d.png" % i))
    print("wrote %d images of %dx%d to %s" % (count, SIDE, SIDE, out_dir))


class GaussianBlur:
    """StableRep's dataset/util.py GaussianBlur: PIL blur with radius ~ U[sigma0, sigma1]."""

    def __init__(self, sigma=(0.1, 2.0)):
        self.sigma = sigma

    def __call__(self, x):
        return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(self.sigma[0], self.sigma[1])))


def stablerep_transform():
    return transforms.Compose([
        transforms.RandomResizedCrop(224, scale=(0.08, 1.)),
        transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        transforms.RandomGrayscale(p=0.2),
        transforms.RandomApply([GaussianBlur([.1, 2.])], p=0.5),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])


class Repeated(torch.utils.data.Dataset):
    def __init__(self, paths, length, decode, transform):
        self.paths = paths
        self.length = length
        self.decode = decode
        self.transform = transform
        self.images = None if decode else [Image.open(p).convert("RGB") for p in paths]

    def __len__(self):
        return self.length

    def __getitem__(self, idx):
        k = idx % len(self.paths)
        img = Image.open(self.paths[k]).convert("RGB") if self.decode else self.images[k]
        return self.transform(img), idx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-images")
    ap.add_argument("--images", default="benchmarks/target/augment-images")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=6)
    ap.add_argument("--mode", choices=["memory", "decode"], default="memory")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.make_images:
        make_images(args.make_images)
        return
    paths = sorted(glob.glob(os.path.join(args.images, "*.png")))
    assert len(paths) == BATCH, "expected %d PNGs in %s, found %d (run --make-images)" % (
        BATCH, args.images, len(paths))
    torch.manual_seed(0)
    random.seed(0)
    total = args.warmup + args.batches
    ds = Repeated(paths, BATCH * total, args.mode == "decode", stablerep_transform())
    loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True,
                                         num_workers=args.workers, drop_last=True)
    stamps = []
    shape = None
    for k, (x, _) in enumerate(loader):
        stamps.append(time.perf_counter())
        shape = tuple(x.shape)
    assert len(stamps) == total and shape == (BATCH, 3, 224, 224), (len(stamps), shape)
    timed = stamps[args.warmup:]
    wall = timed[-1] - stamps[args.warmup - 1]
    per_batch = [b - a for a, b in zip(stamps[args.warmup - 1:], timed)]
    ips = BATCH * args.batches / wall
    result = {
        "mode": args.mode, "workers": args.workers, "batches": args.batches, "warmup": args.warmup,
        "images_per_s": ips, "wall_s": wall,
        "batch_interval_ms_median": 1e3 * statistics.median(per_batch),
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "pil": Image.__version__, "python": platform.python_version(),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
