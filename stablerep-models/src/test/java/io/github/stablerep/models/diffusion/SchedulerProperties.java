package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Invariants of the schedules and of the samplers' state, over generated configs. */
class SchedulerProperties {

  static Scheduler build(SchedulerType type, TimestepSpacing spacing, int offset, boolean skipPrk) {
    switch (type) {
      case DDIM:
        return DdimScheduler.builder().timestepSpacing(spacing).stepsOffset(offset).build();
      case PNDM:
        return PndmScheduler.builder().timestepSpacing(spacing).stepsOffset(offset).skipPrkSteps(skipPrk).build();
      case EULER:
        return EulerDiscreteScheduler.builder().timestepSpacing(spacing).stepsOffset(offset).build();
      default:
        return DpmSolverMultistepScheduler.builder().timestepSpacing(spacing).stepsOffset(offset).build();
    }
  }

  /**
   * Timesteps lie in [0, T) and fall (strictly, except PNDM's documented repeats); DDIM and Euler
   * give exactly {@code steps} of them, PNDM steps + 1 (PLMS warm-up; 1 for a single step) or steps + 9 (12 PRK steps
   * replace 3 PLMS ones), DPM-Solver at most steps. Leading spacing with an offset that pushes
   * the top timestep to T is refused.
   */
  @Property(tries = 300)
  void timestepsStayOnTheTrainingGrid(@ForAll SchedulerType type, @ForAll TimestepSpacing spacing,
      @ForAll @IntRange(min = 1, max = 1000) int steps, @ForAll @IntRange(min = 0, max = 1) int offset,
      @ForAll boolean skipPrk) {
    boolean prk = type == SchedulerType.PNDM && !skipPrk;
    Scheduler s = build(type, spacing, offset, skipPrk);
    if (prk && (steps < 4 || steps > s.numTrainTimesteps() / 2)) {
      assertThatThrownBy(() -> s.setTimesteps(steps)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("PRK warm-up");
      return;
    }
    int t = s.numTrainTimesteps();
    // DPM-Solver's leading grid has n + 1 points with the lowest dropped.
    int leadingTop = type == SchedulerType.DPM_SOLVER_MULTISTEP
        ? steps * (t / (steps + 1)) + offset
        : (steps - 1) * (t / steps) + offset;
    if (spacing == TimestepSpacing.LEADING && leadingTop >= t) {
      assertThatThrownBy(() -> s.setTimesteps(steps)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("outside [0, " + t + ")");
      return;
    }
    s.setTimesteps(steps);
    long[] ts = s.timesteps();
    boolean pndm = type == SchedulerType.PNDM;
    for (int i = 0; i < ts.length; i++) {
      boolean ok = ts[i] >= 0 && ts[i] < t
          && (i == 0 || (pndm ? ts[i] <= ts[i - 1] : ts[i] < ts[i - 1]))
          && (i < 2 || !pndm || ts[i] < ts[i - 2]); // PNDM repeats a value at most once
      if (!ok) {
        throw new AssertionError("timestep " + i + " breaks the grid: " + java.util.Arrays.toString(ts));
      }
    }
    switch (type) {
      case PNDM:
        assertThat(ts).hasSize(prk ? steps + 9 : steps == 1 ? 1 : steps + 1);
        break;
      case DPM_SOLVER_MULTISTEP:
        assertThat(ts.length).isBetween(1, steps);
        break;
      default:
        assertThat(ts).hasSize(steps);
    }
  }

  /** ᾱ is in (0, 1] and does not increase, for any schedule with β up to 0.03 over up to 2000 steps. */
  @Property(tries = 100)
  void alphasCumprodFallWithinTheUnitInterval(@ForAll BetaSchedule schedule,
      @ForAll @DoubleRange(min = 0.0, max = 0.01) double betaStart,
      @ForAll @DoubleRange(min = 0.0, max = 0.02) double extra, @ForAll @IntRange(min = 1, max = 2000) int numTrain) {
    double[] a = DdimScheduler.builder().betaSchedule(schedule).betaStart(betaStart).betaEnd(betaStart + extra)
        .numTrainTimesteps(numTrain).build().alphasCumprod();
    assertThat(a).hasSize(numTrain);
    for (int i = 0; i < a.length; i++) {
      assertThat(a[i]).isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
      if (i > 0) {
        assertThat(a[i]).isLessThanOrEqualTo(a[i - 1]);
      }
    }
  }

  /**
   * setTimesteps clears the multistep history: a second chain after it repeats the first bit for
   * bit. Steps never modify their inputs.
   */
  @Property(tries = 24)
  void setTimestepsResetsStateAndInputsStayUntouched(@ForAll SchedulerType type, @ForAll TimestepSpacing spacing,
      @ForAll @IntRange(min = 4, max = 16) int steps, @ForAll boolean skipPrk, @ForAll long seed) {
    Scheduler s = build(type, spacing, 0, skipPrk);
    INDArray first = chain(s, steps, seed);
    // a disturbed, abandoned chain in between must leave no trace
    s.setTimesteps(steps);
    INDArray junk = SchedulerTest.randn(seed + 99, 1, 2, 3, 3);
    s.step(junk, s.timesteps()[0], junk);
    INDArray second = chain(s, steps, seed);
    assertThat(second.equals(first)).isTrue();
    assertThat(first.isInfinite().any() || first.isNaN().any()).isFalse();
  }

  private static INDArray chain(Scheduler s, int steps, long seed) {
    s.setTimesteps(steps);
    INDArray x = SchedulerTest.randn(seed, 1, 2, 3, 3).muli(s.initNoiseSigma());
    long[] ts = s.timesteps();
    for (int k = 0; k < ts.length; k++) {
      INDArray out = SchedulerTest.randn(seed + k + 1, 1, 2, 3, 3);
      INDArray xCopy = x.dup();
      INDArray outCopy = out.dup();
      INDArray input = s.scaleModelInput(x, ts[k]);
      INDArray next = s.step(out, ts[k], x).prevSample();
      assertThat(x.equals(xCopy) && out.equals(outCopy)).as("inputs unchanged").isTrue();
      assertThat(input.shape()).isEqualTo(x.shape());
      x = next;
    }
    return x;
  }
}
