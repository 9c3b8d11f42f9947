#!/usr/bin/python3
"""Golden values for VisionTransformer's position-embedding resampling, from PyTorch.

Follows timm's resample_abs_pos_embed (timm/layers/pos_embed.py) for a ViT with one class
token: the class token's embedding is kept, the grid part [1, gh*gw, D] is reshaped to
[1, D, gh, gw], resized with

    F.interpolate(grid, size=(new_h, new_w), mode='bicubic', align_corners=False, antialias=False)

and flattened back to [1, new_h*new_w, D] after the class token. Computed in float64, so that
the Java side (which also computes in double) must agree to rounding.

Writes, under stablerep-models/src/test/resources/golden/vit/posembed/:
  pos_embed.npy           [1, 1 + 4*4, D] the source (random normal), grid 4x4
  resampled_<h>x<w>.npy   [1, 1 + h*w, D] for 6x6, 3x5 and 2x2 (downsampling)

Run from the repository root:  /usr/bin/python3 tools/reference/posembed_reference.py
Requires Debian's python3-torch (1.13) and python3-numpy.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = "stablerep-models/src/test/resources/golden/vit/posembed"
GRID = (4, 4)
DIM = 5
TARGETS = [(6, 6), (3, 5), (2, 2)]


def resample(pos_embed, old, new):
    cls, grid = pos_embed[:, :1], pos_embed[:, 1:]
    d = grid.shape[-1]
    grid = grid.reshape(1, old[0], old[1], d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new, mode="bicubic", align_corners=False, antialias=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new[0] * new[1], d)
    return torch.cat([cls, grid], dim=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20261129)
    pos = torch.randn(1, 1 + GRID[0] * GRID[1], DIM, generator=g, dtype=torch.float64)
    np.save(os.path.join(OUT, "pos_embed.npy"), pos.numpy())
    for h, w in TARGETS:
        r = resample(pos, GRID, (h, w))
        np.save(os.path.join(OUT, "resampled_%dx%d.npy" % (h, w)), r.numpy())
        print("%dx%d" % (h, w), tuple(r.shape))


if __name__ == "__main__":
    main()
