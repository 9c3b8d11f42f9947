#!/usr/bin/python3
"""Time torchvision's ViT (random init, no download) at batch 16, 224x224, fp32, on the CPU.

The PyTorch side of benchmarks/.../VitBenchmark.java:

  forward : model.eval(), torch.no_grad(), the class token after the final LayerNorm
            (torchvision's classification head replaced by nn.Identity)
  train   : model.train() (dropout 0, as torchvision's default), forward, StableRep's
            multi-positive loss (tau 0.1) on the class token with caption ids [0..7, 0..7],
            backward, torch.optim.AdamW(betas (0.9, 0.98), wd 0.1; no decay on 1-D parameters,
            i.e. biases and LayerNorm), zero_grad(set_to_none=True)

Models: vit_b_16 (torchvision.models.vit_b_16), vit_s_16 (torchvision VisionTransformer with
DeiT-S/timm S_16 dims: width 384, depth 12, heads 6, MLP 1536; torchvision 0.14 has no preset).

Reports per phase: median, p10, p90 seconds per batch, images/s, achieved GFLOP/s from the FLOP
count given (2 x MACs per image forward; training = 3 x forward), and the process max RSS
(ru_maxrss) after the phase (monotonic: the train RSS includes the forward phase's peak).

Usage:
    /usr/bin/python3 benchmarks/compare/vit.py [--model vit_b_16] [--threads 2] [--batch 16]
        [--warmup 2] [--iters 7] [--train-iters 5] [--phase both|forward|train] [--json out.json]
"""
import argparse
import json
import platform
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.vision_transformer import VisionTransformer

# forward GFLOPs per 224x224 image, 2 x MACs (fvcore-style MAC count x 2: conv, linear and the
# two attention matmuls; norms, softmax, GELU not counted). See benchmarks/README.md.
GFLOP_PER_IMAGE = {"vit_b_16": 35.1, "vit_s_16": 9.2}


def build(name):
    torch.manual_seed(0)
    if name == "vit_b_16":
        m = torchvision.models.vit_b_16(weights=None)
    elif name == "vit_s_16":
        m = VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=6,
                              hidden_dim=384, mlp_dim=1536)
    else:
        raise SystemExit("unknown model " + name)
    m.heads = nn.Identity()  # class token after encoder.ln
    return m


def multi_pos_con_loss(x, caption_ids, tau):
    n = x.shape[0]
    f = F.normalize(x, dim=1)
    logits = f @ f.T / tau
    eye = torch.eye(n, dtype=logits.dtype, device=logits.device)
    logits = logits - 1e9 * eye
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    mask = (caption_ids[:, None] == caption_ids[None, :]).to(logits.dtype) * (1 - eye)
    p = mask / mask.sum(dim=1, keepdim=True).clamp(min=1)
    return -(p * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def summarise(times, batch, gflop_per_batch):
    s = sorted(times)
    med = statistics.median(s)
    q = statistics.quantiles(s, n=10, method="inclusive") if len(s) > 1 else [s[0]] * 9
    return {
        "median_s": med, "p10_s": q[0], "p90_s": q[8], "min_s": s[0], "max_s": s[-1],
        "images_per_s": batch / med, "gflops_per_s": gflop_per_batch / med,
        "times_s": times,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vit_b_16", choices=sorted(GFLOP_PER_IMAGE))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=7)
    ap.add_argument("--train-iters", type=int, default=5)
    ap.add_argument("--phase", default="both", choices=["both", "forward", "train"])
    ap.add_argument("--json")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    model = build(a.model)
    n = a.batch
    g = torch.Generator().manual_seed(7)
    images = torch.randn(n, 3, 224, 224, generator=g)
    ids = torch.arange(n) % (n // 2)
    fwd_gflop = GFLOP_PER_IMAGE[a.model] * n
    out = {"model": a.model, "batch": n, "threads": torch.get_num_threads(),
           "torch": torch.__version__, "torchvision": torchvision.__version__,
           "python": platform.python_version(), "gflop_per_image_forward": GFLOP_PER_IMAGE[a.model],
           "params": sum(p.numel() for p in model.parameters())}

    if a.phase in ("both", "forward"):
        model.eval()
        times = []
        with torch.no_grad():
            for i in range(a.warmup + a.iters):
                t0 = time.perf_counter()
                y = model(images)
                dt = time.perf_counter() - t0
                if i >= a.warmup:
                    times.append(dt)
        assert y.shape == (n, model.hidden_dim)
        out["forward"] = summarise(times, n, fwd_gflop)
        out["forward"]["maxrss_mib_after"] = maxrss_mib()

    if a.phase in ("both", "train"):
        model.train()
        decay = [p for p in model.parameters() if p.ndim >= 2]
        no_decay = [p for p in model.parameters() if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-4, betas=(0.9, 0.98), eps=1e-8)
        times = []
        for i in range(a.warmup + a.train_iters):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = multi_pos_con_loss(model(images), ids, 0.1)
            loss.backward()
            opt.step()
            dt = time.perf_counter() - t0
            if i >= a.warmup:
                times.append(dt)
        out["train"] = summarise(times, n, 3 * fwd_gflop)
        out["train"]["maxrss_mib_after"] = maxrss_mib()
        out["train"]["last_loss"] = float(loss)

    for ph in ("forward", "train"):
        if ph in out:
            r = out[ph]
            print(f"{a.model} {ph:7s} batch {n}, {out['threads']} threads: median {r['median_s']*1e3:.0f} ms "
                  f"(p10 {r['p10_s']*1e3:.0f}, p90 {r['p90_s']*1e3:.0f}), {r['images_per_s']:.2f} img/s, "
                  f"{r['gflops_per_s']:.0f} GFLOP/s, max RSS {r['maxrss_mib_after']:.0f} MiB")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
