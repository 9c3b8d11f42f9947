#!/usr/bin/python3
"""Goldens for io.github.stablerep.augment.ImageOps: torchvision 0.14 functional ops on tensors.

Inputs are two real photographs shipped with scikit-learn (china.jpg, flower.jpg), reduced with
PIL and stored as uint8 so the Java side sees exactly the same pixels (x / 255 in float32).

- input_large [2,3,96,128] uint8: source of the resized crops.
- input_small [2,3,24,32] uint8: source of every other op; kept small so the float32 outputs
  stay a few hundred KB in total.

Each op is written as one batch whose sample i is image i % 2 with the i-th parameter, which
is also how the Java API takes per-sample parameters. Parameters are stored beside the outputs.

Run: /usr/bin/python3 tools/reference/augment_reference.py
"""
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image, ImageFilter
from sklearn.datasets import load_sample_image

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "stablerep-augment", "src", "test",
                   "resources", "golden", "augment")
os.makedirs(OUT, exist_ok=True)
assert torchvision.__version__.startswith("0.14"), torchvision.__version__


def save(name, array):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(array))


def load(size_hw):
    imgs = []
    for name in ("china.jpg", "flower.jpg"):
        pil = Image.fromarray(load_sample_image(name)).resize((size_hw[1], size_hw[0]), Image.BICUBIC)
        imgs.append(np.asarray(pil).transpose(2, 0, 1))
    return np.stack(imgs).astype(np.uint8)


large_u8 = load((96, 128))
small_u8 = load((24, 32))
save("input_large", large_u8)
save("input_small", small_u8)
large = torch.from_numpy(large_u8).float() / 255.0
small = torch.from_numpy(small_u8).float() / 255.0


def per_sample(src, params, fn):
    return torch.stack([fn(src[i % 2], p) for i, p in enumerate(params)]).numpy().astype(np.float32)


# Colour ops: 0, < 1, 1, > 1 factors.
factors = np.array([0.0, 0.5, 1.0, 1.6, 2.5], dtype=np.float64)
save("factors", factors)
save("brightness", per_sample(small, factors, lambda im, f: F.adjust_brightness(im, float(f))))
save("contrast", per_sample(small, factors, lambda im, f: F.adjust_contrast(im, float(f))))
save("saturation", per_sample(small, factors, lambda im, f: F.adjust_saturation(im, float(f))))
hues = np.array([-0.5, -0.25, 0.0, 0.1, 0.5, -0.03], dtype=np.float64)
save("hues", hues)
save("hue", per_sample(small, hues, lambda im, h: F.adjust_hue(im, float(h))))
save("grayscale1", F.rgb_to_grayscale(small, 1).numpy())
save("grayscale3", F.rgb_to_grayscale(small, 3).numpy())
thresholds = np.array([0.5, 0.0, 1.0, 0.3], dtype=np.float64)
save("thresholds", thresholds)
for k, t in enumerate(thresholds):
    save("solarize_%d" % k, F.solarize(small, float(t)).numpy())
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
save("normalize", F.normalize(small, mean, std).numpy())
# A second parameter set: CLIP's statistics, and a per-channel set with std > 1 and mean < 0.
save("normalize_clip", F.normalize(small, [0.48145466, 0.4578275, 0.40821073],
                                   [0.26862954, 0.26130258, 0.27577711]).numpy())
save("normalize_odd", F.normalize(small, [-0.25, 0.5, 1.0], [2.0, 0.5, 0.125]).numpy())
save("hflip", F.hflip(small).numpy())

# Gaussian blur: kernel 3 / 9 / 23, several sigmas per kernel (one per sample).
sigmas = np.array([0.1, 0.6, 1.0, 2.0], dtype=np.float64)
save("sigmas", sigmas)
for k in (3, 9, 23):
    save("blur_k%d" % k, per_sample(small, sigmas, lambda im, s: F.gaussian_blur(im, [k, k], [float(s), float(s)])))

# Resized crops [top, left, height, width] on the 96x128 input, all to 24x32:
# downscale x3-4, strong downscale, upscale, mixed (down in H, up in W), whole image.
crops = np.array([[0, 0, 96, 128], [10, 20, 80, 100], [40, 50, 12, 16], [5, 90, 60, 20],
                  [30, 7, 24, 32], [1, 2, 95, 7]], dtype=np.int32)
save("crops", crops)
save("resized_crop", np.stack([
    F.resized_crop(large[i % 2], int(t), int(l), int(h), int(w), [24, 32],
                   interpolation=F.InterpolationMode.BILINEAR, antialias=True).numpy()
    for i, (t, l, h, w) in enumerate(crops)]).astype(np.float32))

# PIL's GaussianBlur (the official StableRep code's GaussianBlur) against torchvision's
# tensor blur on the same 96x128 photographs, kernel 23, same sigma. PIL's radius is sigma;
# it works on uint8 with an extended box-blur approximation and a kernel size of its own choosing.
diffs = []
for s in (0.1, 0.5, 1.0, 2.0):
    for i in range(2):
        pil = Image.fromarray(large_u8[i].transpose(1, 2, 0)).filter(ImageFilter.GaussianBlur(radius=s))
        pil_t = torch.from_numpy(np.asarray(pil).transpose(2, 0, 1).copy()).float() / 255.0
        tv = F.gaussian_blur(large[i], [23, 23], [s, s])
        d = (pil_t - tv).abs()
        inner = d[:, 11:-11, 11:-11]  # away from the borders, where the paddings differ
        diffs.append((s, i, d.max().item(), d.mean().item(), inner.max().item()))
for s, i, mx, mn, imx in diffs:
    print("PIL vs torchvision blur sigma=%.1f image=%d: max %.4f (%.1f/255) mean %.5f, interior max %.1f/255"
          % (s, i, mx, mx * 255, mn, imx * 255))
print("overall max", max(d[2] for d in diffs), "=", max(d[2] for d in diffs) * 255, "/255")
total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
print("golden bytes", total)
