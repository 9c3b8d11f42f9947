#!/usr/bin/python3
"""Golden loss for pre-training with drop path (examples' PretrainerDropPathTest).

Checks that `stablerep pretrain --drop-path R` and Pretrainer really train with stochastic
depth: the loss of the first step, with the drop-path rate R, computed here independently of
the Java code.

Input (examples/src/test/resources/golden/pretrain-drop-path/inputs.safetensors, written by the
test class DropPathGolden from what the first step starts from):
  vit.<timm key>   the ViT's initial weights under timm's keys (Linear [out, in], patch conv
                   [out, in, kH, kW])
  head.<key>       the projection head under torch keys (layer1.weight, bn1.weight, ...)
  images [N,3,H,W] the first batch, augmented; ids [N] its view-major caption ids
  noise [N, K]     uniform noise in [0, 1), one column per drop-path site with a rate > 0, in
                   block order, attention branch then MLP branch

What this script does on its own: timm's VisionTransformer forward (pre-norm blocks, LayerNorm
eps 1e-6, exact GELU, class token after the final norm) with timm's drop path: per-block rates
[x.item() for x in torch.linspace(0, R, depth)], keep = 1 - rate, the sample's branch kept when
its noise is below keep and then scaled by 1/keep (timm's bernoulli_(keep).div_(keep), with the
Bernoulli draw given by the noise); StableRep's head with BatchNorm in train mode on each view
chunk of the batch; the multi-positive loss (temperature 0.1). float64 throughout.

Output: loss.npy (float64 scalar: the first step's loss at rate R), loss_rate0.npy (the same
weights and batch with every path kept: the first step's loss at rate 0, since the rate does not
change the initial weights) and masks.npy ([N, K], the masks used, for inspection).

Run from the repository root:  /usr/bin/python3 tools/reference/drop_path_reference.py
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

DIR = os.path.join("examples", "src", "test", "resources", "golden", "pretrain-drop-path")
DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=DTYPES[h["dtype"]]).reshape(h["shape"])
    return out, meta


def config(meta):
    c = dict(kv.split("=") for kv in meta["config"].split())
    return {k: (float(v) if "." in v or "e" in v else int(v)) for k, v in c.items()}


def layer_norm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def vit_forward(t, x, cfg, masks):
    """timm VisionTransformer.forward_features + class-token pooling, drop path from masks."""
    p, d, heads, eps = cfg["patch"], cfg["width"], cfg["heads"], cfg["ln_eps"]
    n = x.shape[0]
    h = F.conv2d(x, t["vit.patch_embed.proj.weight"], t["vit.patch_embed.proj.bias"], stride=p)
    h = h.flatten(2).transpose(1, 2)
    h = torch.cat([t["vit.cls_token"].expand(n, -1, -1), h], dim=1) + t["vit.pos_embed"]
    depth = cfg["depth"]
    rates = [r.item() for r in torch.linspace(0, cfg["rate"], depth)]
    site = 0
    for blk in range(depth):
        k = "vit.blocks.%d." % blk

        def drop_path(branch):
            nonlocal site
            if rates[blk] == 0.0:
                return branch
            m = masks[:, site]
            site += 1
            return branch * m.view(n, 1, 1)

        y = layer_norm(h, t[k + "norm1.weight"], t[k + "norm1.bias"], eps)
        qkv = F.linear(y, t[k + "attn.qkv.weight"], t[k + "attn.qkv.bias"])
        qkv = qkv.reshape(n, -1, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        q, kk, v = qkv[0], qkv[1], qkv[2]
        att = (q @ kk.transpose(-2, -1)) * (d // heads) ** -0.5
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, -1, d)
        y = F.linear(y, t[k + "attn.proj.weight"], t[k + "attn.proj.bias"])
        h = h + drop_path(y)
        y = layer_norm(h, t[k + "norm2.weight"], t[k + "norm2.bias"], eps)
        y = F.gelu(F.linear(y, t[k + "mlp.fc1.weight"], t[k + "mlp.fc1.bias"]))
        y = F.linear(y, t[k + "mlp.fc2.weight"], t[k + "mlp.fc2.bias"])
        h = h + drop_path(y)
    assert site == masks.shape[1], (site, masks.shape)
    h = layer_norm(h, t["vit.norm.weight"], t["vit.norm.bias"], eps)
    return h[:, 0]


def head_forward(t, f, cfg):
    """StableRep's image_mlp, BatchNorm in train mode on each view chunk (view-major rows)."""
    chunks = f.chunk(cfg["views"], dim=0)
    outs = []
    for c in chunks:
        y = c
        for i in (1, 2):
            y = F.linear(y, t["head.layer%d.weight" % i], t["head.layer%d.bias" % i])
            y = F.batch_norm(y, t["head.bn%d.running_mean" % i].clone(), t["head.bn%d.running_var" % i].clone(),
                             t["head.bn%d.weight" % i], t["head.bn%d.bias" % i], training=True,
                             eps=cfg["bn_eps"])
            y = F.relu(y)
        outs.append(F.linear(y, t["head.layer3.weight"], t["head.layer3.bias"]))
    return torch.cat(outs, dim=0)


def multipos_loss(feats, ids, temperature):
    feats = F.normalize(feats, dim=-1)
    n = feats.shape[0]
    mask = (ids.view(-1, 1) == ids.view(1, -1)).to(feats.dtype)
    logits_mask = 1 - torch.eye(n, dtype=feats.dtype)
    mask = mask * logits_mask
    logits = feats @ feats.T / temperature - (1 - logits_mask) * 1e9
    p = mask / mask.sum(1, keepdim=True).clamp(min=1.0)
    logits = logits - logits.max(dim=-1, keepdim=True)[0].detach()
    return -(p * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def main():
    arrays, meta = read_safetensors(os.path.join(DIR, "inputs.safetensors"))
    cfg = config(meta)
    t = {k: torch.from_numpy(v.astype(np.float64)) for k, v in arrays.items() if k != "ids"}
    ids = torch.from_numpy(arrays["ids"].astype(np.int64))
    noise = t["noise"]
    depth, rate = cfg["depth"], cfg["rate"]
    rates = [r.item() for r in torch.linspace(0, rate, depth)]
    keeps = []
    for r in rates:
        if r > 0:
            keeps += [1.0 - r, 1.0 - r]
    keep = torch.tensor(keeps, dtype=torch.float64).view(1, -1)
    masks = (noise < keep).to(torch.float64) / keep  # bernoulli(keep) from the given noise, then / keep
    with torch.no_grad():
        feats = vit_forward(t, t["images"], cfg, masks)
        loss = multipos_loss(head_forward(t, feats, cfg), ids, cfg["temperature"])
        no_drop = multipos_loss(head_forward(t, vit_forward(t, t["images"], cfg, torch.ones_like(masks)), cfg), ids,
                                cfg["temperature"])
    np.save(os.path.join(DIR, "loss.npy"), np.array(loss.item(), dtype=np.float64))
    np.save(os.path.join(DIR, "loss_rate0.npy"), np.array(no_drop.item(), dtype=np.float64))
    np.save(os.path.join(DIR, "masks.npy"), masks.numpy())
    print("dropped paths: %d of %d" % (int((masks == 0).sum().item()), masks.numel()))
    print("loss with drop path %.10f, same weights without %.10f" % (loss.item(), no_drop.item()))


if __name__ == "__main__":
    main()
