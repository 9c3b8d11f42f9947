#!/usr/bin/python3
"""Golden values for the Java kernels of stablerep-models (models.internal FusedAttention,
FusedGroupNorm, FusedLayerNorm, FusedGeglu), computed by PyTorch in float64.

  attention_self/   packed [N=3, T=160, 3*inner] (q | k | v side by side, heads of 6, 4 heads),
                    out [N, T, inner] = softmax(q k^T / sqrt(6)) v per head, heads merged; q and
                    k scaled so that scores span about +-40 (the exponential's clamped range)
  attention_cross/  packed [N=2, T+2S, inner] with T=130 queries, then S=77 keys, then S values;
                    out [N, T, inner]
  group_norm/       x [3, 12, 5, 7], 4 groups, weight, bias, eps 1e-5: out = F.group_norm,
                    out_silu = F.silu(out)
  layer_norm/       x [4, 9, 20], weight, bias, eps 1e-5: out = F.layer_norm over the last axis
  geglu/            value, gate [50, 64] (gate spread over about +-9): out = value * F.gelu(gate)

Every file is float64 .npy; the Java tests run the kernels in float32 against them.

Run from the repository root:  /usr/bin/python3 tools/reference/kernels_reference.py
Requires Debian's python3-torch (1.13) and python3-numpy.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join("stablerep-models", "src", "test", "resources", "golden", "kernels")


def save(folder, name, t):
    path = os.path.join(OUT, folder)
    os.makedirs(path, exist_ok=True)
    np.save(os.path.join(path, name + ".npy"), t.detach().double().numpy())


def heads(x, n, length, h, d):
    return x.reshape(n, length, h, d).permute(0, 2, 1, 3)


def attention(q, k, v, n, t, s, h, d):
    qh, kh, vh = heads(q, n, t, h, d), heads(k, n, s, h, d), heads(v, n, s, h, d)
    p = torch.softmax(qh @ kh.transpose(-1, -2) / d ** 0.5, dim=-1)
    return (p @ vh).permute(0, 2, 1, 3).reshape(n, t, h * d)


def main():
    torch.manual_seed(2026)
    h, d = 4, 6
    inner = h * d

    n, t = 3, 160
    q = torch.randn(n, t, inner, dtype=torch.float64) * 2.5
    k = torch.randn(n, t, inner, dtype=torch.float64) * 2.5
    v = torch.randn(n, t, inner, dtype=torch.float64)
    save("attention_self", "packed", torch.cat([q, k, v], dim=2))
    save("attention_self", "out", attention(q, k, v, n, t, t, h, d))

    n, t, s = 2, 130, 77
    q = torch.randn(n, t, inner, dtype=torch.float64) * 2.0
    k = torch.randn(n, s, inner, dtype=torch.float64) * 2.0
    v = torch.randn(n, s, inner, dtype=torch.float64)
    save("attention_cross", "packed", torch.cat([q, k, v], dim=1))
    save("attention_cross", "out", attention(q, k, v, n, t, s, h, d))

    x = torch.randn(3, 12, 5, 7, dtype=torch.float64) * 3 + 1.5
    w = torch.randn(12, dtype=torch.float64)
    b = torch.randn(12, dtype=torch.float64)
    y = F.group_norm(x, 4, w, b, eps=1e-5)
    for name, a in (("x", x), ("weight", w), ("bias", b), ("out", y), ("out_silu", F.silu(y))):
        save("group_norm", name, a)

    x = torch.randn(4, 9, 20, dtype=torch.float64) * 2 - 0.7
    w = torch.randn(20, dtype=torch.float64)
    b = torch.randn(20, dtype=torch.float64)
    for name, a in (("x", x), ("weight", w), ("bias", b), ("out", F.layer_norm(x, (20,), w, b, eps=1e-5))):
        save("layer_norm", name, a)

    value = torch.randn(50, 64, dtype=torch.float64)
    gate = torch.randn(50, 64, dtype=torch.float64) * 3.5
    for name, a in (("value", value), ("gate", gate), ("out", value * F.gelu(gate))):
        save("geglu", name, a)


if __name__ == "__main__":
    main()
