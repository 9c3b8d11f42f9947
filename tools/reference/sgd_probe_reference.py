#!/usr/bin/python3
"""Golden values for stablerep-eval's SgdProbe, from PyTorch 1.13's torch.optim.SGD.

The reference protocol is StableRep's main_linear.py (google-research/syn-rep-learn): one
nn.Linear(d, K) per base learning rate, optionally behind BatchNorm1d(d, affine=False,
eps=1e-6); lr = blr * batch / 256 per parameter group; the summed per-head mean cross-entropy;
SGD(momentum 0.9, weight_decay wd); CosineAnnealingLR(T_max = epochs * (n // batch), eta_min 0)
stepped after every optimiser step; drop_last batches in a per-epoch order. This script builds
that with torch modules in float64 and runs it on data, initial weights and batch orders it
draws itself (numpy, seeded) and hands to the Java test, so both sides see the same inputs.

Data: n = 300 training rows, d = 20, K = 5 Gaussian blobs (centres N(0, 1), noise 1.0, an
offset of 3 on every feature and per-feature scales in [0.5, 2], so batch norm has work to do),
200 validation rows from the same blobs. Batch 32 (9 steps per epoch, 12 rows dropped), 4
epochs, StableRep's ten base rates (lr = blr * 32 / 256, up to 0.0625).

Cases (one sub-folder each under stablerep-eval/src/test/resources/golden/sgd/):
  plain: weight decay 0, no batch norm (the reference's defaults)
  bn_wd: weight decay 5e-4, batch norm
Per case:
  epoch_loss.npy [H, E]   mean over the epoch's steps of each head's batch cross-entropy
  weight.npy [H, K, d], bias.npy [H, K]   after the last step
  val_top1.npy [H]        each head's top-1 on the validation rows (eval mode)
  running_mean.npy, running_var.npy [d]   (bn_wd only) the BatchNorm running statistics
Shared: train_x.npy [300, 20], train_y.npy [300] int32, val_x.npy, val_y.npy,
  init_w.npy [H, K, d] (N(0, 0.01^2)), order.npy [E, 300] int32 (per-epoch permutations),
  base_lrs.npy [H].

Run from the repository root:  /usr/bin/python3 tools/reference/sgd_probe_reference.py
"""
import os

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join("stablerep-eval", "src", "test", "resources", "golden", "sgd")
BASE_LRS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
N, N_VAL, D, K, BATCH, EPOCHS = 300, 200, 20, 5, 32, 4


def blobs(rng, centres, scale, n):
    y = rng.integers(0, K, size=n)
    x = (centres[y] + rng.normal(size=(n, D))) * scale + 3.0
    return x, y.astype(np.int32)


def run(x, y, vx, vy, init_w, order, wd, use_bn):
    heads = nn.ModuleList()
    groups = []
    for h, blr in enumerate(BASE_LRS):
        lin = nn.Linear(D, K).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(init_w[h]))
            lin.bias.zero_()
        head = nn.Sequential(nn.BatchNorm1d(D, affine=False, eps=1e-6).double(), lin) if use_bn else lin
        heads.append(head)
        groups.append({"params": head.parameters(), "lr": blr * BATCH / 256})
    opt = torch.optim.SGD(groups, lr=0.0, momentum=0.9, weight_decay=wd)
    steps = N // BATCH
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS * steps, eta_min=0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    losses = np.zeros((len(BASE_LRS), EPOCHS))
    heads.train()
    for e in range(EPOCHS):
        for b in range(steps):
            idx = torch.from_numpy(order[e, b * BATCH:(b + 1) * BATCH].astype(np.int64))
            xb, yb = xt[idx], yt[idx]
            per_head = [nn.CrossEntropyLoss()(head(xb), yb) for head in heads]
            opt.zero_grad()
            sum(per_head).backward()
            opt.step()
            sched.step()
            for h, l in enumerate(per_head):
                losses[h, e] += l.item() / steps
    heads.eval()
    with torch.no_grad():
        vt = torch.from_numpy(vx)
        top1 = np.array([(head(vt).argmax(1).numpy() == vy).mean() for head in heads])
    lin = [head[1] if use_bn else head for head in heads]
    out = {
        "epoch_loss": losses,
        "weight": np.stack([l.weight.detach().numpy() for l in lin]),
        "bias": np.stack([l.bias.detach().numpy() for l in lin]),
        "val_top1": top1,
    }
    if use_bn:
        out["running_mean"] = heads[0][0].running_mean.numpy().copy()
        out["running_var"] = heads[0][0].running_var.numpy().copy()
    return out


def main():
    assert torch.__version__.startswith("1.13"), torch.__version__
    rng = np.random.default_rng(20231129)
    centres = rng.normal(size=(K, D))
    scale = rng.uniform(0.5, 2.0, size=D)
    x, y = blobs(rng, centres, scale, N)
    vx, vy = blobs(rng, centres, scale, N_VAL)
    init_w = rng.normal(scale=0.01, size=(len(BASE_LRS), K, D))
    order = np.stack([rng.permutation(N) for _ in range(EPOCHS)]).astype(np.int32)
    os.makedirs(OUT, exist_ok=True)
    save = lambda name, a: np.save(os.path.join(OUT, name + ".npy"), a)
    save("train_x", x)
    save("train_y", y)
    save("val_x", vx)
    save("val_y", vy)
    save("init_w", init_w)
    save("order", order)
    save("base_lrs", np.array(BASE_LRS))
    for case, wd, bn in [("plain", 0.0, False), ("bn_wd", 5e-4, True)]:
        res = run(x, y, vx, vy, init_w, order, wd, bn)
        os.makedirs(os.path.join(OUT, case), exist_ok=True)
        for k, v in res.items():
            np.save(os.path.join(OUT, case, k + ".npy"), v)
        print(case, "last-epoch losses", np.round(res["epoch_loss"][:, -1], 4),
              "val top1", res["val_top1"])


if __name__ == "__main__":
    main()
