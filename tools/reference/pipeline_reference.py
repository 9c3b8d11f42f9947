#!/usr/bin/python3
"""Golden images for stablerep-models' StableDiffusionPipeline (package .diffusion).

The reference is diffusers' own UNet2DConditionModel, AutoencoderKL, DDIMScheduler and
EulerDiscreteScheduler (v0.21.x, under Debian's torch 1.13), driven by the sampling loop of
diffusers' StableDiffusionPipeline.__call__ written out here: diffusers' pipeline class itself
imports `transformers`, which Debian does not package, so the prompts' text-encoder states are
given directly (its `prompt_embeds` / `negative_prompt_embeds` path; the text encoder has its own
goldens). The loop, as in diffusers 0.21:

    latents *= scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        x = scheduler.scale_model_input(cat([latents, latents]), t)
        eps_u, eps_c = unet(x, t, encoder_hidden_states=cat([neg]*N + [cond]*N)).sample.chunk(2)
        latents = scheduler.step(eps_u + w * (eps_c - eps_u), t, latents).prev_sample
    image = (vae.decode(latents / scaling_factor).sample / 2 + 0.5).clamp(0, 1)

The UNet and VAE are the tiny seeded models of unet_vae_reference.py (golden/diffusion/unet_a and
golden/diffusion/vae: 2 levels, 8/16 channels, cross-attention 12, VAE factor 2), read back from
their committed safetensors and run in float64. Locate diffusers with environment variables:

  DIFFUSERS_SRC   the `src` folder of an unpacked diffusers v0.21.x source tree
  HF_STUB_DIR     the folder holding hf_stub.py (shared/tools)

Run from the repository root (after unet_vae_reference.py):

  DIFFUSERS_SRC=/path/to/diffusers-0.21.4/src HF_STUB_DIR=/path/to/shared/tools \
      /usr/bin/python3 tools/reference/pipeline_reference.py

Writes stablerep-models/src/test/resources/golden/pipeline/: scheduler_config.json (SD v1.5's),
latents.npy [2,4,8,8], negative_states.npy and prompt_states.npy [1,77,12], and images_<case>.npy
[2,3,16,16] for each case (scheduler, steps, guidance) in CASES.
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
from diffusers import AutoencoderKL, DDIMScheduler, EulerDiscreteScheduler, UNet2DConditionModel  # noqa: E402

GOLDEN = os.path.join("stablerep-models", "src", "test", "resources", "golden")
OUT = os.path.join(GOLDEN, "pipeline")
# runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json (a PNDM config; from_config
# lets any sampler use it). No timestep_spacing key: DDIM defaults to "leading", Euler to "linspace".
SD15_SCHEDULER = {"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                  "beta_start": 0.00085, "num_train_timesteps": 1000, "set_alpha_to_one": False,
                  "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None, "clip_sample": False}
CASES = [("ddim", DDIMScheduler, 3, 2.0), ("euler", EulerDiscreteScheduler, 3, 3.5), ("ddim_w1", DDIMScheduler, 2, 1.0)]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return out


def load(cls, folder):
    with open(os.path.join(GOLDEN, "diffusion", folder, "config.json")) as f:
        config = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    m = cls.from_config(config)
    m.load_state_dict(read_safetensors(os.path.join(GOLDEN, "diffusion", folder,
                                                    "diffusion_pytorch_model.safetensors")))
    return m.double().eval()


def sample(unet, vae, scheduler, steps, w, latents, neg, cond):
    n = latents.shape[0]
    scheduler.set_timesteps(steps)
    guided = w > 1.0  # diffusers' do_classifier_free_guidance
    context = torch.cat([neg.repeat(n, 1, 1), cond.repeat(n, 1, 1)]) if guided else cond.repeat(n, 1, 1)
    x = latents * scheduler.init_noise_sigma
    with torch.no_grad():
        for t in scheduler.timesteps:
            inp = torch.cat([x, x]) if guided else x
            inp = scheduler.scale_model_input(inp, t)
            eps = unet(inp, t, encoder_hidden_states=context).sample
            if guided:
                eps_u, eps_c = eps.chunk(2)
                eps = eps_u + w * (eps_c - eps_u)
            x = scheduler.step(eps, t, x).prev_sample
        image = vae.decode(x / vae.config.scaling_factor).sample
    return (image / 2 + 0.5).clamp(0, 1)


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "scheduler_config.json"), "w") as f:
        json.dump(SD15_SCHEDULER, f, indent=2)
    unet, vae = load(UNet2DConditionModel, "unet_a"), load(AutoencoderKL, "vae")
    g = torch.Generator().manual_seed(31)
    latents = torch.randn(2, 4, 8, 8, generator=g).float().double()
    neg = torch.randn(1, 77, 12, generator=g).float().double()
    cond = torch.randn(1, 77, 12, generator=g).float().double()
    np.save(os.path.join(OUT, "latents.npy"), latents.numpy())
    np.save(os.path.join(OUT, "negative_states.npy"), neg.numpy())
    np.save(os.path.join(OUT, "prompt_states.npy"), cond.numpy())
    for name, cls, steps, w in CASES:
        scheduler = cls.from_config(SD15_SCHEDULER)
        image = sample(unet, vae, scheduler, steps, w, latents, neg, cond)
        np.save(os.path.join(OUT, "images_%s.npy" % name), image.numpy())
        print(name, cls.__name__, "timesteps", scheduler.timesteps.tolist(), "image mean", float(image.mean()))


if __name__ == "__main__":
    main()
