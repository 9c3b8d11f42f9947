#!/usr/bin/python3
"""Golden files for stablerep-models' VisionTransformer parity tests.

torchvision's VisionTransformer (an implementation independent of timm's and of ours) is built
directly from its class with small configurations, since pretrained weights cannot be
downloaded here. Its weights are seeded and then perturbed so that no part is trivial (LayerNorm
weights and biases, biases, class token; the qkv projection is scaled up so that attention is
far from uniform). Weights are rounded to float32 (what the Java side loads), and the forward
pass then runs in float64, so the goldens are the exact function of the stored weights and the
only error left in the comparison is Java's own fp32 arithmetic.

Per configuration, under stablerep-models/src/test/resources/golden/vit/<name>/:
  torchvision.safetensors   the weights in torchvision's key layout (F32), classifier included
  timm.safetensors          the same weights under timm's keys (F32), classifier as head.*
  images.npy                [2, 3, H, W] float32 inputs
  features.npy              [2, D] float64: encoder output (after encoder.ln) at the class token
  config.txt                image_h image_w patch width depth heads mlp_dim

torchvision 0.14 asserts square inputs of its configured size in _process_input; for the
non-square case the three lines of _process_input are repeated here without the assert, and the
position embedding is replaced by one of the right length. Everything else is torchvision's.

safetensors is hand-written with struct + json (the package is not installed in Debian).

Run from the repository root:  /usr/bin/python3 tools/reference/vit_reference.py
"""
import json
import os
import struct

import numpy as np
import torch
from torchvision.models.vision_transformer import VisionTransformer

ROOT = os.path.join("stablerep-models", "src", "test", "resources", "golden", "vit")

# name, image h, image w, patch, width, depth, heads, mlp dim
CONFIGS = [
    ("s32_p4", 32, 32, 4, 48, 2, 3, 192),
    ("h32_w48_p8", 32, 48, 8, 32, 2, 2, 128),
]


def write_safetensors(path, tensors, metadata=None):
    """float32 safetensors, written by hand so the reference needs no safetensors package."""
    header = {"__metadata__": metadata if metadata is not None else {"format": "pt", "source": "vit_reference.py"}}
    offset = 0
    blobs = []
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def timm_key(key):
    """torchvision vit key -> timm vision_transformer key."""
    top = {
        "class_token": "cls_token",
        "encoder.pos_embedding": "pos_embed",
        "conv_proj.weight": "patch_embed.proj.weight",
        "conv_proj.bias": "patch_embed.proj.bias",
        "encoder.ln.weight": "norm.weight",
        "encoder.ln.bias": "norm.bias",
        "heads.head.weight": "head.weight",
        "heads.head.bias": "head.bias",
    }
    if key in top:
        return top[key]
    prefix = "encoder.layers.encoder_layer_"
    assert key.startswith(prefix), key
    index, rest = key[len(prefix):].split(".", 1)
    block = {
        "ln_1.weight": "norm1.weight",
        "ln_1.bias": "norm1.bias",
        "self_attention.in_proj_weight": "attn.qkv.weight",
        "self_attention.in_proj_bias": "attn.qkv.bias",
        "self_attention.out_proj.weight": "attn.proj.weight",
        "self_attention.out_proj.bias": "attn.proj.bias",
        "ln_2.weight": "norm2.weight",
        "ln_2.bias": "norm2.bias",
        "mlp.0.weight": "mlp.fc1.weight",
        "mlp.0.bias": "mlp.fc1.bias",
        "mlp.3.weight": "mlp.fc2.weight",
        "mlp.3.bias": "mlp.fc2.bias",
    }
    return "blocks.%s.%s" % (index, block[rest])


def build(seed, h, w, patch, width, depth, heads, mlp_dim):
    torch.manual_seed(seed)
    model = VisionTransformer(image_size=h, patch_size=patch, num_layers=depth, num_heads=heads,
                              hidden_dim=width, mlp_dim=mlp_dim, num_classes=5)
    tokens = 1 + (h // patch) * (w // patch)
    model.encoder.pos_embedding = torch.nn.Parameter(torch.randn(1, tokens, width) * 0.1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "class_token":
                p.copy_(torch.randn_like(p) * 0.5)
            elif name.endswith("in_proj_weight"):
                p.mul_(3.0)
            elif ".ln" in name or name.startswith("encoder.ln"):
                if name.endswith("weight"):
                    p.copy_(1.0 + 0.2 * torch.randn_like(p))
                else:
                    p.copy_(0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            # round to float32 exactly as stored
            p.copy_(p.float())
    return model.double().eval()


def features(model, images, square):
    with torch.no_grad():
        if square:
            x = model._process_input(images)
        else:
            n = images.shape[0]
            x = model.conv_proj(images)
            x = x.reshape(n, model.hidden_dim, -1).permute(0, 2, 1)
        cls = model.class_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        return model.encoder(x)[:, 0]


def main():
    for i, (name, h, w, patch, width, depth, heads, mlp_dim) in enumerate(CONFIGS):
        out = os.path.join(ROOT, name)
        os.makedirs(out, exist_ok=True)
        model = build(100 + i, h, w, patch, width, depth, heads, mlp_dim)
        gen = torch.Generator().manual_seed(200 + i)
        images = torch.randn(2, 3, h, w, generator=gen).float().double()
        feats = features(model, images, h == w).numpy()
        state = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
        write_safetensors(os.path.join(out, "torchvision.safetensors"), state)
        write_safetensors(os.path.join(out, "timm.safetensors"), {timm_key(k): v for k, v in state.items()})
        np.save(os.path.join(out, "images.npy"), images.float().numpy())
        np.save(os.path.join(out, "features.npy"), feats)
        with open(os.path.join(out, "config.txt"), "w") as f:
            f.write("%d %d %d %d %d %d %d\n" % (h, w, patch, width, depth, heads, mlp_dim))
        print(name, "features", feats.shape, "std %.3f" % feats.std(), "first", feats[0, :4])


if __name__ == "__main__":
    main()
