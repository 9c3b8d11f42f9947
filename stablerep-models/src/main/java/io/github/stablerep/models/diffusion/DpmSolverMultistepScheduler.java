package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Multistep DPM-Solver (Lu et al. 2022) with diffusers' {@code DPMSolverMultistepScheduler}
 * semantics; the defaults give DPM-Solver++(2M): {@code solver_order} 2, {@code algorithm_type}
 * dpmsolver++, {@code solver_type} midpoint, {@code lower_order_final}. The noise-prediction form
 * {@code dpmsolver}, the heun solver type and orders 1 and 3 are supported; the SDE variants,
 * thresholding and Karras sigmas are not, and configs asking for them are rejected.
 *
 * <p>In log-SNR λ_t = log α_t − log σ_t (α_t = √ᾱ_t, σ_t = √(1−ᾱ_t)) with h = λ_next − λ_t, the
 * 2M step is x_next = σ_next/σ_t·x − α_next(e^{−h}−1)·(D0 + D1/2), D0 the current x̂₀ and D1 its
 * finite difference with the previous step's. The step after the last listed timestep goes to
 * timestep 0, as in diffusers; with fewer than 15 steps and {@code lower_order_final} the last
 * steps drop to lower order.
 *
 * <p>Stateful: the previous model outputs are kept, so after the first step (which may start
 * anywhere in the list, for image-to-image) each step must use the next timestep of the list;
 * {@link #setTimesteps} resets the state. Not thread-safe.
 */
public final class DpmSolverMultistepScheduler extends AbstractScheduler {
  /** {@code algorithm_type}: which integral is discretised. */
  public enum AlgorithmType {
    /** DPM-Solver++: data (x̂₀) prediction. */
    DPMSOLVER_PLUS_PLUS("dpmsolver++"),
    /** DPM-Solver: noise (ε̂) prediction. */
    DPMSOLVER("dpmsolver");

    private final String configName;

    AlgorithmType(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }
  }

  /** {@code solver_type}: the second-order correction. */
  public enum SolverType {
    MIDPOINT("midpoint"),
    HEUN("heun");

    private final String configName;

    SolverType(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }
  }

  private final Builder spec;
  private final float[] alphaT;
  private final float[] sigmaT;
  private final float[] lambdaT;

  /** The last solverOrder converted model outputs, oldest first; null entries before warm-up. */
  private INDArray[] modelOutputs;
  private int lowerOrderNums;
  /** Index of the last step taken, −1 after setTimesteps. */
  private int lastIndex;

  private DpmSolverMultistepScheduler(Builder b) {
    super(b);
    this.spec = b.copy();
    int n = numTrainTimesteps;
    alphaT = new float[n];
    sigmaT = new float[n];
    lambdaT = new float[n];
    for (int i = 0; i < n; i++) {
      alphaT[i] = sqrt(alphasCumprod[i]);
      sigmaT[i] = sqrt(1f - alphasCumprod[i]);
      lambdaT[i] = (float) Math.log(alphaT[i]) - (float) Math.log(sigmaT[i]);
    }
    modelOutputs = new INDArray[b.solverOrder];
  }

  /** A builder with SD v1.5's β schedule and DPM-Solver++(2M), this scheduler's default linspace spacing. */
  public static Builder builder() {
    return new Builder();
  }

  /** diffusers' {@code DPMSolverMultistepScheduler.from_config}: absent keys take its defaults. */
  public static DpmSolverMultistepScheduler fromConfig(DiffusersConfig c) {
    Builder b = new Builder();
    b.readCommon(c, TimestepSpacing.LINSPACE);
    String src = c.source();
    b.solverOrder = c.getInt("solver_order", 2);
    String algorithm = c.getString("algorithm_type", "dpmsolver++");
    String algorithmName = algorithm.equals("deis") ? "dpmsolver++" : algorithm; // diffusers' own substitution
    b.algorithmType = Arrays.stream(AlgorithmType.values()).filter(a -> a.configName.equals(algorithmName))
        .findFirst().orElseThrow(() -> new IllegalArgumentException(String.format(
            "config %s: key 'algorithm_type': expected dpmsolver++ or dpmsolver (the SDE variants are not "
                + "implemented), found '%s'", src, algorithm)));
    String solver = c.getString("solver_type", "midpoint");
    if (solver.equals("logrho") || solver.equals("bh1") || solver.equals("bh2")) {
      solver = "midpoint"; // diffusers' own substitution
    }
    String solverName = solver;
    b.solverType = Arrays.stream(SolverType.values()).filter(s -> s.configName.equals(solverName)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException(String.format(
            "config %s: key 'solver_type': expected midpoint or heun, found '%s'", src, solverName)));
    b.lowerOrderFinal = c.getBoolean("lower_order_final", true);
    b.lambdaMinClipped = c.getDouble("lambda_min_clipped", Double.NEGATIVE_INFINITY);
    SchedulerBuilder.requireUnsetOr(c, "thresholding", false,
        "dynamic thresholding is not implemented; diffusers calls it unsuitable for latent diffusion");
    SchedulerBuilder.requireUnsetOr(c, "use_karras_sigmas", false, "Karras sigmas are not implemented");
    checkArgument(!c.has("variance_type"),
        "config %s: key 'variance_type': expected null (learned variance is not implemented), found '%s'", src,
        c.has("variance_type") ? c.getString("variance_type") : null);
    return b.build();
  }

  /** A builder with this scheduler's config; {@code build()} gives an independent fresh instance. */
  public Builder toBuilder() {
    return spec.copy();
  }

  @Override
  public SchedulerType type() {
    return SchedulerType.DPM_SOLVER_MULTISTEP;
  }

  @Override
  long[] computeTimesteps(int steps) {
    // diffusers: clipped_idx = searchsorted(flip(lambda_t), lambda_min_clipped); λ falls with t.
    int clipped = 0;
    while (clipped < numTrainTimesteps && lambdaT[numTrainTimesteps - 1 - clipped] < spec.lambdaMinClipped) {
      clipped++;
    }
    int last = numTrainTimesteps - clipped;
    long[] grid;
    switch (timestepSpacing) {
      case LINSPACE: {
        double[] v = NoiseSchedule.numpyLinspace(0, last - 1, steps + 1);
        grid = new long[steps];
        for (int i = 0; i < steps; i++) {
          grid[i] = NoiseSchedule.round(v[steps - i]);
        }
        break;
      }
      case LEADING: {
        int ratio = last / (steps + 1);
        grid = new long[steps];
        for (int i = 0; i < steps; i++) {
          grid[i] = (long) (steps - i) * ratio + stepsOffset;
        }
        break;
      }
      case TRAILING: {
        double[] v = NoiseSchedule.trailingGrid(last, numTrainTimesteps, steps);
        grid = new long[v.length];
        for (int i = 0; i < v.length; i++) {
          grid[i] = (long) v[i];
        }
        break;
      }
      default:
        throw new AssertionError(timestepSpacing);
    }
    // Rounding can repeat a timestep; diffusers keeps the first of each, in order.
    Set<Long> unique = new LinkedHashSet<>();
    for (long t : grid) {
      unique.add(t);
    }
    return unique.stream().mapToLong(Long::longValue).toArray();
  }

  @Override
  void resetState() {
    modelOutputs = new INDArray[spec.solverOrder];
    lowerOrderNums = 0;
    lastIndex = -1;
  }

  @Override
  public double initNoiseSigma() {
    return 1.0;
  }

  /**
   * diffusers' DPM-Solver reports no x̂₀ (its converted model output is x̂₀ for the ++ variant,
   * but is kept as multistep history only); refuses eta > 0.
   */
  @Override
  public SchedulerOutput step(INDArray modelOutput, long t, INDArray sample, StepOptions options) {
    requireNoEta(options);
    return new SchedulerOutput(multistep(modelOutput, t, sample), null);
  }

  private INDArray multistep(INDArray modelOutput, long t, INDArray sample) {
    checkStepArgs(modelOutput, sample);
    requireTimesteps("step");
    int i = indexOf(t);
    int n = timesteps.length;
    if (lastIndex >= 0 && i != lastIndex + 1) {
      throw new IllegalArgumentException(String.format(
          "t: expected %s, the timestep after the previous step's %s (DPM-Solver keeps its history), found %s",
          lastIndex + 1 < n ? String.valueOf(timesteps[lastIndex + 1]) : "none (all steps taken)",
          timesteps[lastIndex], t));
    }
    long prev = i == n - 1 ? 0 : timesteps[i + 1];
    boolean lowerOrderFinal = i == n - 1 && spec.lowerOrderFinal && n < 15;
    boolean lowerOrderSecond = i == n - 2 && spec.lowerOrderFinal && n < 15;

    INDArray converted = convert(modelOutput, (int) t, sample);
    int order = spec.solverOrder;
    System.arraycopy(modelOutputs, 1, modelOutputs, 0, order - 1);
    modelOutputs[order - 1] = converted;

    INDArray out;
    if (order == 1 || lowerOrderNums < 1 || lowerOrderFinal) {
      out = firstOrder(converted, (int) t, (int) prev, sample);
    } else if (order == 2 || lowerOrderNums < 2 || lowerOrderSecond) {
      out = secondOrder((int) timesteps[i - 1], (int) t, (int) prev, sample);
    } else {
      out = thirdOrder((int) timesteps[i - 2], (int) timesteps[i - 1], (int) t, (int) prev, sample);
    }
    if (lowerOrderNums < order) {
      lowerOrderNums++;
    }
    lastIndex = i;
    return out;
  }

  private boolean dataPrediction() {
    return spec.algorithmType == AlgorithmType.DPMSOLVER_PLUS_PLUS;
  }

  /** x̂₀ for DPM-Solver++, ε̂ for DPM-Solver. */
  private INDArray convert(INDArray modelOutput, int t, INDArray sample) {
    float a = alphaT[t];
    float s = sigmaT[t];
    if (dataPrediction()) {
      switch (predictionType) {
        case EPSILON:
          return sample.sub(modelOutput.mul(s)).divi(a);
        case SAMPLE:
          return modelOutput.dup();
        case V_PREDICTION:
          return sample.mul(a).subi(modelOutput.mul(s));
        default:
          throw new AssertionError(predictionType);
      }
    }
    switch (predictionType) {
      case EPSILON:
        return modelOutput.dup();
      case SAMPLE:
        return sample.sub(modelOutput.mul(a)).divi(s);
      case V_PREDICTION:
        return modelOutput.mul(a).addi(sample.mul(s));
      default:
        throw new AssertionError(predictionType);
    }
  }

  private INDArray firstOrder(INDArray m, int s, int t, INDArray sample) {
    float h = lambdaT[t] - lambdaT[s];
    if (dataPrediction()) {
      float em1 = (float) Math.exp(-h) - 1f;
      return sample.mul(sigmaT[t] / sigmaT[s]).subi(m.mul(alphaT[t] * em1));
    }
    float em1 = (float) Math.exp(h) - 1f;
    return sample.mul(alphaT[t] / alphaT[s]).subi(m.mul(sigmaT[t] * em1));
  }

  private INDArray secondOrder(int s1, int s0, int t, INDArray sample) {
    INDArray m0 = modelOutputs[modelOutputs.length - 1];
    INDArray m1 = modelOutputs[modelOutputs.length - 2];
    float h = lambdaT[t] - lambdaT[s0];
    float h0 = lambdaT[s0] - lambdaT[s1];
    float r0 = h0 / h;
    INDArray d0 = m0;
    INDArray d1 = m0.sub(m1).muli(1f / r0);
    boolean midpoint = spec.solverType == SolverType.MIDPOINT;
    if (dataPrediction()) {
      float em1 = (float) Math.exp(-h) - 1f;
      INDArray x = sample.mul(sigmaT[t] / sigmaT[s0]).subi(d0.mul(alphaT[t] * em1));
      return midpoint
          ? x.subi(d1.muli(0.5f * (alphaT[t] * em1)))
          : x.addi(d1.muli(alphaT[t] * (em1 / h + 1f)));
    }
    float ep1 = (float) Math.exp(h) - 1f;
    INDArray x = sample.mul(alphaT[t] / alphaT[s0]).subi(d0.mul(sigmaT[t] * ep1));
    return midpoint
        ? x.subi(d1.muli(0.5f * (sigmaT[t] * ep1)))
        : x.subi(d1.muli(sigmaT[t] * (ep1 / h - 1f)));
  }

  private INDArray thirdOrder(int s2, int s1, int s0, int t, INDArray sample) {
    int k = modelOutputs.length;
    INDArray m0 = modelOutputs[k - 1];
    INDArray m1 = modelOutputs[k - 2];
    INDArray m2 = modelOutputs[k - 3];
    float h = lambdaT[t] - lambdaT[s0];
    float h0 = lambdaT[s0] - lambdaT[s1];
    float h1 = lambdaT[s1] - lambdaT[s2];
    float r0 = h0 / h;
    float r1 = h1 / h;
    INDArray d10 = m0.sub(m1).muli(1f / r0);
    INDArray d11 = m1.sub(m2).muli(1f / r1);
    INDArray diff = d10.sub(d11);
    INDArray d1 = d10.add(diff.mul(r0 / (r0 + r1)));
    INDArray d2 = diff.muli(1f / (r0 + r1));
    if (dataPrediction()) {
      float em1 = (float) Math.exp(-h) - 1f;
      return sample.mul(sigmaT[t] / sigmaT[s0]).subi(m0.mul(alphaT[t] * em1))
          .addi(d1.muli(alphaT[t] * (em1 / h + 1f)))
          .subi(d2.muli(alphaT[t] * ((em1 + h) / (h * h) - 0.5f)));
    }
    float ep1 = (float) Math.exp(h) - 1f;
    return sample.mul(alphaT[t] / alphaT[s0]).subi(m0.mul(sigmaT[t] * ep1))
        .subi(d1.muli(sigmaT[t] * (ep1 / h - 1f)))
        .subi(d2.muli(sigmaT[t] * ((ep1 - h) / (h * h) - 0.5f)));
  }

  @Override
  public String toString() {
    return "DpmSolverMultistepScheduler[" + spec + "]";
  }

  /** Fields named as diffusers' {@code DPMSolverMultistepScheduler} config keys. */
  public static final class Builder extends SchedulerBuilder<Builder> {
    int solverOrder = 2;
    AlgorithmType algorithmType = AlgorithmType.DPMSOLVER_PLUS_PLUS;
    SolverType solverType = SolverType.MIDPOINT;
    boolean lowerOrderFinal = true;
    double lambdaMinClipped = Double.NEGATIVE_INFINITY;

    Builder() {
      super(TimestepSpacing.LINSPACE);
    }

    @Override
    Builder self() {
      return this;
    }

    /** {@code solver_order}: 1, 2 (guided sampling) or 3. */
    public Builder solverOrder(int solverOrder) {
      this.solverOrder = solverOrder;
      return this;
    }

    /** {@code algorithm_type}. */
    public Builder algorithmType(AlgorithmType algorithmType) {
      this.algorithmType = algorithmType;
      return this;
    }

    /** {@code solver_type}. */
    public Builder solverType(SolverType solverType) {
      this.solverType = solverType;
      return this;
    }

    /** {@code lower_order_final}: first/second order at the end when there are fewer than 15 steps. */
    public Builder lowerOrderFinal(boolean lowerOrderFinal) {
      this.lowerOrderFinal = lowerOrderFinal;
      return this;
    }

    /** {@code lambda_min_clipped}: drop the timesteps whose log-SNR λ is below this (−∞: none). */
    public Builder lambdaMinClipped(double lambdaMinClipped) {
      this.lambdaMinClipped = lambdaMinClipped;
      return this;
    }

    Builder copy() {
      Builder b = new Builder();
      b.copyCommonFrom(this);
      b.solverOrder = solverOrder;
      b.algorithmType = algorithmType;
      b.solverType = solverType;
      b.lowerOrderFinal = lowerOrderFinal;
      b.lambdaMinClipped = lambdaMinClipped;
      return b;
    }

    public DpmSolverMultistepScheduler build() {
      validateCommon();
      checkArgument(solverOrder >= 1 && solverOrder <= 3, "solverOrder: expected 1, 2 or 3, found %s", solverOrder);
      checkArgument(algorithmType != null, "algorithmType: expected dpmsolver++ or dpmsolver, found null");
      checkArgument(solverType != null, "solverType: expected midpoint or heun, found null");
      checkArgument(!Double.isNaN(lambdaMinClipped), "lambdaMinClipped: expected a number or -infinity, found NaN");
      return new DpmSolverMultistepScheduler(this);
    }

    @Override
    public String toString() {
      return commonFields() + ", solverOrder=" + solverOrder + ", algorithmType=" + algorithmType.configName()
          + ", solverType=" + solverType.configName() + ", lowerOrderFinal=" + lowerOrderFinal
          + ", lambdaMinClipped=" + lambdaMinClipped;
    }
  }
}
