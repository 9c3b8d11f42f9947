#!/usr/bin/python3
"""Golden files for stablerep-models' UNet, VAE and their building blocks (package .diffusion).

The reference is diffusers' own code (v0.21.x, which runs under Debian's torch 1.13), imported
offline through shared/tools/hf_stub.py. Locate both with environment variables:

  DIFFUSERS_SRC   the `src` folder of an unpacked diffusers v0.21.x source tree
  HF_STUB_DIR     the folder holding hf_stub.py (shared/tools)

Run from the repository root:

  DIFFUSERS_SRC=/path/to/diffusers-0.21.4/src HF_STUB_DIR=/path/to/shared/tools \
      /usr/bin/python3 tools/reference/unet_vae_reference.py

Every module gets seeded random weights (all parameters, norms and biases included), rounded to
float32; outputs are computed in float64 (`model.double()`), so the Java fp32 error is measured
against exact arithmetic on the same weights. Weights are written in diffusers' key names as
safetensors by a writer below (struct + json; the python safetensors package is not installed),
so the Java loader is exercised too. Written under
stablerep-models/src/test/resources/golden/diffusion/:

  blocks/<case>/weights.safetensors, input*.npy, output.npy    single building blocks
  vae/                 config.json, diffusion_pytorch_model.safetensors, image.npy, latents.npy,
                       mean.npy, logvar.npy, decoded.npy
  vae_legacy_fp16/     the same VAE as an fp16 variant with the legacy attention names
                       (query/key/value/proj_attn); decoded.npy from the fp16-rounded weights
  unet_a/, unet_b/     config.json, diffusion_pytorch_model.safetensors, sample.npy,
                       timestep.npy, encoder_hidden_states.npy, noise_pred.npy
  sd15/                SD v1.5's unet and vae config.json (the published values of
                       runwayml/stable-diffusion-v1-5, written out here) and diffusers' parameter
                       counts of both modules built from them (unet_parameters.npy, vae_parameters.npy)
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.environ["HF_STUB_DIR"])
sys.path.insert(0, os.environ["DIFFUSERS_SRC"])
import hf_stub  # noqa: E402,F401  (must precede diffusers)
import torch  # noqa: E402
from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: E402
from diffusers.models.attention import BasicTransformerBlock  # noqa: E402,F401
from diffusers.models.embeddings import TimestepEmbedding, Timesteps  # noqa: E402
from diffusers.models.resnet import Downsample2D, ResnetBlock2D, Upsample2D  # noqa: E402
from diffusers.models.transformer_2d import Transformer2DModel  # noqa: E402

ROOT = os.path.join("stablerep-models", "src", "test", "resources", "golden", "diffusion")
DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16"}


def write_safetensors(path, tensors, dtype="<f4"):
    """Minimal safetensors writer: 8-byte header length, JSON header, raw little-endian data."""
    header, blobs, pos = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name].astype(dtype))
        b = raw.tobytes(order="C")
        header[name] = {"dtype": DTYPES[raw.dtype], "shape": list(raw.shape), "data_offsets": [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def randomize(module, seed):
    """Every parameter random (norm scales near 1, biases small), rounded to float32."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                v = torch.randn(p.shape, generator=g) / np.sqrt(fan_in)
            elif name.endswith("weight"):
                v = 1.0 + 0.2 * torch.randn(p.shape, generator=g)
            else:
                v = 0.2 * torch.randn(p.shape, generator=g)
            p.copy_(v.float())
    module.double().eval()
    return {k: v.detach().float().numpy() for k, v in module.state_dict().items()}


def rand(g, *shape):
    return torch.randn(*shape, generator=g).float().double()


def save(folder, **arrays):
    for k, v in arrays.items():
        np.save(os.path.join(folder, k + ".npy"), v.detach().numpy() if torch.is_tensor(v) else v)


def case_dir(*names):
    d = os.path.join(ROOT, *names)
    os.makedirs(d, exist_ok=True)
    return d


def blocks():
    g = torch.Generator().manual_seed(7)
    # GroupNorm with affine, 12 channels in 3 groups, eps 1e-6, non-square.
    d = case_dir("blocks", "groupnorm")
    m = torch.nn.GroupNorm(3, 12, eps=1e-6)
    write_safetensors(os.path.join(d, "weights.safetensors"), randomize(m, 1))
    x = rand(g, 2, 12, 5, 7) * 3 + 1
    with torch.no_grad():
        save(d, input=x, output=m(x))

    # ResnetBlock2D 8 -> 12 channels (1x1 shortcut), with time embedding 16, groups 4, eps 1e-5.
    d = case_dir("blocks", "resnet")
    m = ResnetBlock2D(in_channels=8, out_channels=12, temb_channels=16, groups=4, eps=1e-5)
    write_safetensors(os.path.join(d, "weights.safetensors"), randomize(m, 2))
    x, t = rand(g, 2, 8, 6, 6), rand(g, 2, 16)
    with torch.no_grad():
        save(d, input=x, temb=t, output=m(x, t))

    # Downsample2D, padding 1 (UNet) and padding 0 (VAE: zero pad right/bottom, then valid conv).
    for pad in (0, 1):
        d = case_dir("blocks", "downsample_pad%d" % pad)
        m = Downsample2D(6, use_conv=True, out_channels=6, padding=pad, name="op")
        write_safetensors(os.path.join(d, "weights.safetensors"), randomize(m, 3 + pad))
        x = rand(g, 2, 6, 8, 10)
        with torch.no_grad():
            save(d, input=x, output=m(x))

    d = case_dir("blocks", "upsample")
    m = Upsample2D(6, use_conv=True, out_channels=6)
    write_safetensors(os.path.join(d, "weights.safetensors"), randomize(m, 5))
    x = rand(g, 2, 6, 3, 5)
    with torch.no_grad():
        save(d, input=x, output=m(x))

    # Transformer2DModel: 2 heads of 4, cross-attention to 5 tokens of width 6, conv or linear proj.
    for linear in (False, True):
        d = case_dir("blocks", "transformer_linear" if linear else "transformer_conv")
        m = Transformer2DModel(num_attention_heads=2, attention_head_dim=4, in_channels=8, num_layers=1,
                               cross_attention_dim=6, norm_num_groups=4, use_linear_projection=linear)
        write_safetensors(os.path.join(d, "weights.safetensors"), randomize(m, 6 + linear))
        x, ctx = rand(g, 2, 8, 4, 3), rand(g, 2, 5, 6)
        with torch.no_grad():
            save(d, input=x, context=ctx, output=m(x, encoder_hidden_states=ctx).sample)

    # Sinusoidal timestep embedding (both flip/shift settings) and the TimestepEmbedding MLP.
    d = case_dir("blocks", "timestep")
    t = torch.tensor([0.0, 1.0, 37.0, 500.5, 999.0], dtype=torch.float64)
    emb = TimestepEmbedding(10, 16)
    write_safetensors(os.path.join(d, "weights.safetensors"), randomize(emb, 8))
    with torch.no_grad():
        flip = Timesteps(10, flip_sin_to_cos=True, downscale_freq_shift=0)(t)
        noflip = Timesteps(11, flip_sin_to_cos=False, downscale_freq_shift=1)(t)
        save(d, timesteps=t, sinusoid_flip_shift0=flip, sinusoid_noflip_shift1_odd=noflip,
             mlp_output=emb(flip.double()))


def vae():
    d = case_dir("vae")
    m = AutoencoderKL(in_channels=3, out_channels=3,
                      down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
                      up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
                      block_out_channels=(8, 16), layers_per_block=1, latent_channels=4,
                      norm_num_groups=4, sample_size=16)
    weights = randomize(m, 11)
    m.save_config(d)
    write_safetensors(os.path.join(d, "diffusion_pytorch_model.safetensors"), weights)
    g = torch.Generator().manual_seed(12)
    image, latents = rand(g, 2, 3, 16, 16), rand(g, 2, 4, 8, 8)
    with torch.no_grad():
        dist = m.encode(image).latent_dist
        save(d, image=image, latents=latents, mean=dist.mean, logvar=dist.logvar, std=dist.std,
             decoded=m.decode(latents).sample)

    # The same model as a legacy fp16 variant: old attention names, half-precision file.
    d16 = case_dir("vae_legacy_fp16")
    m.save_config(d16)
    legacy = {}
    for k, v in weights.items():
        for new, old in ((".to_q.", ".query."), (".to_k.", ".key."), (".to_v.", ".value."), (".to_out.0.", ".proj_attn.")):
            k = k.replace(new, old)
        legacy[k] = v
    write_safetensors(os.path.join(d16, "diffusion_pytorch_model.fp16.safetensors"), legacy, dtype="<f2")
    with torch.no_grad():
        for k, p in m.state_dict().items():
            p.copy_(torch.from_numpy(weights[k].astype(np.float16).astype(np.float64)))
        save(d16, latents=latents, decoded=m.decode(latents).sample)


def unet(name, seed, sample_hw, tokens, **config):
    d = case_dir(name)
    m = UNet2DConditionModel(**config)
    m.save_config(d)
    write_safetensors(os.path.join(d, "diffusion_pytorch_model.safetensors"), randomize(m, seed))
    g = torch.Generator().manual_seed(seed + 1)
    sample = rand(g, 2, config["in_channels"], *sample_hw)
    timestep = torch.tensor([981.0, 21.0], dtype=torch.float64)
    ctx = rand(g, 2, tokens, config["cross_attention_dim"])
    with torch.no_grad():
        out = m(sample, timestep, encoder_hidden_states=ctx).sample
    save(d, sample=sample, timestep=timestep, encoder_hidden_states=ctx, noise_pred=out)
    print(name, "parameters", sum(p.numel() for p in m.parameters()))


# runwayml/stable-diffusion-v1-5: unet/config.json and vae/config.json (diffusers 0.6.0 export).
SD15_UNET = dict(
    act_fn="silu", attention_head_dim=8, block_out_channels=[320, 640, 1280, 1280], center_input_sample=False,
    cross_attention_dim=768,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    downsample_padding=1, flip_sin_to_cos=True, freq_shift=0, in_channels=4, layers_per_block=2,
    mid_block_scale_factor=1, norm_eps=1e-05, norm_num_groups=32, out_channels=4, sample_size=64,
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])
SD15_VAE = dict(
    act_fn="silu", block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
    in_channels=3, latent_channels=4, layers_per_block=2, norm_num_groups=32, out_channels=3, sample_size=512,
    up_block_types=["UpDecoderBlock2D"] * 4)


def sd15():
    d = case_dir("sd15")
    for name, cls, cfg in (("unet", UNet2DConditionModel, SD15_UNET), ("vae", AutoencoderKL, SD15_VAE)):
        with open(os.path.join(d, name + "_config.json"), "w") as f:
            json.dump(dict(_class_name=cls.__name__, **cfg), f, indent=2)
        m = cls(**cfg)
        n = sum(p.numel() for p in m.parameters())
        np.save(os.path.join(d, name + "_parameters.npy"), np.array([n], dtype=np.int64))
        print("sd15", name, "parameters", n)
        del m


if __name__ == "__main__":
    torch.set_num_threads(2)
    blocks()
    vae()
    # SD v1.x layout in miniature: cross-attention down/up blocks, conv projections, heads from
    # attention_head_dim (diffusers 0.21 reads it as the number of heads).
    unet("unet_a", 21, (8, 8), 5,
         sample_size=8, in_channels=4, out_channels=4,
         down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
         up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
         block_out_channels=(8, 16), layers_per_block=1, attention_head_dim=2,
         cross_attention_dim=12, norm_num_groups=4)
    # Three levels, two layers per block, per-block heads, linear projections, the other sinusoid
    # convention, a non-square latent, and different in/out channels.
    unet("unet_b", 31, (8, 12), 3,
         sample_size=8, in_channels=3, out_channels=5,
         down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
         up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
         block_out_channels=(8, 16, 16), layers_per_block=2, attention_head_dim=[2, 4, 4],
         cross_attention_dim=6, norm_num_groups=4, norm_eps=1e-6, use_linear_projection=True,
         flip_sin_to_cos=False, freq_shift=1)
    sd15()
