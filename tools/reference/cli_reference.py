#!/usr/bin/python3
"""Golden files for the command line's `export` and `embed` (examples' StableRepCliGoldenTest).

A small torchvision VisionTransformer (built and perturbed by vit_reference.build, so no part is
trivial) stands for a trained encoder. From its weights this script writes:

  checkpoint.safetensors  a stablerep4j training checkpoint (TrainingCheckpoint's file format:
                          tensors model/<name> in the library's own layouts, Linear weights
                          [in, out] and the patch convolution [kH, kW, in, out] (YXIO); metadata
                          format, step, epoch, rng_seed, user.vit.heads), plus a projection-head
                          tensor that `export` must leave out
  timm.safetensors        the same encoder as PyTorch holds it, under timm's keys: what `export`
                          must write, tensor for tensor
  images/*.png            four 16x16 RGB images
  features.npy            [4, D] float64: the class token after the final LayerNorm for those
                          images, read as PIL does, scaled to [0, 1] and normalised with ImageNet's
                          mean and std (the evaluation transform with resize 16 and crop 16 is the
                          identity on 16x16 images), computed by torchvision in float64

safetensors is written by hand with struct + json (the package is not in Debian).

Run from the repository root:  /usr/bin/python3 tools/reference/cli_reference.py
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_reference import build, features, timm_key, write_safetensors  # noqa: E402

OUT = os.path.join("examples", "src", "test", "resources", "golden", "cli")
SIZE, PATCH, WIDTH, DEPTH, HEADS, MLP = 16, 8, 16, 2, 2, 64
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def library_layout(key, a):
    """timm/PyTorch layout -> stablerep4j's VisionTransformer variables (see VitWeights)."""
    if key == "patch_embed.proj.weight":
        return a.transpose(2, 3, 1, 0)  # [out, in, kH, kW] -> [kH, kW, in, out]
    if a.ndim == 2:
        return a.T  # Linear [out, in] -> [in, out]
    return a


def main():
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    model = build(300, SIZE, SIZE, PATCH, WIDTH, DEPTH, HEADS, MLP)
    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items() if not k.startswith("heads.")}
    timm = {timm_key(k): v for k, v in state.items()}
    write_safetensors(os.path.join(OUT, "timm.safetensors"), timm, {"format": "pt"})

    rng = np.random.default_rng(301)
    ckpt = {"model/vit." + k: library_layout(k, v) for k, v in timm.items()}
    ckpt["model/image_mlp.0.weight"] = rng.standard_normal((WIDTH, 32)).astype(np.float32)
    write_safetensors(os.path.join(OUT, "checkpoint.safetensors"), ckpt, {
        "format": "stablerep4j-training-checkpoint/1", "step": "7", "epoch": "1", "rng_seed": "5",
        "user.vit.heads": str(HEADS)})

    pixels = []
    for i in range(4):
        a = rng.integers(0, 256, size=(SIZE, SIZE, 3), dtype=np.uint8)
        path = os.path.join(OUT, "images", "%d.png" % i)
        Image.fromarray(a, "RGB").save(path)
        back = np.asarray(Image.open(path).convert("RGB"))
        assert (back == a).all()
        pixels.append(back)
    x = (np.stack(pixels).astype(np.float64) / 255.0 - MEAN) / STD
    x = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    feats = features(model, x, True).numpy()
    np.save(os.path.join(OUT, "features.npy"), feats)
    print("features", feats.shape, "std %.3f" % feats.std(), "first", feats[0, :4])


if __name__ == "__main__":
    main()
