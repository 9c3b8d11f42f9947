package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/** What the four schedulers share: ᾱ, the timestep list and the checks on step arguments. */
abstract class AbstractScheduler implements Scheduler {
  final int numTrainTimesteps;
  final float[] alphasCumprod;
  final PredictionType predictionType;
  final TimestepSpacing timestepSpacing;
  final int stepsOffset;

  /** Null until {@link #setTimesteps}. */
  long[] timesteps;

  AbstractScheduler(SchedulerBuilder<?> b) {
    this.numTrainTimesteps = b.numTrainTimesteps;
    this.alphasCumprod = b.alphasCumprod();
    this.predictionType = b.predictionType;
    this.timestepSpacing = b.timestepSpacing;
    this.stepsOffset = b.stepsOffset;
  }

  @Override
  public int numTrainTimesteps() {
    return numTrainTimesteps;
  }

  @Override
  public double[] alphasCumprod() {
    double[] out = new double[alphasCumprod.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = alphasCumprod[i];
    }
    return out;
  }

  @Override
  public final void setTimesteps(int steps) {
    checkArgument(steps >= 1 && steps <= numTrainTimesteps,
        "steps: expected 1..numTrainTimesteps (%s), found %s", numTrainTimesteps, steps);
    this.timesteps = null;
    resetState();
    long[] ts = computeTimesteps(steps);
    for (long t : ts) {
      checkArgument(t >= 0 && t < numTrainTimesteps,
          "steps: %s steps with timestepSpacing %s and stepsOffset %s give timestep %s, outside [0, %s)",
          steps, timestepSpacing.configName(), stepsOffset, t, numTrainTimesteps);
    }
    this.timesteps = ts;
  }

  /** The timestep list for {@code steps}; may record extra per-step data (Euler's σ). */
  abstract long[] computeTimesteps(int steps);

  /** Clears multistep state; called by every {@link #setTimesteps}, before the new list is made. */
  abstract void resetState();

  @Override
  public long[] timesteps() {
    requireTimesteps("timesteps()");
    return timesteps.clone();
  }

  void requireTimesteps(String call) {
    if (timesteps == null) {
      throw new IllegalStateException(type() + ": " + call + " called before setTimesteps(steps)");
    }
  }

  /** The position of t in the list; the error shows the list. */
  int indexOf(long t) {
    for (int i = 0; i < timesteps.length; i++) {
      if (timesteps[i] == t) {
        return i;
      }
    }
    throw new IllegalArgumentException(String.format(
        "t: expected one of the %s timesteps set by setTimesteps (%s), found %s", timesteps.length,
        preview(timesteps), t));
  }

  static String preview(long[] ts) {
    if (ts.length <= 12) {
      return Arrays.toString(ts);
    }
    return "[" + ts[0] + ", " + ts[1] + ", " + ts[2] + ", ..., " + ts[ts.length - 2] + ", " + ts[ts.length - 1] + "]";
  }

  /** ᾱ at t, or {@code whenNegative} for the "before 0" timestep −1. */
  float alphaProd(long t, float whenNegative) {
    return t >= 0 ? alphasCumprod[(int) t] : whenNegative;
  }

  void checkStepArgs(INDArray modelOutput, INDArray sample) {
    checkArgument(modelOutput != null, "modelOutput: expected an array, found null");
    checkArgument(sample != null, "sample: expected an array, found null");
    checkArgument(Arrays.equals(modelOutput.shape(), sample.shape()),
        "modelOutput: expected the shape of sample %s, found %s", Arrays.toString(sample.shape()),
        Arrays.toString(modelOutput.shape()));
    checkArgument(modelOutput.dataType().isFPType() && sample.dataType().isFPType(),
        "modelOutput, sample: expected floating-point arrays, found %s and %s", modelOutput.dataType(),
        sample.dataType());
  }

  static float sqrt(float x) {
    return (float) Math.sqrt(x);
  }

  @Override
  public INDArray scaleModelInput(INDArray sample, long t) {
    checkArgument(sample != null, "sample: expected an array, found null");
    requireTimesteps("scaleModelInput");
    indexOf(t);
    return sample;
  }

  /** The options of a scheduler without eta (all but DDIM): only eta 0 has a meaning there. */
  final void requireNoEta(StepOptions options) {
    checkArgument(options != null, "options: expected StepOptions (StepOptions.DETERMINISTIC), found null");
    checkArgument(options.eta() == 0, "eta: expected 0 for %s (only DDIM has eta), found %s", type(), options.eta());
  }
}
