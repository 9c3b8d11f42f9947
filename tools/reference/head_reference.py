#!/usr/bin/python3
"""Golden values for stablerep-models' ProjectionHead, from PyTorch modules.

Builds StableRep's projection head (models/StableRep.py, VisionEncoder.image_mlp):

    layer1 Linear(D, H), bn1 BatchNorm(H), ReLU, layer2 Linear(H, H), bn2 BatchNorm(H), ReLU,
    layer3 Linear(H, E)

in float64 (so the only error left on the Java side is its own fp32 rounding). The reference
uses nn.SyncBatchNorm; in one process that is nn.BatchNorm1d, used here. Weights are seeded:
Linear layers keep torch's default init (what the reference uses for the head: no custom init
is applied to image_mlp), BN affine parameters and running statistics are randomised so that
every term is exercised.

Train mode is run the way the reference runs it: the batch is split into view chunks along
rows and the MLP is applied to each chunk separately (so BN statistics are per chunk, and the
running statistics are updated once per chunk, in chunk order).

Writes, under stablerep-models/src/test/resources/golden/head/:
  config.npy            [D, H, E, chunks, rows_per_chunk, eps, momentum] float64
  x.npy                 [N, D] input (N = chunks * rows_per_chunk)
  r.npy                 [N, E] fixed random matrix; the scalar is sum(train_out * r)
  init_<key>.npy        the state_dict before the forward (torch key names, Linear [out, in])
  train_out.npy         [N, E] train-mode output
  grad_x.npy            d scalar / d x
  grad_<key>.npy        d scalar / d parameter, for every learnable parameter
  after_<key>.npy       running_mean / running_var / num_batches_tracked after the forward
  eval_out.npy          [N, E] eval-mode output of x, with the updated running statistics

Run from the repository root:  /usr/bin/python3 tools/reference/head_reference.py
Requires Debian's python3-torch (1.13) and python3-numpy.
"""
import os
import shutil
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join("stablerep-models", "src", "test", "resources", "golden", "head")
D, H, E = 8, 16, 5
CHUNKS, ROWS = 3, 4
EPS, MOMENTUM = 1e-5, 0.1


def build():
    return nn.Sequential(OrderedDict([
        ("layer1", nn.Linear(D, H)),
        ("bn1", nn.BatchNorm1d(H, eps=EPS, momentum=MOMENTUM)),
        ("relu1", nn.ReLU(inplace=True)),
        ("layer2", nn.Linear(H, H)),
        ("bn2", nn.BatchNorm1d(H, eps=EPS, momentum=MOMENTUM)),
        ("relu2", nn.ReLU(inplace=True)),
        ("layer3", nn.Linear(H, E)),
    ]))


def main():
    torch.manual_seed(1234)
    mlp = build().double()
    with torch.no_grad():
        for bn in (mlp.bn1, mlp.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.2)
            bn.running_mean.normal_(0.0, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(CHUNKS * ROWS, D, dtype=torch.float64) * 1.5 + 0.3
    r = torch.randn(CHUNKS * ROWS, E, dtype=torch.float64)

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    def save(name, t):
        np.save(os.path.join(OUT, name + ".npy"), t.detach().numpy())

    save("config", torch.tensor([D, H, E, CHUNKS, ROWS, EPS, MOMENTUM], dtype=torch.float64))
    save("x", x)
    save("r", r)
    for k, v in mlp.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            save("init_" + k, v)

    # train mode, chunk-wise as VisionEncoder.forward does
    mlp.train()
    xg = x.clone().requires_grad_(True)
    out = torch.cat([mlp(c) for c in torch.split(xg, ROWS, dim=0)], dim=0)
    loss = (out * r).sum()
    loss.backward()
    save("train_out", out)
    save("grad_x", xg.grad)
    for k, p in mlp.named_parameters():
        save("grad_" + k, p.grad)
    for k, v in mlp.state_dict().items():
        if "running" in k or "num_batches" in k:
            save("after_" + k, v.double())

    mlp.eval()
    with torch.no_grad():
        save("eval_out", mlp(x))
    print("wrote", OUT, "loss", loss.item())


if __name__ == "__main__":
    main()
