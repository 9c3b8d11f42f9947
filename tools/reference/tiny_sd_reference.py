#!/usr/bin/python3
"""Golden images for the trained tiny Stable Diffusion shipped with the examples (tiny-sd-fmnist).

End to end on the real float16 weights in
examples/src/main/resources/io/github/stablerep/examples/tiny-sd-fmnist/ (diffusers layout), in
float64 throughout (on the float16 values widened), with references that share no code with the
Java library:

  tokenizer     openai/CLIP's clip/simple_tokenizer.py with its own BPE table, loaded from CLIP_SRC
                by clip_tokenizer_reference.load_simple_tokenizer (ftfy stubbed as the identity;
                the model's tokenizer/vocab.json and merges.txt are checked to be that same BPE);
                rows as diffusers' CLIPTokenizer call makes them: <|startoftext|>, at most 75 ids,
                <|endoftext|>, padded with <|endoftext|> (the folder's pad_token) to 77
  text encoder  openai/CLIP's text Transformer (quick_gelu, causal mask) + embeddings + ln_final,
                the last hidden state, by clip_text_encoder_reference.forward on the folder's
                transformers-keyed weights
  UNet, VAE,    diffusers v0.21.x UNet2DConditionModel, AutoencoderKL and DDIMScheduler built from
  scheduler     the folder's config.json / scheduler_config.json, under Debian's torch 1.13
  loop          diffusers' StableDiffusionPipeline.__call__ as pipeline_reference.sample writes it
                out: latents * init_noise_sigma; per timestep cat([x, x]) through the UNet with
                cat([uncond] * N + [cond] * N), eps_u + w * (eps_c - eps_u), DDIM step (eta 0);
                (vae.decode(latents / scaling_factor).sample / 2 + 0.5).clamp(0, 1)

The negative prompt is "" (tokenised: start, end, end padding), diffusers' default. Each prompt in
PROMPTS is sampled with its own N = 2 standard-normal initial latents [2, 4, 16, 16] drawn with
numpy.random.default_rng(SEED) (prompt after prompt, C order), DDIM with STEPS steps and guidance
GUIDANCE; the Java test gives the same latents to StableDiffusionPipeline.generate(prompt, latents).

Locate the external sources with environment variables:

  DIFFUSERS_SRC   the `src` folder of an unpacked diffusers v0.21.x source tree
  HF_STUB_DIR     the folder holding hf_stub.py (shared/tools)
  CLIP_SRC        a checkout of openai/CLIP (the folder holding clip/); made with commit d05afc4

Run from the repository root:

  DIFFUSERS_SRC=/path/to/diffusers-0.21.4/src HF_STUB_DIR=/path/to/shared/tools \\
      CLIP_SRC=/path/to/openai-CLIP /usr/bin/python3 tools/reference/tiny_sd_reference.py

Writes examples/src/test/resources/golden/tiny-sd/:
  prompts.json          the prompts (in order), negative prompt, steps, guidance, seed
  token_ids.npy         [1 + P, 77] int64: row 0 the negative prompt "", then the prompts
  text_states.npy       [1 + P, 77, 64] float64: the text encoder's last hidden state per row
  latents.npy           [P, 2, 4, 16, 16] float64: the initial latents of each prompt
  images.npy            [P, 2, 3, 32, 32] float64: the final images of each prompt, in [0, 1]
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tiny-sd"))
import pipeline_reference  # noqa: E402  (imports hf_stub, torch and diffusers from DIFFUSERS_SRC)
import clip_text_encoder_reference  # noqa: E402
import clip_tokenizer_reference  # noqa: E402
import stio  # noqa: E402  (safetensors reader, F16 included)
import torch  # noqa: E402
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel  # noqa: E402

MODEL = os.path.join("examples", "src", "main", "resources", "io", "github", "stablerep", "examples",
                     "tiny-sd-fmnist")
OUT = os.path.join("examples", "src", "test", "resources", "golden", "tiny-sd")
PROMPTS = ["a photo of a large dark coat", "a product photo of a small light sneaker",
           "a picture of a medium grey bag"]
NEGATIVE = ""
STEPS, GUIDANCE, PER_PROMPT, SEED = 20, 2.0, 2, 20261204
CONTEXT = 77


def config(component, name="config.json"):
    with open(os.path.join(MODEL, component, name)) as f:
        return json.load(f)


def float64_weights(path):
    return {k: v.astype(np.float64) for k, v in stio.load(path).items()}


def tokenize(tokenizer, texts):
    """diffusers' tokenizer(text, padding="max_length", max_length=77, truncation=True) rows."""
    sot, eot = tokenizer.encoder["<|startoftext|>"], tokenizer.encoder["<|endoftext|>"]
    rows = []
    for text in texts:
        row = [sot] + tokenizer.encode(text)[:CONTEXT - 2] + [eot]
        rows.append(row + [eot] * (CONTEXT - len(row)))
    return np.array(rows, dtype=np.int64)


def check_same_bpe(tokenizer):
    """The folder's vocab.json / merges.txt are openai's BPE table in Hugging Face's format."""
    with open(os.path.join(MODEL, "tokenizer", "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    assert vocab == tokenizer.encoder, "tokenizer/vocab.json differs from openai's BPE vocabulary"
    with open(os.path.join(MODEL, "tokenizer", "merges.txt"), encoding="utf-8") as f:
        merges = [tuple(line.split()) for line in f.read().split("\n")[1:] if line.strip()]
    assert {m: i for i, m in enumerate(merges)} == tokenizer.bpe_ranks, "tokenizer/merges.txt differs"


def text_encoder_config():
    c = config("text_encoder")
    assert c["hidden_act"] == "quick_gelu" and c["intermediate_size"] == 4 * c["hidden_size"]
    return dict(hidden=c["hidden_size"], inter=c["intermediate_size"], layers=c["num_hidden_layers"],
                heads=c["num_attention_heads"], act=c["hidden_act"], eps=c["layer_norm_eps"],
                eos_token_id=c["eos_token_id"])


def load(cls, component):
    m = cls.from_config({k: v for k, v in config(component).items() if not k.startswith("_")})
    weights = float64_weights(os.path.join(MODEL, component, "diffusion_pytorch_model.safetensors"))
    m.double()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return m.eval()


def main():
    os.makedirs(OUT, exist_ok=True)
    tokenizer = clip_tokenizer_reference.load_simple_tokenizer().SimpleTokenizer()
    check_same_bpe(tokenizer)
    ids = tokenize(tokenizer, [NEGATIVE] + PROMPTS)
    clip_model = clip_text_encoder_reference.load_openai_model()
    weights = float64_weights(os.path.join(MODEL, "text_encoder", "model.safetensors"))
    states, _ = clip_text_encoder_reference.forward(clip_model, text_encoder_config(), weights, ids)

    unet, vae = load(UNet2DConditionModel, "unet"), load(AutoencoderKL, "vae")
    scheduler = DDIMScheduler.from_config(config("scheduler", "scheduler_config.json"))
    rng = np.random.default_rng(SEED)
    latents = rng.standard_normal((len(PROMPTS), PER_PROMPT, 4, 16, 16))
    neg = torch.from_numpy(states[:1])
    images = []
    for p, prompt in enumerate(PROMPTS):
        cond = torch.from_numpy(states[1 + p:2 + p])
        image = pipeline_reference.sample(unet, vae, scheduler, STEPS, GUIDANCE, torch.from_numpy(latents[p]),
                                          neg, cond)
        images.append(image.numpy())
        print("%-42s ids %s  image mean %.4f" % (prompt, ids[1 + p][:10].tolist(), float(image.mean())))
    print("timesteps", scheduler.timesteps.tolist(), "scaling_factor", vae.config.scaling_factor)

    with open(os.path.join(OUT, "prompts.json"), "w") as f:
        json.dump({"prompts": PROMPTS, "negative_prompt": NEGATIVE, "scheduler": "DDIM", "steps": STEPS,
                   "guidance_scale": GUIDANCE, "images_per_prompt": PER_PROMPT, "seed": SEED}, f, indent=2)
    np.save(os.path.join(OUT, "token_ids.npy"), ids)
    np.save(os.path.join(OUT, "text_states.npy"), states)
    np.save(os.path.join(OUT, "latents.npy"), latents)
    np.save(os.path.join(OUT, "images.npy"), np.stack(images))


if __name__ == "__main__":
    main()
