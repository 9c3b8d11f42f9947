package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.file.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A diffusion sampler with diffusers' semantics: {@code setTimesteps(n)}, then for each {@code t}
 * of {@link #timesteps()} in order, run the model on {@code scaleModelInput(sample, t)} and call
 * {@code step(modelOutput, t, sample)} to get the sample at the next (less noisy) timestep ({@link
 * SchedulerOutput#prevSample()}) and, for DDIM and Euler, the predicted x̂₀. Per-step arguments
 * (DDIM's eta and its random source) go in a {@link StepOptions}, so that no caller needs the
 * concrete scheduler.
 *
 * <p>One deliberate difference from diffusers v0.21: the timestep a step moves to is always the
 * next entry of the timestep list (the final step moves to "no noise"), never {@code t − T/n}.
 * The two agree for {@code leading} spacing; for {@code linspace} and {@code trailing} grids that
 * do not divide T, diffusers' DDIM and PNDM step to a timestep that is not on the grid. Two
 * inputs diffusers accepts and mishandles are treated differently too: its {@code trailing} grid
 * sometimes ends in a spurious timestep −1 (n = 61 or 397 of T = 1000, for example), which is
 * dropped here; and PNDM's Runge-Kutta warm-up with more than T / 2 steps, whose half steps would
 * have length 0, is refused.
 *
 * <p>Samples and model outputs are float32 INDArrays of any equal shape; inputs are never
 * modified. Schedule constants are computed in the precision diffusers uses (see {@link
 * NoiseSchedule}). <b>Instances are not thread-safe</b>: PNDM and DPM-Solver keep the previous
 * model outputs between steps, and every scheduler holds its current timesteps; use one instance
 * per sampling loop ({@code toBuilder().build()} makes a fresh one with the same config).
 * {@link #setTimesteps} resets all state.
 */
public interface Scheduler {

  /**
   * Builds a scheduler of the given type from a diffusers {@code scheduler_config.json}, with
   * diffusers' {@code from_config} semantics: keys the file lacks take that scheduler's own
   * constructor defaults, keys it does not use are ignored (so SD v1.5's PNDM config can drive
   * any of the four, as diffusers allows).
   */
  static Scheduler create(SchedulerType type, Path schedulerConfigJson) {
    checkArgument(schedulerConfigJson != null, "schedulerConfigJson: expected a path, found null");
    return create(type, DiffusersConfig.read(schedulerConfigJson));
  }

  /** As {@link #create(SchedulerType, Path)}, from a parsed config. */
  static Scheduler create(SchedulerType type, DiffusersConfig config) {
    checkArgument(type != null, "type: expected one of DDIM, PNDM, EULER, DPM_SOLVER_MULTISTEP, found null");
    checkArgument(config != null, "config: expected a DiffusersConfig, found null");
    switch (type) {
      case DDIM:
        return DdimScheduler.fromConfig(config);
      case PNDM:
        return PndmScheduler.fromConfig(config);
      case EULER:
        return EulerDiscreteScheduler.fromConfig(config);
      case DPM_SOLVER_MULTISTEP:
        return DpmSolverMultistepScheduler.fromConfig(config);
      default:
        throw new AssertionError(type);
    }
  }

  SchedulerType type();

  /** T: the number of training timesteps. */
  int numTrainTimesteps();

  /** ᾱ_t for t in [0, T), float32 values as diffusers holds them. */
  double[] alphasCumprod();

  /**
   * Picks the inference timesteps and clears any multistep state.
   *
   * @param steps the number of inference steps, 1..T
   */
  void setTimesteps(int steps);

  /**
   * The timesteps to run, in order (a copy). DDIM and Euler give {@code steps} strictly
   * decreasing values; PNDM repeats some, as diffusers' does (its PLMS warm-up evaluates the
   * model twice at one timestep); DPM-Solver drops duplicates of a rounded grid.
   */
  long[] timesteps();

  /**
   * The timestep values to condition the model on, in the order of {@link #timesteps()}. They are
   * the same numbers, except for Euler with {@code linspace} spacing, whose timesteps are
   * fractional in diffusers; there {@link #timesteps()} holds them rounded, as step labels.
   */
  default double[] modelTimesteps() {
    long[] t = timesteps();
    double[] out = new double[t.length];
    for (int i = 0; i < t.length; i++) {
      out[i] = t[i];
    }
    return out;
  }

  /** The standard deviation to scale the initial N(0, 1) latents by (1 except for Euler). */
  double initNoiseSigma();

  /** The model input for timestep {@code t}: the sample itself except for Euler. */
  INDArray scaleModelInput(INDArray sample, long t);

  /**
   * One deterministic denoising step (eta 0): {@code step(modelOutput, t, sample,
   * StepOptions.DETERMINISTIC)}.
   */
  default SchedulerOutput step(INDArray modelOutput, long t, INDArray sample) {
    return step(modelOutput, t, sample, StepOptions.DETERMINISTIC);
  }

  /**
   * One denoising step: the sample at the timestep after {@code t} in the list, and the
   * predicted x̂₀ where diffusers' scheduler reports it (DDIM, Euler).
   *
   * @param modelOutput the model's prediction (of the config's {@code prediction_type})
   * @param t the current timestep, one of {@link #timesteps()}
   * @param sample the current sample x_t
   * @param options per-step arguments; eta > 0 only for DDIM
   * @return fresh arrays
   * @throws IllegalArgumentException for eta > 0 on a scheduler other than DDIM, among the
   *     checks of each argument
   */
  SchedulerOutput step(INDArray modelOutput, long t, INDArray sample, StepOptions options);
}
