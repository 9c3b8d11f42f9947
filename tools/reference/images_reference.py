#!/usr/bin/python3
"""Goldens for io.github.stablerep.augment.Images: small files in each format and mode, written
by PIL, with PIL's own decode after convert("RGB") as the expected pixels.

The source is a real photograph shipped with scikit-learn (china.jpg), reduced with PIL to
32x24 (W x H). For each file NAME.EXT the script writes NAME.npy: uint8 [3,H,W], which is
PIL's Image.open(file).convert("RGB") transposed to CHW. Java reads the file with Images.read
and compares x * 255 with it.

Modes covered: RGB/RGBA/L/LA/P/16-bit-grey PNG, a 16x16 grey ramp of all 256 levels (L PNG), baseline and progressive JPEG (4:2:0), grey
JPEG, BMP (24-bit), GIF (palette), TIFF (RGB, uncompressed).

Also writes write_input.npy (float32 [3,H,W]) and write_expected.npy: torchvision's
to_pil_image(tensor) pixels, i.e. (x * 255).byte(), which truncates towards zero.

Run: /usr/bin/python3 tools/reference/images_reference.py
"""
import os

import numpy as np
import PIL
import torch
import torchvision.transforms.functional as F
from PIL import Image
from sklearn.datasets import load_sample_image

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "stablerep-augment", "src", "test",
                   "resources", "golden", "images")
os.makedirs(OUT, exist_ok=True)

W, H = 32, 24
rgb = Image.fromarray(load_sample_image("china.jpg")).resize((W, H), Image.BICUBIC)
arr = np.asarray(rgb)


def save(name, ext, img, **kw):
    path = os.path.join(OUT, name + "." + ext)
    img.save(path, **kw)
    decoded = np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1)
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(decoded.astype(np.uint8)))
    print(name, ext, Image.open(path).mode, decoded.shape)


alpha = Image.fromarray(((np.arange(H * W).reshape(H, W) * 7) % 256).astype(np.uint8))
rgba = rgb.copy()
rgba.putalpha(alpha)
grey = rgb.convert("L")
la = grey.copy()
la.putalpha(alpha)

save("rgb_png", "png", rgb)
save("rgba_png", "png", rgba)
save("l_png", "png", grey)
# Every grey level once: catches decoders that lose dark levels (sRGB <-> linear round trips).
save("ramp_l_png", "png", Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16)))
save("la_png", "png", la)
save("p_png", "png", rgb.convert("P", palette=Image.ADAPTIVE, colors=64))
# 16-bit grey (v = g * 257): PIL 9.4 opens it as mode I and convert("RGB") clips to 255, so
# almost every pixel turns white. Images.read scales by the bit depth instead (a documented
# deviation), so the expected pixels here are the 8-bit source g, not PIL's clipped answer.
g16 = Image.fromarray((np.asarray(grey).astype(np.uint16) * 257), mode="I;16")
save("l16_png", "png", g16)
np.save(os.path.join(OUT, "l16_png.npy"),
        np.ascontiguousarray(np.asarray(grey.convert("RGB")).transpose(2, 0, 1).astype(np.uint8)))
save("baseline_jpg", "jpg", rgb, quality=90)
save("progressive_jpg", "jpg", rgb, quality=90, progressive=True)
save("grey_jpg", "jpg", grey, quality=90)
save("rgb_bmp", "bmp", rgb)
save("p_gif", "gif", rgb.convert("P", palette=Image.ADAPTIVE, colors=64))
save("rgb_tif", "tif", rgb)

rng = np.random.default_rng(0)
x = rng.random((3, H, W), dtype=np.float32)
x[0, 0, :4] = [0.0, 1.0, 0.5, 254.9999 / 255]
np.save(os.path.join(OUT, "write_input.npy"), x)
expected = np.asarray(F.to_pil_image(torch.from_numpy(x))).transpose(2, 0, 1)
np.save(os.path.join(OUT, "write_expected.npy"), np.ascontiguousarray(expected.astype(np.uint8)))
print("PIL", PIL.__version__)
