#!/usr/bin/python3
"""Golden files for stablerep-models' diffusion schedulers, from diffusers' own scheduler classes.

Runs DDIMScheduler, PNDMScheduler, EulerDiscreteScheduler and DPMSolverMultistepScheduler of
diffusers v0.21.x (torch 1.13 from Debian, on the CPU) and records what the Java schedulers must
reproduce:

  golden/schedulers/timesteps_table.json
      for each scheduler x spacing x steps_offset x n: diffusers' timesteps (Euler: its float32
      values too), or "out_of_range" when diffusers yields a timestep outside [0, T), or
      "dropped_minus_one" where diffusers' trailing grid ends in a spurious -1 (np.arange's
      rounding gives n + 1 values for some n, e.g. 61 and 397) which the Java side drops: the
      timesteps recorded are diffusers' without that last value; or
      "prk_zero_half_step" for PNDM's PRK warm-up with n > T / 2 (half steps of T // n // 2 = 0,
      which the Java side refuses).
  golden/schedulers/betas.json
      DDIMScheduler's betas and alphas_cumprod (float32, as JSON numbers) for each beta_schedule
      over T in {1, 2, 17, 37, 100, 1000, 1500}: torch's float32 linspace is computed in vector
      lanes, so short and odd lengths take other code paths than T = 1000.
  golden/schedulers/cases/<name>/
      scheduler_config.json  the config the Java side loads (Scheduler.create); diffusers builds
                             its scheduler with from_config on the same dict
      case.json              {"type", "steps", "eta", "use_clipped_model_output", "note"}
      timesteps.npy          int64 (Euler: float32 values in model_timesteps.npy, rounded here)
      alphas_cumprod.npy     float32 [T]
      sigmas.npy             Euler only: float32 [len + 1]
      init_noise_sigma.npy   float64 [1]
      sample.npy             float32 [2, 3, 4, 4]: the initial sample (N(0,1) * init_noise_sigma)
      model_outputs.npy      float32 [K, 2, 3, 4, 4]: fixed random model outputs, one per step
      noise.npy              DDIM with eta > 0: the variance noise of each step
      scaled_inputs.npy      float32 [K, ...]: scale_model_input(sample_k, t_k)
      prev_samples.npy       float32 [K, ...]: the chain sample_{k+1} = step(model_outputs[k], t_k, sample_k)

The previous timestep. This project's scheduler contract (issue 6; the Scheduler Javadoc) takes the timestep a step
moves to from the timestep list, not t - T // n. diffusers' DDIM and PNDM compute t - T // n (PRK:
half of it); the two agree for "leading" spacing but not for grids that do not divide T
("linspace", and "trailing" when n does not divide T). To still run diffusers' own step
arithmetic with list semantics, each DDIM/PNDM step is called with `num_inference_steps`
replaced by an object whose `T // obj` is the gap to the next listed timestep (`_ListGap`);
nothing else in those steps reads `num_inference_steps`. The script checks that for "leading"
the result is identical to the unpatched scheduler (except PRK with an odd T // n, whose
half steps of T // n // 2 do not add up to the grid's gap), and prints how far diffusers' stock t - T // n
results are from the list-based ones for the other spacings. Euler and DPM-Solver already step
along their lists and run unpatched.

Run from the repository root, with diffusers' source and the hub stub on the path:

  DIFFUSERS_SRC=/path/to/diffusers-0.21.4/src HF_STUB_DIR=/path/to/shared/tools \
      /usr/bin/python3 tools/reference/scheduler_reference.py

DIFFUSERS_SRC is the `src` folder of an unpacked diffusers v0.21.x source tree (its
dependency_versions_check.py emptied); HF_STUB_DIR holds hf_stub.py, the offline stand-in for
huggingface_hub (see shared/README.md). Neither is part of this repository.
"""
import json
import os
import shutil
import sys

import numpy as np

sys.path[:0] = [os.environ["DIFFUSERS_SRC"], os.environ["HF_STUB_DIR"]]
import hf_stub  # noqa: E402,F401  (must precede diffusers)
import torch  # noqa: E402
from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler,  # noqa: E402
                       EulerDiscreteScheduler, PNDMScheduler)

MODELS = os.path.join("stablerep-models", "src", "test", "resources")
OUT = os.path.join(MODELS, "golden", "schedulers")
SD15 = os.path.join(MODELS, "diffusion", "sd-v1-5", "scheduler", "scheduler_config.json")
SHAPE = (2, 3, 4, 4)
CLASSES = {"DDIM": DDIMScheduler, "PNDM": PNDMScheduler, "EULER": EulerDiscreteScheduler,
           "DPM_SOLVER_MULTISTEP": DPMSolverMultistepScheduler}


class _ListGap:
    """Stands in for num_inference_steps so that `T // self` is a chosen gap."""

    def __init__(self, gap):
        self.gap = int(gap)

    def __rfloordiv__(self, other):
        return self.gap


def sd15():
    with open(SD15) as f:
        return json.load(f)


def make(kind, config):
    return CLASSES[kind].from_config(dict(config))


def ddim_step(s, mo, t, x, k, ts, eta, noise, list_prev, clipped):
    real = s.num_inference_steps
    if list_prev:
        nxt = ts[k + 1] if k + 1 < len(ts) else -1
        s.num_inference_steps = _ListGap(t - nxt)
    try:
        return s.step(mo, t, x, eta=eta, variance_noise=noise, use_clipped_model_output=clipped).prev_sample
    finally:
        s.num_inference_steps = real


def pndm_step(s, mo, t, x, k, ts, list_prev):
    real = s.num_inference_steps
    if list_prev:
        prk = len(s.prk_timesteps) if not s.config.skip_prk_steps else 0
        if k < prk:
            # step_prk: diff_to_prev = T // n // 2 on even counters
            gap = 2 * (t - ts[k + 1]) if k % 2 == 0 else 0
        elif k == 1:
            # step_plms' warm-up redo: from t + T // n back to t
            gap = ts[0] - t
        else:
            gap = t - (ts[k + 1] if k + 1 < len(ts) else -1)
        s.num_inference_steps = _ListGap(gap)
    try:
        return s.step(mo, t, x).prev_sample
    finally:
        s.num_inference_steps = real


def chain_inputs(s, config, seed, eta):
    """The initial sample, one fixed model output per step and (eta > 0) the variance noise, drawn in
    that order from one seeded generator: the inputs of every chain here and in scheduler_x0_reference.py."""
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(SHAPE, generator=g) * s.init_noise_sigma
    n = len(s.timesteps)
    scale = 0.5 if config.get("prediction_type") == "sample" else 1.0
    outputs = torch.randn((n,) + SHAPE, generator=g) * scale
    noise = torch.randn((n,) + SHAPE, generator=g) if eta > 0 else None
    return sample, outputs, noise


def run_chain(kind, config, steps, eta, seed, list_prev=True, clipped=False):
    s = make(kind, config)
    s.set_timesteps(steps)
    sample, outputs, noise = chain_inputs(s, config, seed, eta)
    n = len(s.timesteps)
    rec = {"timesteps": s.timesteps.clone(), "alphas_cumprod": s.alphas_cumprod.clone(),
           "init_noise_sigma": float(s.init_noise_sigma), "sample": sample.clone(), "model_outputs": outputs,
           "noise": noise}
    if kind == "EULER":
        rec["sigmas"] = s.sigmas.clone()
    ts = [int(round(float(t))) for t in s.timesteps]
    scaled, prevs = [], []
    x = sample
    for k in range(n):
        t_sched = s.timesteps[k]
        t = ts[k]
        inp = s.scale_model_input(x, t_sched if kind == "EULER" else t)
        scaled.append(inp.clone())
        mo = outputs[k]
        if kind == "DDIM":
            x = ddim_step(s, mo, t, x, k, ts, eta, None if noise is None else noise[k], list_prev, clipped)
        elif kind == "PNDM":
            x = pndm_step(s, mo, t, x, k, ts, list_prev)
        elif kind == "EULER":
            x = s.step(mo, t_sched, x).prev_sample
        else:
            x = s.step(mo, t, x).prev_sample
        prevs.append(x.clone())
    rec["scaled_inputs"] = torch.stack(scaled)
    rec["prev_samples"] = torch.stack(prevs)
    return rec


def save_case(name, kind, config, steps, eta=0.0, seed=0, note="", clipped=False):
    rec = run_chain(kind, config, steps, eta, seed, clipped=clipped)
    spacing = make(kind, config).config.timestep_spacing
    if kind in ("DDIM", "PNDM"):
        stock = run_chain(kind, config, steps, eta, seed, list_prev=False, clipped=clipped)
        diff = (stock["prev_samples"] - rec["prev_samples"]).abs().max().item()
        prk_odd_half = not make(kind, config).config.get("skip_prk_steps", True) \
            and (make(kind, config).config.num_train_timesteps // steps) % 2 == 1
        if spacing == "leading" and not prk_odd_half:
            assert diff == 0.0, f"{name}: list-based prev differs from diffusers for leading spacing ({diff})"
        elif diff > 0:
            print(f"  {name}: diffusers' t - T//n stepping differs from list-based by max {diff:.3g}")
    d = os.path.join(OUT, "cases", name)
    os.makedirs(d)
    with open(os.path.join(d, "scheduler_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump({"type": kind, "steps": steps, "eta": eta, "use_clipped_model_output": clipped, "note": note},
                  f, indent=2)
        f.write("\n")
    ts = rec["timesteps"].numpy()
    if kind == "EULER":
        np.save(os.path.join(d, "model_timesteps.npy"), ts.astype(np.float32))
        np.save(os.path.join(d, "sigmas.npy"), rec["sigmas"].numpy().astype(np.float32))
        ts = np.round(ts)
    np.save(os.path.join(d, "timesteps.npy"), ts.astype(np.int64))
    np.save(os.path.join(d, "alphas_cumprod.npy"), rec["alphas_cumprod"].numpy().astype(np.float32))
    np.save(os.path.join(d, "init_noise_sigma.npy"), np.array([rec["init_noise_sigma"]], dtype=np.float64))
    for key in ("sample", "model_outputs", "scaled_inputs", "prev_samples"):
        np.save(os.path.join(d, key + ".npy"), rec[key].numpy().astype(np.float32))
    if rec["noise"] is not None:
        np.save(os.path.join(d, "noise.npy"), rec["noise"].numpy().astype(np.float32))
    print(f"{name}: {kind} {spacing} n={steps} -> {len(ts)} steps, |x_end| max "
          f"{rec['prev_samples'][-1].abs().max().item():.3g}")


def with_(base, **kw):
    c = dict(base)
    c.update(kw)
    return c


def cases():
    sd = sd15()
    for kind in ("DDIM", "PNDM", "EULER", "DPM_SOLVER_MULTISTEP"):
        preds = ["epsilon", "v_prediction"] + ([] if kind == "PNDM" else ["sample"])
        for spacing in ("leading", "trailing", "linspace"):
            for pred in preds:
                save_case(f"{kind.lower()}_{spacing}_{pred}", kind,
                          with_(sd, timestep_spacing=spacing, prediction_type=pred), 10,
                          seed=len(spacing) * 7 + len(pred), note="SD v1.5 betas, 10 steps")
    # SD v1.5's real config, used as diffusers' from_config would with each scheduler.
    save_case("sd15_ddim_50", "DDIM", sd, 50, seed=1, note="StableRep's sampler: SD v1.5 config, 50 steps")
    save_case("sd15_pndm_50", "PNDM", sd, 50, seed=2, note="SD v1.5 folder default: PNDM, skip_prk_steps")
    save_case("sd15_euler_30", "EULER", sd, 30, seed=3, note="SD v1.5 config, Euler's default linspace")
    save_case("sd15_dpm_25", "DPM_SOLVER_MULTISTEP", sd, 25, seed=4,
              note="SD v1.5 config, DPM-Solver++(2M), linspace, no lower_order_final (>= 15 steps)")
    # DDIM extras.
    save_case("ddim_eta1_leading", "DDIM", sd, 10, eta=1.0, seed=5, note="eta 1 with given variance noise")
    save_case("ddim_eta05_linspace", "DDIM", with_(sd, timestep_spacing="linspace"), 10, eta=0.5, seed=6,
              note="eta 0.5, linspace")
    save_case("ddim_clipped_eta07", "DDIM", with_(sd, clip_sample=True, clip_sample_range=0.8), 10, eta=0.7,
              seed=23, clipped=True, note="clip_sample 0.8 with use_clipped_model_output, eta 0.7")
    save_case("ddim_zero_snr_trailing_v", "DDIM", with_(sd, rescale_betas_zero_snr=True, timestep_spacing="trailing",
                                                        prediction_type="v_prediction"), 10, seed=24,
              note="rescale_betas_zero_snr: alphas_cumprod[999] = 0, v_prediction, trailing")
    save_case("ddim_trailing_30", "DDIM", with_(sd, timestep_spacing="trailing"), 30, seed=7,
              note="30 does not divide 1000: the list's gaps are 33 and 34")
    save_case("ddim_diffusers_defaults", "DDIM", {}, 10, seed=8,
              note="empty config: linear 1e-4..0.02, clip_sample, set_alpha_to_one, offset 0")
    save_case("ddim_cosine_trailing", "DDIM",
              with_(sd, beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing", clip_sample=True,
                    clip_sample_range=1.5), 10, seed=9, note="squaredcos_cap_v2, clip 1.5")
    g = np.random.default_rng(10)
    betas = np.sort(g.uniform(0.001, 0.2, 20)).tolist()
    save_case("ddim_trained_betas", "DDIM", with_(sd, num_train_timesteps=20, trained_betas=betas,
                                                  set_alpha_to_one=True), 5, seed=11,
              note="trained_betas, T = 20")
    # PNDM's Runge-Kutta warm-up.
    for spacing in ("leading", "linspace"):
        save_case(f"pndm_prk_{spacing}", "PNDM", with_(sd, skip_prk_steps=False, timestep_spacing=spacing), 10,
                  seed=12, note="PRK warm-up (12 steps), then PLMS")
    save_case("pndm_prk_v_linear", "PNDM", with_(sd, skip_prk_steps=False, beta_schedule="linear",
                                                 beta_start=0.0001, beta_end=0.02,
                                                 prediction_type="v_prediction", set_alpha_to_one=True), 8,
              seed=13, note="PRK, linear betas, v_prediction")
    # DPM-Solver variants.
    save_case("dpm_leading_20", "DPM_SOLVER_MULTISTEP", with_(sd, timestep_spacing="leading"), 20, seed=14,
              note="20 steps: second order to the end")
    save_case("dpm_dpmsolver_eps", "DPM_SOLVER_MULTISTEP", with_(sd, algorithm_type="dpmsolver"), 10, seed=15,
              note="noise-prediction DPM-Solver")
    save_case("dpm_dpmsolver_v_heun", "DPM_SOLVER_MULTISTEP",
              with_(sd, algorithm_type="dpmsolver", solver_type="heun", prediction_type="v_prediction"), 12,
              seed=16, note="DPM-Solver, heun, v_prediction")
    save_case("dpm_heun", "DPM_SOLVER_MULTISTEP", with_(sd, solver_type="heun"), 10, seed=17,
              note="DPM-Solver++ heun")
    save_case("dpm_order3_20", "DPM_SOLVER_MULTISTEP", with_(sd, solver_order=3), 20, seed=18,
              note="third order")
    save_case("dpm_order3_dpmsolver_8", "DPM_SOLVER_MULTISTEP", with_(sd, solver_order=3,
                                                                     algorithm_type="dpmsolver"), 8,
              seed=19, note="third order, noise prediction, lower_order_final")
    save_case("dpm_order1", "DPM_SOLVER_MULTISTEP", with_(sd, solver_order=1), 10, seed=20,
              note="first order (DDIM-like)")
    save_case("dpm_no_lower_order_final", "DPM_SOLVER_MULTISTEP", with_(sd, lower_order_final=False), 10,
              seed=21, note="lower_order_final off")
    save_case("dpm_lambda_clipped", "DPM_SOLVER_MULTISTEP",
              with_(sd, lambda_min_clipped=-2.5, timestep_spacing="trailing"), 10, seed=22,
              note="lambda_min_clipped -2.5 cuts the noisiest timesteps")


STEPS = [1, 2, 3, 4, 7, 10, 16, 25, 30, 50, 61, 64, 100, 397, 500, 1000]


def table():
    rows = []
    sd = sd15()
    for kind in ("DDIM", "PNDM", "EULER", "DPM_SOLVER_MULTISTEP"):
        variants = [{}] if kind != "PNDM" else [{"skip_prk_steps": True}, {"skip_prk_steps": False}]
        for extra in variants:
            for spacing in ("leading", "trailing", "linspace"):
                for offset in (0, 1):
                    for n in STEPS:
                        if extra.get("skip_prk_steps") is False and n < 4:
                            continue
                        cfg = with_(sd, timestep_spacing=spacing, steps_offset=offset, **extra)
                        s = make(kind, cfg)
                        s.set_timesteps(n)
                        ts = s.timesteps.numpy()
                        row = {"type": kind, "config": cfg, "steps": n}
                        if kind == "EULER":
                            row["model_timesteps"] = [float(v) for v in ts.astype(np.float32)]
                            ts = np.round(ts)
                        ts = [int(v) for v in ts]
                        if spacing == "trailing" and ts[-1] == -1:
                            # np.arange(T, 0, -T / n) can yield n + 1 values by rounding; the extra
                            # becomes timestep -1, which diffusers then indexes as alphas_cumprod[-1].
                            # The Java side drops it: record diffusers' list without it.
                            row["dropped_minus_one"] = True
                            ts = ts[:-1]
                            if "model_timesteps" in row:
                                row["model_timesteps"] = row["model_timesteps"][:-1]
                        if extra.get("skip_prk_steps") is False and cfg["num_train_timesteps"] // n // 2 == 0:
                            # diffusers takes Runge-Kutta half steps of length 0 here; Java refuses
                            row["prk_zero_half_step"] = True
                        elif min(ts) < 0 or max(ts) >= cfg["num_train_timesteps"]:
                            row["out_of_range"] = True
                        else:
                            row["timesteps"] = ts
                        rows.append(row)
    with open(os.path.join(OUT, "timesteps_table.json"), "w") as f:
        json.dump(rows, f, separators=(",", ":"))
        f.write("\n")
    print(f"timesteps_table.json: {len(rows)} rows, "
          f"{sum(1 for r in rows if r.get('out_of_range'))} out of range")


def betas():
    rows = []
    for schedule, start, end in (("linear", 0.0001, 0.02), ("scaled_linear", 0.00085, 0.012),
                                 ("squaredcos_cap_v2", 0.0001, 0.02)):
        for T in (1, 2, 17, 37, 100, 1000, 1500):
            s = DDIMScheduler(num_train_timesteps=T, beta_start=start, beta_end=end, beta_schedule=schedule)
            rows.append({"beta_schedule": schedule, "beta_start": start, "beta_end": end, "num_train_timesteps": T,
                         "betas": [float(v) for v in s.betas.numpy()],
                         "alphas_cumprod": [float(v) for v in s.alphas_cumprod.numpy()]})
    with open(os.path.join(OUT, "betas.json"), "w") as f:
        json.dump(rows, f, separators=(",", ":"))
        f.write("\n")
    print(f"betas.json: {len(rows)} schedules")


def main():
    torch.set_num_threads(1)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "cases"))
    betas()
    table()
    cases()


if __name__ == "__main__":
    main()
