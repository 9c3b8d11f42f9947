package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The Euler sampler of Karras et al. (2022), Algorithm 2 without churn, with diffusers'
 * {@code EulerDiscreteScheduler} semantics. It works in σ = √((1−ᾱ)/ᾱ) space: the model sees
 * x / √(σ²+1) ({@link #scaleModelInput}), the initial noise has standard deviation {@link
 * #initNoiseSigma()}, and a step is x + (x − x̂₀)/σ · (σ_next − σ).
 *
 * <p>With {@code linspace} spacing (diffusers' default for this scheduler) the timesteps are
 * fractional, σ is interpolated linearly between training timesteps, and {@link
 * #modelTimesteps()} carries the fractional values for the model while {@link #timesteps()} holds
 * them rounded half to even (as NumPy rounds), to name steps. Steps look their σ up from t, so they may start anywhere in the
 * list (image-to-image) but no t may repeat. Not thread-safe.
 */
public final class EulerDiscreteScheduler extends AbstractScheduler {
  private final Builder spec;
  /** σ of the training timesteps, float32 in timestep order. */
  private final float[] trainSigmas;
  /** diffusers' timesteps: fractional for linspace, float32. */
  private float[] timestepValues;
  /** σ per step plus a final 0, float32. */
  private float[] sigmas;

  private EulerDiscreteScheduler(Builder b) {
    super(b);
    this.spec = b.copy();
    trainSigmas = new float[numTrainTimesteps];
    for (int i = 0; i < numTrainTimesteps; i++) {
      float a = alphasCumprod[i];
      trainSigmas[i] = sqrt((1f - a) / a);
    }
    // Before setTimesteps, diffusers' sigmas are the training ones, highest first, then 0.
    sigmas = new float[numTrainTimesteps + 1];
    for (int i = 0; i < numTrainTimesteps; i++) {
      sigmas[i] = trainSigmas[numTrainTimesteps - 1 - i];
    }
  }

  /** A builder with SD v1.5's values and this scheduler's own default spacing, linspace. */
  public static Builder builder() {
    return new Builder();
  }

  /** diffusers' {@code EulerDiscreteScheduler.from_config}: absent keys take its defaults. */
  public static EulerDiscreteScheduler fromConfig(DiffusersConfig c) {
    Builder b = new Builder();
    b.readCommon(c, TimestepSpacing.LINSPACE);
    String interpolation = c.getString("interpolation_type", "linear");
    checkArgument(interpolation.equals("linear"),
        "config %s: key 'interpolation_type': expected 'linear' (the only one implemented), found '%s'",
        c.source(), interpolation);
    SchedulerBuilder.requireUnsetOr(c, "use_karras_sigmas", false, "Karras sigmas are not implemented");
    return b.build();
  }

  /** A builder with this scheduler's config; {@code build()} gives an independent fresh instance. */
  public Builder toBuilder() {
    return spec.copy();
  }

  @Override
  public SchedulerType type() {
    return SchedulerType.EULER;
  }

  @Override
  long[] computeTimesteps(int steps) {
    float[] ts;
    switch (timestepSpacing) {
      case LINSPACE: {
        double[] v = NoiseSchedule.numpyLinspace(0, numTrainTimesteps - 1, steps);
        ts = new float[steps];
        for (int i = 0; i < steps; i++) {
          ts[steps - 1 - i] = (float) v[i];
        }
        break;
      }
      case LEADING: {
        int ratio = numTrainTimesteps / steps;
        ts = new float[steps];
        for (int i = 0; i < steps; i++) {
          ts[steps - 1 - i] = (float) ((long) i * ratio) + stepsOffset;
        }
        break;
      }
      case TRAILING: {
        double[] v = NoiseSchedule.trailingGrid(numTrainTimesteps, numTrainTimesteps, steps);
        ts = new float[v.length];
        for (int i = 0; i < v.length; i++) {
          ts[i] = (float) v[i];
        }
        break;
      }
      default:
        throw new AssertionError(timestepSpacing);
    }
    long[] labels = new long[ts.length];
    float[] s = new float[ts.length + 1];
    for (int i = 0; i < ts.length; i++) {
      labels[i] = NoiseSchedule.round(ts[i]);
      s[i] = (float) interpolate(ts[i]);
    }
    this.timestepValues = ts;
    this.sigmas = s;
    return labels;
  }

  /** {@code numpy.interp(x, arange(T), trainSigmas)}, in double. */
  private double interpolate(double x) {
    int last = numTrainTimesteps - 1;
    if (x <= 0) {
      return trainSigmas[0];
    }
    if (x >= last) {
      return trainSigmas[last];
    }
    int j = (int) Math.floor(x);
    double slope = (double) trainSigmas[j + 1] - trainSigmas[j];
    return slope * (x - j) + trainSigmas[j];
  }

  @Override
  void resetState() {
    // σ is looked up from t on every call: nothing to reset.
  }

  /** σ per step and a final 0 (a copy; float32 values); the training σ before setTimesteps. */
  public double[] sigmas() {
    double[] out = new double[sigmas.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = sigmas[i];
    }
    return out;
  }

  @Override
  public double[] modelTimesteps() {
    requireTimesteps("modelTimesteps()");
    double[] out = new double[timestepValues.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = timestepValues[i];
    }
    return out;
  }

  @Override
  public double initNoiseSigma() {
    float max = 0f;
    for (float s : sigmas) {
      max = Math.max(max, s);
    }
    if (timestepSpacing == TimestepSpacing.LEADING) {
      return sqrt(max * max + 1f);
    }
    return max;
  }

  @Override
  public INDArray scaleModelInput(INDArray sample, long t) {
    checkArgument(sample != null, "sample: expected an array, found null");
    requireTimesteps("scaleModelInput");
    float sigma = sigmas[indexOf(t)];
    return sample.div(sqrt(sigma * sigma + 1f));
  }

  /** Reports x̂₀, as diffusers' {@code pred_original_sample}; refuses eta > 0 (the churn-free step has no noise). */
  @Override
  public SchedulerOutput step(INDArray modelOutput, long t, INDArray sample, StepOptions options) {
    requireNoEta(options);
    checkStepArgs(modelOutput, sample);
    requireTimesteps("step");
    int i = indexOf(t);
    float sigma = sigmas[i];
    INDArray x0;
    switch (predictionType) {
      case EPSILON:
        x0 = sample.sub(modelOutput.mul(sigma));
        break;
      case V_PREDICTION:
        x0 = modelOutput.mul(-sigma / sqrt(sigma * sigma + 1f)).addi(sample.div(sigma * sigma + 1f));
        break;
      case SAMPLE:
        x0 = modelOutput;
        break;
      default:
        throw new AssertionError(predictionType);
    }
    INDArray derivative = sample.sub(x0).divi(sigma);
    float dt = sigmas[i + 1] - sigma;
    return new SchedulerOutput(sample.add(derivative.muli(dt)), x0 == modelOutput ? x0.dup() : x0);
  }

  @Override
  public String toString() {
    return "EulerDiscreteScheduler[" + spec + "]";
  }

  /** Fields named as diffusers' {@code EulerDiscreteScheduler} config keys. */
  public static final class Builder extends SchedulerBuilder<Builder> {
    Builder() {
      super(TimestepSpacing.LINSPACE);
    }

    @Override
    Builder self() {
      return this;
    }

    Builder copy() {
      Builder b = new Builder();
      b.copyCommonFrom(this);
      return b;
    }

    public EulerDiscreteScheduler build() {
      validateCommon();
      return new EulerDiscreteScheduler(this);
    }

    @Override
    public String toString() {
      return commonFields();
    }
  }
}
