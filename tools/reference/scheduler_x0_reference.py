#!/usr/bin/python3
"""Golden files for the predicted x0 (diffusers' `pred_original_sample`) of Scheduler.step.

diffusers v0.21.x reports `pred_original_sample` from DDIMScheduler.step (DDIMSchedulerOutput)
and EulerDiscreteScheduler.step (EulerDiscreteSchedulerOutput); PNDM and DPM-Solver return a
plain SchedulerOutput without it. This script runs diffusers' own DDIM and Euler schedulers (torch
1.13 from Debian, CPU) along a chain and records, for each step k:

  golden/schedulers/x0/<name>/
      scheduler_config.json          the config both sides load (diffusers via from_config)
      case.json                      {"type", "steps", "eta", "use_clipped_model_output", "note"}
      sample.npy                     float32 [2, 3, 4, 4]: the initial sample (N(0,1) * init_noise_sigma)
      model_outputs.npy              float32 [K, 2, 3, 4, 4]: fixed random model outputs
      noise.npy                      DDIM with eta > 0: each step's variance noise
      prev_samples.npy               float32 [K, ...]: step(...).prev_sample along the chain
      pred_original_samples.npy      float32 [K, ...]: step(...).pred_original_sample

Only "leading" spacing for DDIM, where diffusers' previous timestep t - T // n equals the next
listed timestep (the Java contract, see scheduler_reference.py), so diffusers runs unpatched.
Euler steps along its own list.

Run from the repository root:

  DIFFUSERS_SRC=/path/to/diffusers-0.21.4/src HF_STUB_DIR=/path/to/shared/tools \\
      /usr/bin/python3 tools/reference/scheduler_x0_reference.py
"""
import json
import os
import shutil
import sys

import numpy as np

sys.path[:0] = [os.environ["DIFFUSERS_SRC"], os.environ["HF_STUB_DIR"]]
import hf_stub  # noqa: E402,F401  (must precede diffusers)
import torch  # noqa: E402
from diffusers import DDIMScheduler, EulerDiscreteScheduler  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scheduler_reference import chain_inputs  # noqa: E402  (the same chain inputs as the step goldens)

MODELS = os.path.join("stablerep-models", "src", "test", "resources")
OUT = os.path.join(MODELS, "golden", "schedulers", "x0")
SD15 = os.path.join(MODELS, "diffusion", "sd-v1-5", "scheduler", "scheduler_config.json")
CLASSES = {"DDIM": DDIMScheduler, "EULER": EulerDiscreteScheduler}


def save_case(name, kind, config, steps, eta=0.0, seed=0, clipped=False, note=""):
    s = CLASSES[kind].from_config(dict(config))
    s.set_timesteps(steps)
    sample, outputs, noise = chain_inputs(s, config, seed, eta)
    n = len(s.timesteps)
    prevs, x0s = [], []
    x = sample
    for k in range(n):
        t = s.timesteps[k]
        if kind == "DDIM":
            out = s.step(outputs[k], int(t), x, eta=eta, use_clipped_model_output=clipped,
                         variance_noise=None if noise is None else noise[k])
        else:
            s.scale_model_input(x, t)  # Euler requires it before step (it marks the input scaled)
            out = s.step(outputs[k], t, x)
        x = out.prev_sample
        prevs.append(x.clone())
        x0s.append(out.pred_original_sample.clone())
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "scheduler_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump({"type": kind, "steps": steps, "eta": eta, "use_clipped_model_output": clipped, "note": note},
                  f, indent=2)
    np.save(os.path.join(d, "sample.npy"), sample.numpy().astype(np.float32))
    np.save(os.path.join(d, "model_outputs.npy"), outputs.numpy().astype(np.float32))
    if noise is not None:
        np.save(os.path.join(d, "noise.npy"), noise.numpy().astype(np.float32))
    np.save(os.path.join(d, "prev_samples.npy"), torch.stack(prevs).numpy().astype(np.float32))
    np.save(os.path.join(d, "pred_original_samples.npy"), torch.stack(x0s).numpy().astype(np.float32))
    print(name, kind, n, "steps")


def main():
    with open(SD15) as f:
        sd = json.load(f)
    shutil.rmtree(OUT, ignore_errors=True)
    save_case("ddim_sd15_epsilon", "DDIM", sd, 10, seed=11, note="SD v1.5 config, leading, epsilon")
    save_case("ddim_v_prediction", "DDIM", dict(sd, prediction_type="v_prediction"), 8, seed=12,
              note="v-prediction")
    save_case("ddim_sample_clipped", "DDIM", dict(sd, prediction_type="sample", clip_sample=True,
                                                 clip_sample_range=0.8), 8, seed=13,
              note="x0 prediction, clipped to 0.8: pred_original_sample is the clipped x0")
    save_case("ddim_eta07_clipped", "DDIM", dict(sd, clip_sample=True, clip_sample_range=0.8), 8, eta=0.7,
              seed=14, clipped=True, note="eta 0.7 with given noise, use_clipped_model_output")
    save_case("euler_sd15", "EULER", sd, 10, seed=15, note="SD v1.5 config, Euler's default linspace")
    save_case("euler_v_prediction", "EULER", dict(sd, prediction_type="v_prediction", timestep_spacing="leading"),
              8, seed=16, note="v-prediction, leading")


if __name__ == "__main__":
    main()
