#!/usr/bin/python3
"""Time the whole generation of a small dataset with diffusers: the side of
benchmarks/.../GenerationBenchmark.java.

The shipped tiny model (examples/.../tiny-sd-fmnist: UNet 48/96/96, latent 4x16x16, 32x32 images),
16 captions x 4 images, DDIM 10 steps, guidance 2, eta 0, float32, torch.no_grad, 2 threads. The
work is that of diffusers' StableDiffusionPipeline.__call__(prompt=<16 captions>,
num_images_per_prompt=4): the 16 prompts and 16 empty negative prompts encoded in one batch each,
each prompt's states repeated 4 times, then per step one UNet call on the [128] batch
(unconditional first) and one VAE decode of all 64 latents. diffusers' pipeline class itself
imports `transformers`, which Debian does not package, so its loop is written out here (as in
tools/reference/pipeline_reference.py) and the text encoder is a torch CLIP text transformer with
transformers' CLIPTextModel structure (pre-LayerNorm blocks, causal mask, quick_gelu, final
LayerNorm) loaded from text_encoder/model.safetensors; the tokenizer is CLIP's BPE from the
model's vocab.json and merges.txt (lower-case ASCII captions only). UNet2DConditionModel,
AutoencoderKL and DDIMScheduler are diffusers'. Locate diffusers with environment variables:

  DIFFUSERS_SRC   the `src` folder of an unpacked diffusers v0.21.x source tree
  HF_STUB_DIR     the folder holding hf_stub.py (shared/tools)

Usage (from the repository root):
    DIFFUSERS_SRC=... HF_STUB_DIR=... /usr/bin/python3 benchmarks/compare/generate.py [--threads 2]
        [--warmup 1] [--iters 3] [--images-per-call 64]
"""
import argparse
import json
import os
import re
import resource
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.environ["HF_STUB_DIR"])
sys.path.insert(0, os.environ["DIFFUSERS_SRC"])
import hf_stub  # noqa: E402,F401  (must precede diffusers)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "tiny-sd"))
import stio  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel  # noqa: E402

MODEL = os.path.join("examples", "src", "main", "resources", "io", "github", "stablerep", "examples",
                     "tiny-sd-fmnist")
# as GenerationBenchmark.CAPTIONS
ITEMS = ["t-shirt", "pair of trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker"]
CAPTIONS = [f"a photo of a {s} {item}" for item in ITEMS for s in ("small dark", "large light")]
IMAGES_PER_CAPTION, STEPS, GUIDANCE = 4, 10, 2.0


def read_safetensors(path):
    """Every floating-point tensor of a safetensors file as float32 torch tensors (tools/tiny-sd/stio.py reads it)."""
    return {k: torch.from_numpy(v.astype(np.float32)) for k, v in stio.load(path).items()
            if v.dtype in (np.float16, np.float32, np.float64)}


class ClipTokenizer:
    """CLIP's BPE (openai simple_tokenizer) for lower-case ASCII text: words end in </w>, padded
    with the end token to the context length, as the SD v1.5 tokenizer does."""

    def __init__(self, folder, length=77):
        with open(os.path.join(folder, "vocab.json")) as f:
            self.vocab = json.load(f)
        with open(os.path.join(folder, "merges.txt")) as f:
            merges = [tuple(line.split()) for line in f.read().split("\n")[1:] if line.strip()]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.length = length

    def bpe(self, word):
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]
        return parts

    def __call__(self, texts):
        ids = []
        for t in texts:
            words = re.findall(r"[a-z]+|[0-9]|[^\sa-z0-9]+", " ".join(t.lower().split()))
            row = [self.vocab["<|startoftext|>"]] + [self.vocab[p] for w in words for p in self.bpe(w)]
            row = row[:self.length - 1] + [self.vocab["<|endoftext|>"]]
            ids.append(row + [self.vocab["<|endoftext|>"]] * (self.length - len(row)))
        return torch.tensor(ids)


class ClipTextTransformer(nn.Module):
    """transformers' CLIPTextModel last_hidden_state (quick_gelu, causal mask), its key names."""

    def __init__(self, cfg):
        super().__init__()
        d, self.heads = cfg["hidden_size"], cfg["num_attention_heads"]
        eps = cfg["layer_norm_eps"]
        self.token_embedding = nn.Embedding(cfg["vocab_size"], d)
        self.position_embedding = nn.Embedding(cfg["max_position_embeddings"], d)
        self.layers = nn.ModuleList()
        for _ in range(cfg["num_hidden_layers"]):
            layer = nn.ModuleDict(dict(
                q_proj=nn.Linear(d, d), k_proj=nn.Linear(d, d), v_proj=nn.Linear(d, d), out_proj=nn.Linear(d, d),
                layer_norm1=nn.LayerNorm(d, eps=eps), layer_norm2=nn.LayerNorm(d, eps=eps),
                fc1=nn.Linear(d, cfg["intermediate_size"]), fc2=nn.Linear(cfg["intermediate_size"], d)))
            self.layers.append(layer)
        self.final_layer_norm = nn.LayerNorm(d, eps=eps)

    def load(self, weights):
        own = {}
        for k, v in weights.items():
            k = k.replace("text_model.", "").replace("embeddings.", "").replace("encoder.", "")
            k = k.replace("self_attn.", "").replace("mlp.", "")
            if k != "position_ids":
                own[k] = v
        self.load_state_dict(own)
        return self

    def forward(self, ids):
        b, n = ids.shape
        x = self.token_embedding(ids) + self.position_embedding.weight[:n]
        mask = torch.full((n, n), float("-inf")).triu(1)
        for l in self.layers:
            h = l["layer_norm1"](x)
            d = h.shape[-1]
            hd = d // self.heads
            q, k, v = (l[p](h).view(b, n, self.heads, hd).transpose(1, 2) for p in ("q_proj", "k_proj", "v_proj"))
            a = ((q * hd ** -0.5) @ k.transpose(-1, -2) + mask).softmax(-1) @ v
            x = x + l["out_proj"](a.transpose(1, 2).reshape(b, n, d))
            h = l["fc1"](l["layer_norm2"](x))
            x = x + l["fc2"](h * torch.sigmoid(1.702 * h))
        return self.final_layer_norm(x)


def load_diffusers(cls, folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    m = cls.from_config(config)
    m.load_state_dict(read_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors")))
    return m.float().eval()


def generate(tok, text, unet, vae, scheduler, prompts, latents):
    """diffusers 0.21 StableDiffusionPipeline.__call__ for a prompt list with num_images_per_prompt."""
    n = latents.shape[0]
    per = n // len(prompts)
    cond = text(tok(prompts)).repeat_interleave(per, dim=0)
    neg = text(tok([""] * len(prompts))).repeat_interleave(per, dim=0)
    context = torch.cat([neg, cond])
    scheduler.set_timesteps(STEPS)
    x = latents * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        inp = scheduler.scale_model_input(torch.cat([x, x]), t)
        eps_u, eps_c = unet(inp, t, encoder_hidden_states=context).sample.chunk(2)
        x = scheduler.step(eps_u + GUIDANCE * (eps_c - eps_u), t, x).prev_sample
    image = vae.decode(x / vae.config.scaling_factor).sample
    return (image / 2 + 0.5).clamp(0, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=MODEL)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--images-per-call", type=int, default=64, help="a multiple of 4 dividing 64")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    with open(os.path.join(a.model, "text_encoder", "config.json")) as f:
        text = ClipTextTransformer(json.load(f)).load(
            read_safetensors(os.path.join(a.model, "text_encoder", "model.safetensors"))).eval()
    tok = ClipTokenizer(os.path.join(a.model, "tokenizer"))
    unet = load_diffusers(UNet2DConditionModel, os.path.join(a.model, "unet"))
    vae = load_diffusers(AutoencoderKL, os.path.join(a.model, "vae"))
    with open(os.path.join(a.model, "scheduler", "scheduler_config.json")) as f:
        scheduler = DDIMScheduler.from_config({k: v for k, v in json.load(f).items() if not k.startswith("_")})
    load_s = time.perf_counter() - t0
    n = len(CAPTIONS) * IMAGES_PER_CAPTION
    latents = torch.randn(n, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    captions_per_call = a.images_per_call // IMAGES_PER_CAPTION
    times = []
    with torch.no_grad():
        for i in range(a.warmup + a.iters):
            t0 = time.perf_counter()
            for c in range(0, len(CAPTIONS), captions_per_call):
                lo = c * IMAGES_PER_CAPTION
                images = generate(tok, text, unet, vae, scheduler, CAPTIONS[c:c + captions_per_call],
                                  latents[lo:lo + a.images_per_call])
            dt = time.perf_counter() - t0
            if i >= a.warmup:
                times.append(dt)
    med = statistics.median(times)
    print("torch %s, threads %d, %d images (%d captions x %d), DDIM %d steps, guidance %.1f, %d images per call"
          % (torch.__version__, a.threads, n, len(CAPTIONS), IMAGES_PER_CAPTION, STEPS, GUIDANCE, a.images_per_call))
    print("load seconds %.2f" % load_s)
    print("generation seconds: median %.2f, best %.2f, all %s" % (med, min(times), ["%.2f" % t for t in times]))
    print("images/s: median %.2f, best %.2f" % (n / med, n / min(times)))
    print("last image batch", tuple(images.shape), "mean %.4f" % images.mean().item())
    print("max RSS MB %.0f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
