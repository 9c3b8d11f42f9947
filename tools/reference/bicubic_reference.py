#!/usr/bin/python3
"""Goldens for io.github.stablerep.augment.BicubicResize and the BICUBIC EvalPreprocessing.

Inputs are two real photographs shipped with scikit-learn (china.jpg, flower.jpg), reduced with
PIL and stored as uint8 so the Java side sees exactly the same pixels (x / 255 in float32).

stablerep-augment/src/test/resources/golden/augment/:
- bicubic_input [2,3,48,64] uint8.
- bicubic_sizes [K,2] int32: output (H, W) pairs; downscales by integer and non-integer
  factors, upscales, one axis up and the other down, and the identity.
- bicubic_aa_<k> / bicubic_plain_<k> float32: torchvision 0.14
  F.resize(x, size, InterpolationMode.BICUBIC, antialias=True / False) on the float batch,
  i.e. torch._C._nn._upsample_bicubic2d_aa and F.interpolate(mode="bicubic",
  align_corners=False). No clamping (torchvision clamps only uint8 tensors).

stablerep-eval/src/test/resources/golden/preprocess/:
- eval_input_<k> [3,H,W] uint8 (one landscape, one portrait photograph).
- eval_bicubic_<k> float32: Resize(72, BICUBIC, antialias=True), CenterCrop(64),
  Normalize(ImageNet mean/std) applied to the float tensor x / 255.

Run: /usr/bin/python3 tools/reference/bicubic_reference.py
"""
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image
from sklearn.datasets import load_sample_image

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
AUG = os.path.join(ROOT, "stablerep-augment", "src", "test", "resources", "golden", "augment")
EVAL = os.path.join(ROOT, "stablerep-eval", "src", "test", "resources", "golden", "preprocess")
os.makedirs(AUG, exist_ok=True)
os.makedirs(EVAL, exist_ok=True)
assert torchvision.__version__.startswith("0.14"), torchvision.__version__


def save(d, name, array):
    np.save(os.path.join(d, name + ".npy"), np.ascontiguousarray(array))


def photo(name, size_hw):
    pil = Image.fromarray(load_sample_image(name)).resize((size_hw[1], size_hw[0]), Image.BICUBIC)
    return np.asarray(pil).transpose(2, 0, 1).astype(np.uint8)


x_u8 = np.stack([photo("china.jpg", (48, 64)), photo("flower.jpg", (48, 64))])
save(AUG, "bicubic_input", x_u8)
x = torch.from_numpy(x_u8).float() / 255.0
sizes = np.array([[12, 16], [19, 25], [31, 23], [75, 100], [100, 30], [48, 64], [1, 3]],
                 dtype=np.int32)
save(AUG, "bicubic_sizes", sizes)
for k, (h, w) in enumerate(sizes):
    for aa, tag in ((True, "aa"), (False, "plain")):
        y = F.resize(x, [int(h), int(w)], interpolation=T.InterpolationMode.BICUBIC, antialias=aa)
        assert y.dtype == torch.float32
        save(AUG, "bicubic_%s_%d" % (tag, k), y.numpy())
        print("bicubic %-5s %3dx%-3d range [%.4f, %.4f]" % (tag, h, w, y.min(), y.max()))

mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
tf = T.Compose([T.Resize(72, interpolation=T.InterpolationMode.BICUBIC, antialias=True),
                T.CenterCrop(64), T.Normalize(mean, std)])
for k, (name, hw) in enumerate((("china.jpg", (90, 131)), ("flower.jpg", (117, 85)))):
    img = photo(name, hw)
    save(EVAL, "eval_input_%d" % k, img)
    y = tf(torch.from_numpy(img).float() / 255.0)
    save(EVAL, "eval_bicubic_%d" % k, y.numpy().astype(np.float32))
    print("eval %d %s -> %s" % (k, img.shape, tuple(y.shape)))
