#!/usr/bin/python3
"""Golden files for stablerep-models' ClipTextEncoder parity tests.

The reference forward pass is openai/CLIP's own text path (clip/model.py: Transformer,
ResidualAttentionBlock with nn.MultiheadAttention, QuickGELU, the causal mask of
build_attention_mask, and encode_text's embedding sum, ln_final and end-token pooling), loaded at
run time from a checkout of openai/CLIP named by the environment variable CLIP_SRC (its code is
not copied into this repository; the goldens were made with openai/CLIP commit d05afc4). Hugging Face's CLIPTextModel is a port of that network with
renamed parameters, so the weights are written under transformers' key names and mapped onto
openai's modules here:

  text_model.embeddings.token_embedding.weight          -> token_embedding
  text_model.embeddings.position_embedding.weight       -> positional_embedding
  text_model.encoder.layers.N.self_attn.{q,k,v}_proj.*  -> resblocks.N.attn.in_proj_{weight,bias} (stacked q, k, v)
  text_model.encoder.layers.N.self_attn.out_proj.*      -> resblocks.N.attn.out_proj.*
  text_model.encoder.layers.N.layer_norm{1,2}.*         -> resblocks.N.ln_{1,2}.*
  text_model.encoder.layers.N.mlp.fc{1,2}.*             -> resblocks.N.mlp.c_fc / c_proj
  text_model.final_layer_norm.*                         -> ln_final

transformers itself could not be run: its repository snapshot (1.3 GB) is over what the fetch
tool brings, and the one version of modeling_clip.py reachable file by file is a 2025 one that
depends on transformers' attention-dispatch, masking and output-recording machinery.

Three modifications of openai's modules, all to express configurations its constructor fixes:
openai's LayerNorm subclass computes in float32, so nn.LayerNorm is used instead (the forward is
then float64 throughout) with the configured eps; the MLP's Linear layers are replaced when
intermediate_size is not 4 x hidden_size; QuickGELU is replaced by nn.GELU() (exact erf) for
hidden_act "gelu". Pooling follows transformers: with eos_token_id 2 (the legacy value in SD
v1.5's config) the position of the first maximal id (openai's text.argmax), otherwise the first
position of eos_token_id.

Weights are seeded, perturbed away from identity-like values, rounded to float32 (or float16 for
the fp16 file) and the forward pass runs in float64 on the rounded values.

Per configuration, under stablerep-models/src/test/resources/golden/clip_text/<name>/:
  config.json                  a transformers CLIPTextConfig as diffusers stores text_encoder/config.json
  model.safetensors            F32 weights, transformers keys (position_ids I64 in "quick77" only)
  input_ids.npy                [N, L] int64
  last_hidden_state.npy        [N, L, D] float64
  pooled.npy                   [N, D] float64
  model.fp16.safetensors, last_hidden_state_fp16.npy, pooled_fp16.npy   ("quick77" only) the
                               same with F16 weights, outputs from the fp16-rounded weights

safetensors is written with struct + json (the package is not installed in Debian).

Run from the repository root:
  CLIP_SRC=/path/to/openai-CLIP /usr/bin/python3 tools/reference/clip_text_encoder_reference.py
"""
import importlib.util
import json
import os
import struct

import numpy as np
import torch
from torch import nn

ROOT = os.path.join("stablerep-models", "src", "test", "resources", "golden", "clip_text")

CONFIGS = [
    # name, vocab, hidden, intermediate, layers, heads, positions, seq, act, eps, bos, eos, pad, eos_token_id, batch
    dict(name="quick77", vocab=1000, hidden=64, inter=256, layers=2, heads=4, positions=77, seq=77,
         act="quick_gelu", eps=1e-5, bos=998, eos=999, pad=999, eos_token_id=2, batch=3, position_ids=True),
    dict(name="gelu16", vocab=500, hidden=32, inter=80, layers=2, heads=2, positions=16, seq=12,
         act="gelu", eps=1e-3, bos=6, eos=7, pad=0, eos_token_id=7, batch=2, position_ids=False),
]


def load_openai_model():
    spec = importlib.util.spec_from_file_location("clip_model", os.path.join(os.environ["CLIP_SRC"], "clip", "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.LayerNorm = nn.LayerNorm  # openai's subclass casts to float32; keep float64
    return module


def write_safetensors(path, tensors):
    codes = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64"}
    header = {"__metadata__": {"format": "pt", "source": "clip_text_encoder_reference.py"}}
    offset, blobs = 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        raw = arr.tobytes()
        header[name] = {"dtype": codes[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def random_weights(c, rng):
    d, f = c["hidden"], c["inter"]
    w = {}
    p = "text_model."
    w[p + "embeddings.token_embedding.weight"] = rng.normal(0, 0.5, (c["vocab"], d))
    w[p + "embeddings.position_embedding.weight"] = rng.normal(0, 0.3, (c["positions"], d))
    for i in range(c["layers"]):
        b = p + "encoder.layers.%d." % i
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            w[b + "self_attn.%s.weight" % proj] = rng.normal(0, 1.0 / np.sqrt(d), (d, d))
            w[b + "self_attn.%s.bias" % proj] = rng.normal(0, 0.1, d)
        for ln in ["layer_norm1", "layer_norm2"]:
            w[b + ln + ".weight"] = 1 + rng.normal(0, 0.2, d)
            w[b + ln + ".bias"] = rng.normal(0, 0.1, d)
        w[b + "mlp.fc1.weight"] = rng.normal(0, 1.0 / np.sqrt(d), (f, d))
        w[b + "mlp.fc1.bias"] = rng.normal(0, 0.1, f)
        w[b + "mlp.fc2.weight"] = rng.normal(0, 1.0 / np.sqrt(f), (d, f))
        w[b + "mlp.fc2.bias"] = rng.normal(0, 0.1, d)
    w[p + "final_layer_norm.weight"] = 1 + rng.normal(0, 0.2, d)
    w[p + "final_layer_norm.bias"] = rng.normal(0, 0.1, d)
    return w


def token_ids(c, rng):
    rows = []
    lengths = [0, c["seq"] - 2, 5][:c["batch"]] if c["batch"] >= 3 else [3, c["seq"] - 2]
    for n in lengths:
        low = 0 if c["eos_token_id"] == 2 else c["eos"] + 1
        high = c["bos"] if c["eos_token_id"] == 2 else c["vocab"]
        body = list(rng.integers(low, high, n))
        row = [c["bos"]] + body + [c["eos"]]
        rows.append(row + [c["pad"]] * (c["seq"] - len(row)))
    return np.array(rows, dtype=np.int64)


def forward(clip_model, c, w, ids):
    """openai's encode_text (without text_projection) on transformers-keyed float64 weights."""
    d, L = c["hidden"], ids.shape[1]
    p = "text_model."
    t = lambda k: torch.tensor(w[k], dtype=torch.float64)
    mask = torch.empty(L, L, dtype=torch.float64).fill_(float("-inf")).triu_(1)  # build_attention_mask
    transformer = clip_model.Transformer(d, c["layers"], c["heads"], attn_mask=mask).double()
    for i, block in enumerate(transformer.resblocks):
        b = p + "encoder.layers.%d." % i
        if c["inter"] != 4 * d:
            block.mlp.c_fc = nn.Linear(d, c["inter"]).double()
            block.mlp.c_proj = nn.Linear(c["inter"], d).double()
        if c["act"] == "gelu":
            block.mlp.gelu = nn.GELU()
        else:
            assert c["act"] == "quick_gelu"
        for ln in [block.ln_1, block.ln_2]:
            ln.eps = c["eps"]
        with torch.no_grad():
            block.attn.in_proj_weight.copy_(torch.cat([t(b + "self_attn.%s_proj.weight" % x) for x in "qkv"]))
            block.attn.in_proj_bias.copy_(torch.cat([t(b + "self_attn.%s_proj.bias" % x) for x in "qkv"]))
            block.attn.out_proj.weight.copy_(t(b + "self_attn.out_proj.weight"))
            block.attn.out_proj.bias.copy_(t(b + "self_attn.out_proj.bias"))
            block.ln_1.weight.copy_(t(b + "layer_norm1.weight"))
            block.ln_1.bias.copy_(t(b + "layer_norm1.bias"))
            block.ln_2.weight.copy_(t(b + "layer_norm2.weight"))
            block.ln_2.bias.copy_(t(b + "layer_norm2.bias"))
            block.mlp.c_fc.weight.copy_(t(b + "mlp.fc1.weight"))
            block.mlp.c_fc.bias.copy_(t(b + "mlp.fc1.bias"))
            block.mlp.c_proj.weight.copy_(t(b + "mlp.fc2.weight"))
            block.mlp.c_proj.bias.copy_(t(b + "mlp.fc2.bias"))
    transformer.eval()
    ln_final = nn.LayerNorm(d, eps=c["eps"]).double()
    with torch.no_grad():
        ln_final.weight.copy_(t(p + "final_layer_norm.weight"))
        ln_final.bias.copy_(t(p + "final_layer_norm.bias"))
        text = torch.tensor(ids)
        token_embedding = nn.Embedding.from_pretrained(t(p + "embeddings.token_embedding.weight"))
        x = token_embedding(text) + t(p + "embeddings.position_embedding.weight")[:L]
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = transformer(x)
        x = x.permute(1, 0, 2)
        x = ln_final(x)
        if c["eos_token_id"] == 2:
            where = text.argmax(dim=-1)  # first maximal id: the end token, the largest id in CLIP's vocabulary
        else:
            where = (text == c["eos_token_id"]).int().argmax(dim=-1)  # first end token
        pooled = x[torch.arange(x.shape[0]), where]
    return x.numpy(), pooled.numpy()


def config_json(c):
    return {
        "_name_or_path": "clip_text_encoder_reference.py", "architectures": ["CLIPTextModel"],
        "attention_dropout": 0.0, "bos_token_id": c["bos"] if c["eos_token_id"] != 2 else 0,
        "dropout": 0.0, "eos_token_id": c["eos_token_id"], "hidden_act": c["act"], "hidden_size": c["hidden"],
        "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": c["inter"],
        "layer_norm_eps": c["eps"], "max_position_embeddings": c["positions"], "model_type": "clip_text_model",
        "num_attention_heads": c["heads"], "num_hidden_layers": c["layers"], "pad_token_id": 1,
        "projection_dim": 16, "torch_dtype": "float32", "transformers_version": "4.33.3", "vocab_size": c["vocab"],
    }


def main():
    clip_model = load_openai_model()
    for c in CONFIGS:
        out = os.path.join(ROOT, c["name"])
        os.makedirs(out, exist_ok=True)
        rng = np.random.default_rng(20231129 + len(c["name"]))
        w32 = {k: v.astype("<f4") for k, v in random_weights(c, rng).items()}
        ids = token_ids(c, rng)
        tensors = dict(w32)
        if c["position_ids"]:
            tensors["text_model.embeddings.position_ids"] = np.arange(c["positions"], dtype="<i8").reshape(1, -1)
        write_safetensors(os.path.join(out, "model.safetensors"), tensors)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(config_json(c), f, indent=2)
        np.save(os.path.join(out, "input_ids.npy"), ids)
        hidden, pooled = forward(clip_model, c, {k: v.astype(np.float64) for k, v in w32.items()}, ids)
        np.save(os.path.join(out, "last_hidden_state.npy"), hidden)
        np.save(os.path.join(out, "pooled.npy"), pooled)
        print(c["name"], "hidden", hidden.shape, "pooled", pooled.shape, "|pooled| =", np.linalg.norm(pooled))
        if c["name"] == "quick77":
            w16 = {k: v.astype("<f2") for k, v in w32.items()}
            t16 = dict(w16)
            t16["text_model.embeddings.position_ids"] = tensors["text_model.embeddings.position_ids"]
            write_safetensors(os.path.join(out, "model.fp16.safetensors"), t16)
            h16, p16 = forward(clip_model, c, {k: v.astype(np.float64) for k, v in w16.items()}, ids)
            np.save(os.path.join(out, "last_hidden_state_fp16.npy"), h16)
            np.save(os.path.join(out, "pooled_fp16.npy"), p16)
            print("  fp16 weights: pooled differs from fp32 weights' by",
                  np.linalg.norm(p16 - pooled) / np.linalg.norm(pooled))
        # the pooled rows are rows of the hidden state at the end token
        assert np.array_equal(pooled[0], hidden[0, np.where(ids[0] == c["eos"])[0][0]])


if __name__ == "__main__":
    main()
