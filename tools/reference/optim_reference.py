#!/usr/bin/python3
"""Golden values for stablerep-core's optimiser package, from PyTorch's own optimiser.

Runs torch.optim.AdamW (single-tensor path, foreach=False) on a few small seeded float32
parameters split into two groups the way StableRep's util/misc.py add_weight_decay does
(weight decay 0.1 for matrices, 0 for biases and 1-D/0-D parameters). Before each step:

  * the learning rate is set per iteration from the half-cycle cosine with linear warm-up,
    evaluated on fractional epochs (iteration / steps_per_epoch), as the reference's
    adjust_learning_rate does;
  * the gradients (seeded, with per-step scales so that some steps are clipped and some are
    not) are clipped with torch.nn.utils.clip_grad_norm_.

One parameter gets gradients of order 1e-8 so that where eps enters the update matters: torch
adds eps to sqrt(v)/sqrt(1 - beta2^t), while e.g. ND4J's Adam adds it to sqrt(v).

Writes, under stablerep-core/src/test/resources/golden/optim/:
  init_<name>.npy     parameters before the first step
  grads_<name>.npy    [steps, *shape] raw gradients (before clipping)
  params_<name>.npy   [steps, *shape] parameters after each step
  exp_avg_<name>.npy, exp_avg_sq_<name>.npy   optimiser state after the last step
  lr.npy, clip_norm.npy   [steps] float64: the lr used at each step, clip_grad_norm_'s return
  config.npy          [base_lr, min_lr, warmup_epochs, epochs, steps_per_epoch, beta1, beta2,
                       eps, weight_decay, max_norm] float64

Run from the repository root:  /usr/bin/python3 tools/reference/optim_reference.py
Requires Debian's python3-torch (1.13) and python3-numpy.
"""
import math
import os
import shutil

import numpy as np
import torch

OUT = os.path.join("stablerep-core", "src", "test", "resources", "golden", "optim")

BASE_LR = 0.01
MIN_LR = 0.001
STEPS_PER_EPOCH = 4
WARMUP_EPOCHS = 0.75   # 3 iterations: fractional, like the paper's 0.5-epoch warm-up
EPOCHS = 3             # 12 iterations
BETAS = (0.9, 0.98)
EPS = 1e-8
WEIGHT_DECAY = 0.1
MAX_NORM = 1.0

# name -> (shape, decayed?). "proj.bias" is 2-D and is excluded by its name only;
# "norm.weight" and "logit_scale" by their rank; "tiny" has gradients of order 1e-8.
PARAMS = {
    "fc1.weight": ((4, 3), True),
    "fc1.bias": ((4,), False),
    "fc2.weight": ((2, 4), True),
    "proj.bias": ((1, 3), False),
    "norm.weight": ((2,), False),
    "logit_scale": ((), False),
    "tiny": ((3,), False),
}

# gradient scale per step: steps with a large scale are clipped, small ones are not
GRAD_SCALES = [0.05, 2.0, 0.3, 5.0, 0.01, 1.0, 0.2, 3.0, 0.05, 0.5, 10.0, 0.1]


def warmup_cosine(epoch):
    """lr at a fractional epoch: linear warm-up to BASE_LR, then half-cycle cosine to MIN_LR."""
    if epoch < WARMUP_EPOCHS:
        return BASE_LR * epoch / WARMUP_EPOCHS
    progress = (epoch - WARMUP_EPOCHS) / (EPOCHS - WARMUP_EPOCHS)
    return MIN_LR + (BASE_LR - MIN_LR) * 0.5 * (1.0 + math.cos(math.pi * progress))


def main():
    steps = EPOCHS * STEPS_PER_EPOCH
    assert len(GRAD_SCALES) == steps
    gen = torch.Generator().manual_seed(20231101)
    params = {n: torch.randn(shape, generator=gen, dtype=torch.float32) for n, (shape, _) in PARAMS.items()}
    grads = {n: [] for n in PARAMS}
    for k in range(steps):
        for n, (shape, _) in PARAMS.items():
            g = torch.randn(shape, generator=gen, dtype=torch.float32) * GRAD_SCALES[k]
            if n == "tiny":
                g = g * 1e-7
            grads[n].append(g)

    init = {n: p.detach().clone() for n, p in params.items()}
    tensors = {n: torch.nn.Parameter(p) for n, p in params.items()}
    decay = [tensors[n] for n, (_, d) in PARAMS.items() if d]
    no_decay = [tensors[n] for n, (_, d) in PARAMS.items() if not d]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
        lr=BASE_LR, betas=BETAS, eps=EPS, foreach=False)

    lrs, clip_norms = [], []
    after = {n: [] for n in PARAMS}
    for k in range(steps):
        epoch = k // STEPS_PER_EPOCH
        lr = warmup_cosine((k % STEPS_PER_EPOCH) / STEPS_PER_EPOCH + epoch)
        for group in opt.param_groups:
            group["lr"] = lr
        for n, t in tensors.items():
            t.grad = grads[n][k].clone()
        norm = torch.nn.utils.clip_grad_norm_(list(tensors.values()), MAX_NORM)
        opt.step()
        lrs.append(lr)
        clip_norms.append(float(norm))
        for n, t in tensors.items():
            after[n].append(t.detach().clone())

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    def save(name, array):
        np.save(os.path.join(OUT, name + ".npy"), array)

    for n, t in tensors.items():
        save("init_" + n, init[n].numpy())
        save("grads_" + n, torch.stack(grads[n]).numpy())
        save("params_" + n, torch.stack(after[n]).numpy())
        state = opt.state[t]
        save("exp_avg_" + n, state["exp_avg"].numpy())
        save("exp_avg_sq_" + n, state["exp_avg_sq"].numpy())
        assert int(state["step"]) == steps
    save("lr", np.array(lrs, dtype=np.float64))
    save("clip_norm", np.array(clip_norms, dtype=np.float64))
    save("config", np.array([BASE_LR, MIN_LR, WARMUP_EPOCHS, EPOCHS, STEPS_PER_EPOCH, BETAS[0], BETAS[1],
                             EPS, WEIGHT_DECAY, MAX_NORM], dtype=np.float64))
    clipped = sum(1 for c in clip_norms if c > MAX_NORM)
    print(f"wrote {OUT}: {steps} steps, {clipped} clipped, lr {min(lrs):.3g}..{max(lrs):.3g}")


if __name__ == "__main__":
    main()
