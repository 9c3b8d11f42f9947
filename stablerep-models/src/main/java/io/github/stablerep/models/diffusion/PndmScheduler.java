package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * PNDM (Liu et al. 2022) with diffusers' {@code PNDMScheduler} semantics: linear multistep
 * (PLMS) steps, warmed up either by Runge-Kutta (PRK) steps or, with {@code skip_prk_steps} (SD
 * v1.5's setting), by one Heun-like step that evaluates the model twice at the first timestep.
 *
 * <p>Stateful: it keeps the last four model outputs and the warm-up sample, so steps must be
 * taken in the order of {@link #timesteps()} (which repeats timesteps, as diffusers' does); a
 * step with another t fails and names the expected one. {@link #setTimesteps} resets the state.
 * Not thread-safe.
 *
 * <p>Where diffusers moves to {@code t − T // n} (or half of it during PRK), this class moves to
 * the next listed timestep; the two agree for {@code leading} spacing.
 */
public final class PndmScheduler extends AbstractScheduler {
  private static final int PNDM_ORDER = 4;

  private final Builder spec;
  private final float finalAlphaCumprod;

  /** PRK steps at the head of the list (0 with skip_prk_steps). */
  private int prkCount;
  /** Steps taken since setTimesteps; the next t must be timesteps[counter]. */
  private int counter;
  /** The raw model outputs kept for the multistep formula, oldest first (diffusers' ets). */
  private final List<INDArray> ets = new ArrayList<>();
  private INDArray curSample;
  private INDArray curModelOutput;

  private PndmScheduler(Builder b) {
    super(b);
    this.spec = b.copy();
    this.finalAlphaCumprod = b.setAlphaToOne ? 1f : alphasCumprod[0];
  }

  /** A builder with SD v1.5's values (its folder's default scheduler): skip_prk_steps, offset 1. */
  public static Builder builder() {
    return new Builder();
  }

  /** diffusers' {@code PNDMScheduler.from_config}: absent keys take PNDMScheduler's defaults. */
  public static PndmScheduler fromConfig(DiffusersConfig c) {
    Builder b = new Builder();
    b.readCommon(c, TimestepSpacing.LEADING);
    b.skipPrkSteps = c.getBoolean("skip_prk_steps", false);
    b.setAlphaToOne = c.getBoolean("set_alpha_to_one", false);
    return b.build();
  }

  /** A builder with this scheduler's config; {@code build()} gives an independent fresh instance. */
  public Builder toBuilder() {
    return spec.copy();
  }

  @Override
  public SchedulerType type() {
    return SchedulerType.PNDM;
  }

  @Override
  long[] computeTimesteps(int steps) {
    checkArgument(spec.skipPrkSteps || steps >= PNDM_ORDER,
        "steps: expected >= %s for PRK warm-up (skipPrkSteps false), found %s", PNDM_ORDER, steps);
    // diffusers would accept this and take Runge-Kutta half steps of length 0.
    checkArgument(spec.skipPrkSteps || numTrainTimesteps / steps / 2 >= 1,
        "steps: expected at most numTrainTimesteps / 2 = %s for PRK warm-up (its half step T // steps // 2 "
            + "would be 0), found %s", numTrainTimesteps / 2, steps);
    // diffusers' _timesteps: the DDIM grid in ascending order.
    long[] asc = NoiseSchedule.reversed(DdimScheduler.ddimGrid(timestepSpacing, numTrainTimesteps, steps, stepsOffset));
    int n = asc.length;
    List<Long> out = new ArrayList<>();
    if (spec.skipPrkSteps) {
      // PLMS from the top, the second-highest timestep twice: the warm-up evaluates it twice.
      out.add(asc[n - 1]);
      if (n >= 2) {
        out.add(asc[n - 2]);
      }
      for (int i = n - 2; i >= 0; i--) {
        out.add(asc[i]);
      }
      prkCount = 0;
    } else {
      // Four RK4 groups over the top four timesteps, each (t, t−h/2, t−h/2, t−h) with
      // h/2 = T // n // 2, as diffusers lays them out; then PLMS over the rest.
      long half = numTrainTimesteps / steps / 2;
      long[] pts = new long[2 * PNDM_ORDER];
      for (int k = 0; k < PNDM_ORDER; k++) {
        pts[2 * k] = asc[n - PNDM_ORDER + k];
        pts[2 * k + 1] = asc[n - PNDM_ORDER + k] + half;
      }
      // pts[:-1].repeat(2)[1:-1], reversed
      List<Long> rep = new ArrayList<>();
      for (int k = 0; k < pts.length - 1; k++) {
        rep.add(pts[k]);
        rep.add(pts[k]);
      }
      List<Long> prk = rep.subList(1, rep.size() - 1);
      for (int k = prk.size() - 1; k >= 0; k--) {
        out.add(prk.get(k));
      }
      prkCount = prk.size();
      for (int i = n - PNDM_ORDER; i >= 0; i--) {
        out.add(asc[i]);
      }
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  @Override
  void resetState() {
    counter = 0;
    ets.clear();
    curSample = null;
    curModelOutput = null;
  }

  @Override
  public double initNoiseSigma() {
    return 1.0;
  }

  /** diffusers' PNDM reports no x̂₀; refuses eta > 0. */
  @Override
  public SchedulerOutput step(INDArray modelOutput, long t, INDArray sample, StepOptions options) {
    requireNoEta(options);
    return new SchedulerOutput(plmsOrRungeKutta(modelOutput, t, sample), null);
  }

  private INDArray plmsOrRungeKutta(INDArray modelOutput, long t, INDArray sample) {
    checkStepArgs(modelOutput, sample);
    requireTimesteps("step");
    if (counter >= timesteps.length) {
      throw new IllegalStateException(String.format(
          "PNDM: all %s steps were taken; call setTimesteps(steps) to sample again", timesteps.length));
    }
    if (timesteps[counter] != t) {
      indexOf(t);
      throw new IllegalArgumentException(String.format(
          "t: expected %s, the timestep of step %s of %s (PNDM's steps must follow timesteps() in order), found %s",
          timesteps[counter], counter, timesteps.length, t));
    }
    INDArray out = counter < prkCount ? stepPrk(modelOutput, sample) : stepPlms(modelOutput, t, sample);
    counter++;
    return out;
  }

  private long next(int index) {
    return index + 1 < timesteps.length ? timesteps[index + 1] : -1;
  }

  private INDArray stepPrk(INDArray modelOutput, INDArray sample) {
    int c = counter;
    long prev = c % 2 == 0 ? timesteps[c + 1] : timesteps[c];
    long base = timesteps[c / 4 * 4];
    INDArray output = modelOutput;
    switch (c % 4) {
      case 0:
        curModelOutput = modelOutput.mul(1.0 / 6);
        ets.add(modelOutput.dup());
        curSample = sample.dup();
        break;
      case 1:
      case 2:
        curModelOutput = curModelOutput.add(modelOutput.mul(1.0 / 3));
        break;
      default:
        output = curModelOutput.add(modelOutput.mul(1.0 / 6));
        curModelOutput = null;
        break;
    }
    return prevSample(curSample, base, prev, output);
  }

  private INDArray stepPlms(INDArray modelOutput, long t, INDArray sample) {
    int c = counter;
    long from = t;
    long prev = next(c);
    if (c != 1) {
      if (ets.size() > 3) {
        ets.remove(0);
      }
      ets.add(modelOutput.dup());
    } else {
      // The warm-up's second evaluation: redo the first step with the averaged slope.
      from = timesteps[0];
      prev = t;
    }
    INDArray output;
    INDArray x = sample;
    int k = ets.size();
    if (k == 1 && c == 0) {
      output = modelOutput;
      curSample = sample.dup();
    } else if (k == 1 && c == 1) {
      output = modelOutput.add(ets.get(0)).divi(2);
      x = curSample;
      curSample = null;
    } else if (k == 2) {
      output = ets.get(1).mul(3).subi(ets.get(0)).divi(2);
    } else if (k == 3) {
      output = ets.get(2).mul(23).subi(ets.get(1).mul(16)).addi(ets.get(0).mul(5)).divi(12);
    } else {
      output = ets.get(3).mul(55).subi(ets.get(2).mul(59)).addi(ets.get(1).mul(37)).subi(ets.get(0).mul(9))
          .muli(1.0 / 24);
    }
    return prevSample(x, from, prev, output);
  }

  /** Eq. (9) of the PNDM paper: the sample at {@code prev} from the sample at {@code t}. */
  private INDArray prevSample(INDArray sample, long t, long prev, INDArray modelOutput) {
    float alphaT = alphasCumprod[(int) t];
    float alphaPrev = alphaProd(prev, finalAlphaCumprod);
    float betaT = 1f - alphaT;
    float betaPrev = 1f - alphaPrev;
    INDArray eps = modelOutput;
    if (predictionType == PredictionType.V_PREDICTION) {
      eps = modelOutput.mul(sqrt(alphaT)).addi(sample.mul(sqrt(betaT)));
    }
    float sampleCoeff = sqrt(alphaPrev / alphaT);
    float denom = alphaT * sqrt(betaPrev) + sqrt(alphaT * betaT * alphaPrev);
    return sample.mul(sampleCoeff).subi(eps.mul(alphaPrev - alphaT).divi(denom));
  }

  @Override
  public String toString() {
    return "PndmScheduler[" + spec + "]";
  }

  /** Fields named as diffusers' {@code PNDMScheduler} config keys; defaults are SD v1.5's. */
  public static final class Builder extends SchedulerBuilder<Builder> {
    boolean skipPrkSteps = true;
    boolean setAlphaToOne = false;

    Builder() {
      super(TimestepSpacing.LEADING);
    }

    @Override
    Builder self() {
      return this;
    }

    /** {@code skip_prk_steps}: warm up with one doubled PLMS step instead of 12 Runge-Kutta steps. */
    public Builder skipPrkSteps(boolean skipPrkSteps) {
      this.skipPrkSteps = skipPrkSteps;
      return this;
    }

    /** {@code set_alpha_to_one}: the last step targets ᾱ = 1 (true) or ᾱ_0 (false, as SD). */
    public Builder setAlphaToOne(boolean setAlphaToOne) {
      this.setAlphaToOne = setAlphaToOne;
      return this;
    }

    Builder copy() {
      Builder b = new Builder();
      b.copyCommonFrom(this);
      b.skipPrkSteps = skipPrkSteps;
      b.setAlphaToOne = setAlphaToOne;
      return b;
    }

    public PndmScheduler build() {
      validateCommon();
      checkArgument(predictionType != PredictionType.SAMPLE,
          "predictionType: expected epsilon or v_prediction (PNDM has no x0 form), found %s",
          predictionType.configName());
      return new PndmScheduler(this);
    }

    @Override
    public String toString() {
      return commonFields() + ", skipPrkSteps=" + skipPrkSteps + ", setAlphaToOne=" + setAlphaToOne;
    }
  }
}
