package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The per-step arguments of {@link Scheduler#step(INDArray, long, INDArray, StepOptions)}, as
 * diffusers' {@code step(..., eta, use_clipped_model_output, generator, variance_noise)}: they
 * belong to a call, not to the scheduler's configuration, so that one scheduler can be stepped
 * deterministically and stochastically, and no caller needs to know the concrete scheduler.
 *
 * <p>Only DDIM uses them: the other schedulers refuse {@code eta > 0} (diffusers' have no eta)
 * and ignore the rest, which then has no effect. {@link #DETERMINISTIC} is eta 0.
 *
 * <p>Immutable apart from the {@link Random} it may hold, which each stochastic step advances
 * (one Gaussian per element of the sample, drawn in C order).
 */
public final class StepOptions {
  /** eta 0, the model output as given: the deterministic step. */
  public static final StepOptions DETERMINISTIC = builder().build();

  private final double eta;
  private final boolean useClippedModelOutput;
  private final Random generator;
  private final INDArray varianceNoise;

  private StepOptions(Builder b) {
    this.eta = b.eta;
    this.useClippedModelOutput = b.useClippedModelOutput;
    this.generator = b.generator;
    this.varianceNoise = b.varianceNoise;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** eta with its noise drawn from {@code generator}: what a sampling loop needs. */
  public static StepOptions eta(double eta, Random generator) {
    return builder().eta(eta).generator(generator).build();
  }

  /** DDIM's η: the weight of the added noise, ≥ 0 (0: DDIM, 1: DDPM-like). */
  public double eta() {
    return eta;
  }

  /** Recompute ε̂ from the clipped x̂₀ (diffusers' {@code use_clipped_model_output}). */
  public boolean useClippedModelOutput() {
    return useClippedModelOutput;
  }

  /** The random source of the step noise when eta > 0, or null. */
  public Random generator() {
    return generator;
  }

  /** The step noise z itself (diffusers' {@code variance_noise}), or null to draw it from {@link #generator()}. */
  public INDArray varianceNoise() {
    return varianceNoise;
  }

  @Override
  public String toString() {
    return "StepOptions{eta=" + eta + ", useClippedModelOutput=" + useClippedModelOutput
        + (generator != null ? ", generator" : "") + (varianceNoise != null ? ", varianceNoise" : "") + "}";
  }

  /** Defaults: eta 0, model output as given, no noise source. */
  public static final class Builder {
    private double eta;
    private boolean useClippedModelOutput;
    private Random generator;
    private INDArray varianceNoise;

    private Builder() {}

    public Builder eta(double eta) {
      this.eta = eta;
      return this;
    }

    public Builder useClippedModelOutput(boolean useClippedModelOutput) {
      this.useClippedModelOutput = useClippedModelOutput;
      return this;
    }

    public Builder generator(Random generator) {
      this.generator = generator;
      return this;
    }

    public Builder varianceNoise(INDArray varianceNoise) {
      this.varianceNoise = varianceNoise;
      return this;
    }

    /**
     * @throws IllegalArgumentException for a negative or non-finite eta, eta > 0 without a noise
     *     source, or both a generator and explicit noise (as diffusers refuses both)
     */
    public StepOptions build() {
      checkArgument(eta >= 0 && Double.isFinite(eta), "eta: expected a finite value >= 0, found %s", eta);
      checkArgument(generator == null || varianceNoise == null,
          "generator: expected either a generator or varianceNoise, found both");
      checkArgument(eta == 0 || generator != null || varianceNoise != null,
          "generator: expected a Random (or varianceNoise) for eta %s > 0, found neither", eta);
      return new StepOptions(this);
    }
  }
}
