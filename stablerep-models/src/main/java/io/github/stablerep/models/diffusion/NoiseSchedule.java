package io.github.stablerep.models.diffusion;

import java.util.Arrays;

/**
 * The arithmetic every scheduler shares: the training β schedule and ᾱ, and NumPy's
 * {@code linspace}/{@code arange} as diffusers calls them to pick inference timesteps.
 *
 * <p>Precision follows diffusers: β, α and ᾱ are float32 tensors there, so they are {@code
 * float} here. ᾱ is the running product accumulated in double and rounded to float after every
 * factor, which is what torch's CPU {@code cumprod} does for float32. β of the linear schedules
 * follows torch's float32 linspace kernel ({@link #torchLinspace}); with both, ᾱ equals
 * diffusers' bit for bit on torch 1.13's AVX2 build. (The exact linspace rounded to float differs
 * from torch's in an ulp of a few β, which moves ᾱ by up to 2.5e-7 relative and a DPM-Solver
 * third-order step by 1.2e-6: measured.) Timestep grids are computed in double with NumPy's
 * formulas and its round-half-to-even, because there a different rounding moves a timestep by
 * one.
 */
final class NoiseSchedule {

  private NoiseSchedule() {}

  /** β_0..β_{T-1} in float32, as diffusers' constructors build them. */
  static float[] betas(int numTrainTimesteps, double betaStart, double betaEnd, BetaSchedule schedule,
      double[] trainedBetas) {
    float[] betas = new float[numTrainTimesteps];
    if (trainedBetas != null) {
      for (int i = 0; i < numTrainTimesteps; i++) {
        betas[i] = (float) trainedBetas[i];
      }
      return betas;
    }
    switch (schedule) {
      case LINEAR: {
        return torchLinspace((float) betaStart, (float) betaEnd, numTrainTimesteps);
      }
      case SCALED_LINEAR: {
        // diffusers: torch.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=float32) ** 2
        float[] r = torchLinspace((float) Math.sqrt(betaStart), (float) Math.sqrt(betaEnd), numTrainTimesteps);
        for (int i = 0; i < numTrainTimesteps; i++) {
          betas[i] = r[i] * r[i];
        }
        return betas;
      }
      case SQUAREDCOS_CAP_V2: {
        // diffusers' betas_for_alpha_bar: Python floats, then one cast to float32.
        for (int i = 0; i < numTrainTimesteps; i++) {
          double t1 = (double) i / numTrainTimesteps;
          double t2 = (double) (i + 1) / numTrainTimesteps;
          betas[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return betas;
      }
      default:
        throw new AssertionError(schedule);
    }
  }

  private static double alphaBar(double t) {
    double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
    return c * c;
  }

  /**
   * diffusers' {@code rescale_zero_terminal_snr} (Lin et al. 2023, Algorithm 1), in float32 as
   * diffusers computes it: shift and scale √ᾱ so that its last value is 0 and its first unchanged,
   * then recover β. The last β becomes 1, so ᾱ_{T−1} = 0 (pure noise at the last timestep).
   */
  static float[] rescaleZeroTerminalSnr(float[] betas) {
    int n = betas.length;
    float[] sqrtBar = new float[n];
    float[] cumprod = alphasCumprod(betas);
    for (int i = 0; i < n; i++) {
      sqrtBar[i] = (float) Math.sqrt(cumprod[i]);
    }
    float first = sqrtBar[0];
    float last = sqrtBar[n - 1];
    float scale = first / (first - last);
    float[] bar = new float[n];
    for (int i = 0; i < n; i++) {
      float v = (sqrtBar[i] - last) * scale;
      bar[i] = v * v;
    }
    float[] out = new float[n];
    out[0] = 1f - bar[0];
    for (int i = 1; i < n; i++) {
      out[i] = 1f - bar[i] / bar[i - 1];
    }
    return out;
  }

  /** ᾱ_t = Π_{s<=t} (1 − β_s): float factors, double accumulator, float results (torch's cumprod). */
  static float[] alphasCumprod(float[] betas) {
    float[] out = new float[betas.length];
    double acc = 1.0;
    for (int i = 0; i < betas.length; i++) {
      float alpha = 1f - betas[i];
      acc *= alpha;
      out[i] = (float) acc;
    }
    return out;
  }

  /**
   * {@code torch.linspace(start, stop, num, dtype=float32)} as torch's CPU kernel computes it: a
   * float step, the first half counted up from {@code start} and the second half down from {@code
   * stop}, in vectors of {@link #TORCH_LANES} whose first lane is a fused multiply-add and whose
   * other lanes add {@code k·step} to it; a scalar tail. This reproduces torch 1.13's AVX2 build
   * bit for bit on SD's schedules (checked for T = 1000 and 37). It matters because 1 − ᾱ at small
   * t cancels: one ulp in a β moves σ_t by ~1e-6 there, and DPM-Solver's third-order step
   * amplifies that past 1e-6.
   */
  static float[] torchLinspace(float start, float stop, int num) {
    float[] out = new float[num];
    if (num == 1) {
      out[0] = start;
      return out;
    }
    float step = (stop - start) / (num - 1);
    int halfway = num / 2;
    int i = 0;
    // torch's vectorised loop takes two vectors per iteration while a pair fits, then a scalar tail.
    for (; i <= num - 2 * TORCH_LANES; i += 2 * TORCH_LANES) {
      for (int v = i; v < i + 2 * TORCH_LANES; v += TORCH_LANES) {
        float base = v < halfway ? Math.fma(step, (float) v, start) : Math.fma(-step, (float) (num - v - 1), stop);
        for (int k = 0; k < TORCH_LANES; k++) {
          out[v + k] = base + k * step;
        }
      }
    }
    for (; i < num; i++) {
      out[i] = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (num - i - 1), stop);
    }
    return out;
  }

  /** Float lanes of torch's AVX2 vectors. */
  private static final int TORCH_LANES = 8;

  /**
   * {@code numpy.linspace(start, stop, num)}: {@code i * step + start} with {@code step = (stop -
   * start) / (num - 1)}, the last value set to {@code stop}; a single value is {@code start}.
   */
  static double[] numpyLinspace(double start, double stop, int num) {
    double[] out = new double[num];
    if (num == 1) {
      out[0] = start;
      return out;
    }
    double step = (stop - start) / (num - 1);
    for (int i = 0; i < num; i++) {
      out[i] = i * step + start;
    }
    out[num - 1] = stop;
    return out;
  }

  /**
   * {@code numpy.arange(start, stop, step)} for floats: {@code ceil((stop − start) / step)}
   * values, filled as {@code start + i·delta} where {@code delta = (start + step) − start}, which
   * is how NumPy's fill differs from {@code start + i·step} in the last bit.
   */
  static double[] numpyArange(double start, double stop, double step) {
    int n = (int) Math.max(0, Math.ceil((stop - start) / step));
    double[] out = new double[n];
    if (n == 0) {
      return out;
    }
    out[0] = start;
    if (n > 1) {
      double second = start + step;
      double delta = second - start;
      out[1] = second;
      for (int i = 2; i < n; i++) {
        out[i] = start + i * delta;
      }
    }
    return out;
  }

  /**
   * diffusers' {@code trailing} grid: {@code round(numpy.arange(start, 0, −T / steps)) − 1},
   * highest first. For some n (61, 397, ... of T = 1000) NumPy's length {@code ceil(start / (T /
   * n))} comes out one too many and the extra value rounds to timestep −1, which diffusers v0.21
   * keeps (and then reads ᾱ[−1] = ᾱ_{T−1}, the noisiest value, for it). It is dropped here.
   */
  static double[] trailingGrid(int start, int numTrain, int steps) {
    double[] v = numpyArange(start, 0, -((double) numTrain / steps));
    return Arrays.stream(v).map(x -> Math.rint(x) - 1).filter(x -> x >= 0).toArray();
  }

  /** NumPy's {@code round}: half to even. */
  static long round(double v) {
    return (long) Math.rint(v);
  }

  /** A copy reversed. */
  static long[] reversed(long[] a) {
    long[] out = new long[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[a.length - 1 - i];
    }
    return out;
  }
}
