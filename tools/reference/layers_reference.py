#!/usr/bin/python3
"""Golden values for stablerep-models' shared layers (models.internal Attention and Mlp), from
PyTorch's own modules, independently of the three models that use the layers.

Attention: torch.nn.MultiheadAttention(batch_first=True), whose packed in_proj_weight [3D, D]
is laid out as timm's fused qkv (q, k, v, each head-major) and whose rows split into the
separate q/k/v projections of transformers and diffusers:
  self_causal/   N=2, T=5, D=8, 2 heads, with biases, causal mask (attn_mask, -inf above the
                 diagonal); the Java test runs it fused (timm), separate on a matrix (CLIP) and
                 separate on a sequence (diffusers), all against this one output
  cross/         N=2, T=6 queries of width 8, S=4 context tokens of width 6 (kdim = vdim = 6),
                 2 heads, with biases, no mask: diffusers' cross-attention
Mlp (torch.nn.Linear, float64):
  mlp_gelu/       fc2(F.gelu(fc1(x)))                           timm's Mlp, exact GELU
  mlp_quick_gelu/ fc2(h * sigmoid(1.702 h)), h = fc1(x)         CLIP's QuickGELU
  mlp_geglu/      net.2(a * F.gelu(g)), a, g = net.0.proj(x).chunk(2, -1)  diffusers' GEGLU

Each folder holds x.npy (and context.npy), out.npy, and the weights under their torch keys
(Linear [out, in]), all float64.

Run from the repository root:  /usr/bin/python3 tools/reference/layers_reference.py
Requires Debian's python3-torch (1.13) and python3-numpy.
"""
import os
import shutil

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join("stablerep-models", "src", "test", "resources", "golden", "layers")


def save(folder, name, t):
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, name + ".npy"), t.detach().double().numpy())


def attention_cases():
    torch.manual_seed(14)
    # self-attention, causal
    d, heads, n, t = 8, 2, 2, 5
    mha = nn.MultiheadAttention(d, heads, bias=True, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_bias.normal_(0, 0.5)
        mha.out_proj.bias.normal_(0, 0.5)
    x = torch.randn(n, t, d, dtype=torch.float64)
    causal = torch.triu(torch.full((t, t), float("-inf"), dtype=torch.float64), diagonal=1)
    out, _ = mha(x, x, x, attn_mask=causal, need_weights=False)
    f = os.path.join(OUT, "self_causal")
    save(f, "x", x)
    save(f, "out", out)
    save(f, "in_proj_weight", mha.in_proj_weight)
    save(f, "in_proj_bias", mha.in_proj_bias)
    save(f, "out_proj.weight", mha.out_proj.weight)
    save(f, "out_proj.bias", mha.out_proj.bias)

    # cross-attention to a context of another width
    d, c, heads, n, t, s = 8, 6, 2, 2, 6, 4
    mha = nn.MultiheadAttention(d, heads, bias=True, kdim=c, vdim=c, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_bias.normal_(0, 0.5)
        mha.out_proj.bias.normal_(0, 0.5)
    x = torch.randn(n, t, d, dtype=torch.float64)
    ctx = torch.randn(n, s, c, dtype=torch.float64)
    out, _ = mha(x, ctx, ctx, need_weights=False)
    f = os.path.join(OUT, "cross")
    save(f, "x", x)
    save(f, "context", ctx)
    save(f, "out", out)
    save(f, "q_proj_weight", mha.q_proj_weight)
    save(f, "k_proj_weight", mha.k_proj_weight)
    save(f, "v_proj_weight", mha.v_proj_weight)
    save(f, "in_proj_bias", mha.in_proj_bias)
    save(f, "out_proj.weight", mha.out_proj.weight)
    save(f, "out_proj.bias", mha.out_proj.bias)


def mlp_cases():
    torch.manual_seed(15)
    d, hidden, rows = 8, 12, 7
    x = torch.randn(rows, d, dtype=torch.float64)
    for name, fc1_out, act in [
        ("mlp_gelu", hidden, lambda h: F.gelu(h)),
        ("mlp_quick_gelu", hidden, lambda h: h * torch.sigmoid(1.702 * h)),
        ("mlp_geglu", 2 * hidden, None),
    ]:
        fc1 = nn.Linear(d, fc1_out).double()
        fc2 = nn.Linear(hidden, d).double()
        h = fc1(x)
        if act is None:
            a, g = h.chunk(2, dim=-1)  # diffusers' GEGLU: hidden_states, gate
            h = a * F.gelu(g)
        else:
            h = act(h)
        out = fc2(h)
        f = os.path.join(OUT, name)
        save(f, "x", x)
        save(f, "out", out)
        save(f, "fc1.weight", fc1.weight)
        save(f, "fc1.bias", fc1.bias)
        save(f, "fc2.weight", fc2.weight)
        save(f, "fc2.bias", fc2.bias)


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    attention_cases()
    mlp_cases()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
