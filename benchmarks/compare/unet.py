#!/usr/bin/python3
"""Time one SD v1.5 UNet step in PyTorch: the side of benchmarks/.../UNetBenchmark.java.

diffusers' UNet2DConditionModel built from SD v1.5's unet/config.json values (random init, no
download), eval, torch.no_grad, fp32, batch 2, 4x64x64 latent, 77 tokens of width 768, t = 981.
diffusers v0.21.x runs under Debian's torch 1.13 offline; locate it with environment variables:

  DIFFUSERS_SRC   the `src` folder of an unpacked diffusers v0.21.x source tree
  HF_STUB_DIR     the folder holding hf_stub.py (shared/tools)

Also counts the step's FLOPs (2 x multiply-adds of every Conv2d and Linear, plus the two
attention matmuls per Attention module; norms, softmax, activations not counted) so that both
sides report GFLOP/s from one count.

Usage:
    DIFFUSERS_SRC=... HF_STUB_DIR=... /usr/bin/python3 benchmarks/compare/unet.py [--threads 2]
        [--latent 64] [--batch 2] [--warmup 1] [--iters 3]
"""
import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.environ["HF_STUB_DIR"])
sys.path.insert(0, os.environ["DIFFUSERS_SRC"])
import hf_stub  # noqa: E402,F401
import torch  # noqa: E402
from diffusers import UNet2DConditionModel  # noqa: E402
from diffusers.models.attention_processor import Attention  # noqa: E402

SD15_UNET = dict(
    act_fn="silu", attention_head_dim=8, block_out_channels=[320, 640, 1280, 1280], center_input_sample=False,
    cross_attention_dim=768,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    downsample_padding=1, flip_sin_to_cos=True, freq_shift=0, in_channels=4, layers_per_block=2,
    mid_block_scale_factor=1, norm_eps=1e-05, norm_num_groups=32, out_channels=4, sample_size=64,
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])


def count_flops(model, args):
    macs = [0]

    def conv(m, i, o):
        macs[0] += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, i, o):
        macs[0] += o.numel() * m.in_features

    original = Attention.get_attention_scores

    def scores(self, query, key, attention_mask=None):
        # query [B*heads, Tq, d], key [B*heads, Tk, d]: q.k^T and probs.v, Bh*Tq*Tk*d MACs each
        macs[0] += 2 * query.shape[0] * query.shape[1] * key.shape[1] * query.shape[2]
        return original(self, query, key, attention_mask)

    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear))
    Attention.get_attention_scores = scores
    try:
        with torch.no_grad():
            model(*args)
    finally:
        Attention.get_attention_scores = original
        for h in hooks:
            h.remove()
    return 2 * macs[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--iters", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = UNet2DConditionModel(**SD15_UNET).eval()
    print("parameters", sum(q.numel() for q in model.parameters()))
    g = torch.Generator().manual_seed(7)
    args = (torch.randn(a.batch, 4, a.latent, a.latent, generator=g), torch.full((a.batch,), 981.0),
            torch.randn(a.batch, 77, 768, generator=g))
    flops = count_flops(model, args)
    times = []
    with torch.no_grad():
        for i in range(a.warmup + a.iters):
            t0 = time.perf_counter()
            model(*args)
            dt = time.perf_counter() - t0
            if i >= a.warmup:
                times.append(dt)
    med = statistics.median(times)
    print("torch %s, threads %d, latent %d, batch %d" % (torch.__version__, a.threads, a.latent, a.batch))
    print("step seconds: median %.3f, all %s" % (med, ["%.3f" % t for t in times]))
    print("GFLOP per step %.1f, GFLOP/s %.1f" % (flops / 1e9, flops / 1e9 / med))
    print("max RSS MB %.0f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
