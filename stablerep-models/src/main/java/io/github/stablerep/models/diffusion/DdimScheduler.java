package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * DDIM (Song et al. 2021) with diffusers' {@code DDIMScheduler} semantics: StableRep's sampler
 * (50 steps, eta 0). Stateless between steps apart from the timestep list, but still not
 * thread-safe (see {@link Scheduler}).
 *
 * <p>Per step, with ᾱ at t and at the next listed timestep (or the final ᾱ, 1 with {@code
 * set_alpha_to_one}, else ᾱ_0): x̂₀ and ε̂ from the model output, x̂₀ optionally clipped, σ =
 * eta·√((1−ᾱ_prev)/(1−ᾱ_t)·(1−ᾱ_t/ᾱ_prev)), and x_prev = √ᾱ_prev·x̂₀ + √(1−ᾱ_prev−σ²)·ε̂ + σ·z.
 */
public final class DdimScheduler extends AbstractScheduler {
  private final Builder spec;
  private final float finalAlphaCumprod;

  private DdimScheduler(Builder b) {
    super(b);
    this.spec = b.copy();
    this.finalAlphaCumprod = b.setAlphaToOne ? 1f : alphasCumprod[0];
  }

  /** A builder with SD v1.5's values: scaled_linear 0.00085..0.012, no clipping, offset 1, leading. */
  public static Builder builder() {
    return new Builder();
  }

  /** diffusers' {@code DDIMScheduler.from_config}: absent keys take DDIMScheduler's defaults. */
  public static DdimScheduler fromConfig(DiffusersConfig c) {
    Builder b = new Builder();
    b.readCommon(c, TimestepSpacing.LEADING);
    b.clipSample = c.getBoolean("clip_sample", true);
    b.clipSampleRange = c.getDouble("clip_sample_range", 1.0);
    b.setAlphaToOne = c.getBoolean("set_alpha_to_one", true);
    SchedulerBuilder.requireUnsetOr(c, "thresholding", false,
        "dynamic thresholding is not implemented; diffusers calls it unsuitable for latent diffusion");
    b.rescaleBetasZeroSnr = c.getBoolean("rescale_betas_zero_snr", false);
    return b.build();
  }

  /** A builder with this scheduler's config; {@code build()} gives an independent fresh instance. */
  public Builder toBuilder() {
    return spec.copy();
  }

  @Override
  public SchedulerType type() {
    return SchedulerType.DDIM;
  }

  @Override
  long[] computeTimesteps(int steps) {
    return ddimGrid(timestepSpacing, numTrainTimesteps, steps, stepsOffset);
  }

  /** The descending grid diffusers' DDIM (and, reversed, PNDM) builds for each spacing. */
  static long[] ddimGrid(TimestepSpacing spacing, int numTrain, int steps, int offset) {
    switch (spacing) {
      case LINSPACE: {
        double[] v = NoiseSchedule.numpyLinspace(0, numTrain - 1, steps);
        long[] out = new long[steps];
        for (int i = 0; i < steps; i++) {
          out[steps - 1 - i] = NoiseSchedule.round(v[i]);
        }
        return out;
      }
      case LEADING: {
        int ratio = numTrain / steps;
        long[] out = new long[steps];
        for (int i = 0; i < steps; i++) {
          out[steps - 1 - i] = (long) i * ratio + offset;
        }
        return out;
      }
      case TRAILING: {
        double[] v = NoiseSchedule.trailingGrid(numTrain, numTrain, steps);
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
          out[i] = (long) v[i];
        }
        return out;
      }
      default:
        throw new AssertionError(spacing);
    }
  }

  @Override
  void resetState() {
    // DDIM keeps no state between steps.
  }

  @Override
  public double initNoiseSigma() {
    return 1.0;
  }

  /**
   * The step, as diffusers' {@code DDIMScheduler.step(..., eta, use_clipped_model_output,
   * generator, variance_noise)}: with eta > 0 the noise z is {@link StepOptions#varianceNoise()},
   * else drawn from {@link StepOptions#generator()} (standard normal, C order). Reports x̂₀ (after
   * clipping, when {@code clip_sample} is on), as diffusers' {@code pred_original_sample}.
   */
  @Override
  public SchedulerOutput step(INDArray modelOutput, long t, INDArray sample, StepOptions options) {
    checkArgument(options != null, "options: expected StepOptions (StepOptions.DETERMINISTIC), found null");
    double eta = options.eta();
    boolean useClippedModelOutput = options.useClippedModelOutput();
    INDArray varianceNoise = options.varianceNoise();
    if (eta > 0 && varianceNoise == null) {
      checkArgument(sample != null, "sample: expected an array, found null");
      double[] z = new double[(int) sample.length()];
      for (int i = 0; i < z.length; i++) {
        z[i] = options.generator().nextGaussian();
      }
      varianceNoise = Nd4j.create(z, sample.shape(), 'c').castTo(sample.dataType());
    }
    checkStepArgs(modelOutput, sample);
    requireTimesteps("step");
    int i = indexOf(t);
    long prev = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
    if (eta > 0) {
      checkArgument(varianceNoise != null, "varianceNoise: expected an array for eta %s > 0, found null", eta);
      checkArgument(Arrays.equals(varianceNoise.shape(), sample.shape()),
          "varianceNoise: expected the shape of sample %s, found %s", Arrays.toString(sample.shape()),
          Arrays.toString(varianceNoise.shape()));
    }
    // Scalars in float32 and in diffusers' order of operations, since diffusers holds them as
    // 0-d float32 tensors.
    float alphaT = alphasCumprod[(int) t];
    float alphaPrev = alphaProd(prev, finalAlphaCumprod);
    float betaT = 1f - alphaT;
    float sqrtAlphaT = sqrt(alphaT);
    float sqrtBetaT = sqrt(betaT);
    INDArray x0;
    INDArray eps;
    switch (predictionType) {
      case EPSILON:
        x0 = sample.sub(modelOutput.mul(sqrtBetaT)).divi(sqrtAlphaT);
        eps = modelOutput;
        break;
      case SAMPLE:
        x0 = modelOutput;
        eps = sample.sub(x0.mul(sqrtAlphaT)).divi(sqrtBetaT);
        break;
      case V_PREDICTION:
        x0 = sample.mul(sqrtAlphaT).subi(modelOutput.mul(sqrtBetaT));
        eps = modelOutput.mul(sqrtAlphaT).addi(sample.mul(sqrtBetaT));
        break;
      default:
        throw new AssertionError(predictionType);
    }
    if (spec.clipSample) {
      double r = spec.clipSampleRange;
      x0 = Transforms.max(Transforms.min(x0, r, true), -r, false);
    }
    float betaPrev = 1f - alphaPrev;
    float variance = (betaPrev / betaT) * (1f - alphaT / alphaPrev);
    float std = (float) eta * sqrt(variance);
    if (useClippedModelOutput) {
      eps = sample.sub(x0.mul(sqrtAlphaT)).divi(sqrtBetaT);
    }
    float direction = sqrt(1f - alphaPrev - std * std);
    INDArray prevSample = x0.mul(sqrt(alphaPrev)).addi(eps.mul(direction));
    if (eta > 0) {
      prevSample.addi(varianceNoise.mul(std));
    }
    // x0 may be the caller's modelOutput itself (SAMPLE prediction without clipping): a copy, as the output is fresh
    return new SchedulerOutput(prevSample, x0 == modelOutput ? x0.dup() : x0);
  }

  @Override
  public String toString() {
    return "DdimScheduler[" + spec + "]";
  }

  /** Fields named as diffusers' {@code DDIMScheduler} config keys; defaults are SD v1.5's. */
  public static final class Builder extends SchedulerBuilder<Builder> {
    boolean clipSample = false;
    double clipSampleRange = 1.0;
    boolean setAlphaToOne = false;
    boolean rescaleBetasZeroSnr = false;

    Builder() {
      super(TimestepSpacing.LEADING);
    }

    @Override
    float[] betas() {
      float[] betas = super.betas();
      return rescaleBetasZeroSnr ? NoiseSchedule.rescaleZeroTerminalSnr(betas) : betas;
    }

    @Override
    Builder self() {
      return this;
    }

    /** {@code clip_sample}: clamp x̂₀ to ±{@code clip_sample_range} (off for latent diffusion). */
    public Builder clipSample(boolean clipSample) {
      this.clipSample = clipSample;
      return this;
    }

    /** {@code clip_sample_range}. */
    public Builder clipSampleRange(double clipSampleRange) {
      this.clipSampleRange = clipSampleRange;
      return this;
    }

    /** {@code set_alpha_to_one}: the last step targets ᾱ = 1 (true) or ᾱ_0 (false, as SD). */
    public Builder setAlphaToOne(boolean setAlphaToOne) {
      this.setAlphaToOne = setAlphaToOne;
      return this;
    }

    /**
     * {@code rescale_betas_zero_snr}: rescale β so the last timestep is pure noise (Lin et al.
     * 2023); pair it with v_prediction and trailing spacing, since ᾱ_{T−1} = 0 leaves epsilon
     * prediction undefined there.
     */
    public Builder rescaleBetasZeroSnr(boolean rescaleBetasZeroSnr) {
      this.rescaleBetasZeroSnr = rescaleBetasZeroSnr;
      return this;
    }

    Builder copy() {
      Builder b = new Builder();
      b.copyCommonFrom(this);
      b.rescaleBetasZeroSnr = rescaleBetasZeroSnr;
      b.clipSample = clipSample;
      b.clipSampleRange = clipSampleRange;
      b.setAlphaToOne = setAlphaToOne;
      return b;
    }

    public DdimScheduler build() {
      validateCommon();
      checkArgument(clipSampleRange > 0, "clipSampleRange: expected > 0, found %s", clipSampleRange);
      return new DdimScheduler(this);
    }

    @Override
    public String toString() {
      return commonFields() + ", clipSample=" + clipSample + ", clipSampleRange=" + clipSampleRange
          + ", setAlphaToOne=" + setAlphaToOne + ", rescaleBetasZeroSnr=" + rescaleBetasZeroSnr;
    }
  }
}
