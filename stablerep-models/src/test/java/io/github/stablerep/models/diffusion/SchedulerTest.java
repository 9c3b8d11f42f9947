package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Config handling, defaults, state and the errors bad input gets. */
class SchedulerTest {

  static Path sd15Config() {
    try {
      return Path.of(SchedulerTest.class.getResource("/diffusion/sd-v1-5/scheduler/scheduler_config.json").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static INDArray randn(long seed, long... shape) {
    Random r = new Random(seed);
    INDArray a = Nd4j.create(DataType.FLOAT, shape);
    for (long i = 0; i < a.length(); i++) {
      a.putScalar(i, r.nextGaussian());
    }
    return a;
  }

  private static Scheduler inline(SchedulerType type, String json) {
    return Scheduler.create(type, DiffusersConfig.parse(json, "scheduler_config.json"));
  }

  /** Builder defaults are what diffusers' from_config gives for SD v1.5's own scheduler_config.json. */
  @Test
  void builderDefaultsAreSdV15() {
    assertThat(DdimScheduler.builder().toString())
        .isEqualTo(DdimScheduler.fromConfig(DiffusersConfig.read(sd15Config())).toBuilder().toString());
    assertThat(PndmScheduler.builder().toString())
        .isEqualTo(PndmScheduler.fromConfig(DiffusersConfig.read(sd15Config())).toBuilder().toString());
    assertThat(EulerDiscreteScheduler.builder().toString())
        .isEqualTo(EulerDiscreteScheduler.fromConfig(DiffusersConfig.read(sd15Config())).toBuilder().toString());
    assertThat(DpmSolverMultistepScheduler.builder().toString()).isEqualTo(
        DpmSolverMultistepScheduler.fromConfig(DiffusersConfig.read(sd15Config())).toBuilder().toString());
    assertThat(DdimScheduler.builder().toString()).contains("betaSchedule=scaled_linear", "betaStart=8.5E-4",
        "betaEnd=0.012", "stepsOffset=1", "timestepSpacing=leading", "clipSample=false", "setAlphaToOne=false");
  }

  /** StableRep's sampler: DDIM, 50 steps from SD v1.5's config: 981, 961, ..., 1. */
  @Test
  void stableRepDdimGrid() {
    Scheduler s = Scheduler.create(SchedulerType.DDIM, sd15Config());
    s.setTimesteps(50);
    long[] t = s.timesteps();
    assertThat(t).hasSize(50);
    for (int i = 0; i < 50; i++) {
      assertThat(t[i]).isEqualTo((49 - i) * (1000 / 50) + 1); // leading: multiples of T // n, plus steps_offset
    }
    assertThat(s.initNoiseSigma()).isEqualTo(1.0);
  }

  @Test
  void absentKeysTakeDiffusersConstructorDefaults() {
    DdimScheduler d = DdimScheduler.fromConfig(DiffusersConfig.parse("{}", "empty"));
    assertThat(d.toBuilder().toString()).contains("betaSchedule=linear", "betaStart=1.0E-4", "betaEnd=0.02",
        "stepsOffset=0", "clipSample=true", "setAlphaToOne=true");
    assertThat(EulerDiscreteScheduler.fromConfig(DiffusersConfig.parse("{}", "empty")).toBuilder().toString())
        .contains("timestepSpacing=linspace");
    assertThat(PndmScheduler.fromConfig(DiffusersConfig.parse("{}", "empty")).toBuilder().toString())
        .contains("skipPrkSteps=false", "setAlphaToOne=false");
  }

  @ParameterizedTest
  @EnumSource(SchedulerType.class)
  void unknownBetaScheduleOrSpacingNamesKeyAndValue(SchedulerType type) {
    assertThatThrownBy(() -> inline(type, "{\"beta_schedule\": \"cosine\"}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scheduler_config.json")
        .hasMessageContaining("'beta_schedule'").hasMessageContaining("'cosine'").hasMessageContaining("scaled_linear");
    assertThatThrownBy(() -> inline(type, "{\"timestep_spacing\": \"uniform\"}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'timestep_spacing'")
        .hasMessageContaining("'uniform'").hasMessageContaining("leading, trailing, linspace");
    assertThatThrownBy(() -> inline(type, "{\"prediction_type\": \"noise\"}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'prediction_type'")
        .hasMessageContaining("'noise'");
    assertThatThrownBy(() -> inline(type, "{\"steps_offset\": \"1\"}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'steps_offset'")
        .hasMessageContaining("an integer");
    assertThatThrownBy(() -> inline(type, "{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 0.2]}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trainedBetas")
        .hasMessageContaining("3 values").hasMessageContaining("found 2");
  }

  @ParameterizedTest
  @EnumSource(SchedulerType.class)
  void stepsBeyondTrainingTimestepsOrBelowOneAreRefused(SchedulerType type) {
    Scheduler s = Scheduler.create(type, sd15Config());
    assertThatThrownBy(() -> s.setTimesteps(1001)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("steps").hasMessageContaining("1..numTrainTimesteps (1000)").hasMessageContaining("1001");
    assertThatThrownBy(() -> s.setTimesteps(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("found 0");
  }

  @ParameterizedTest
  @EnumSource(SchedulerType.class)
  void stepBeforeSetTimestepsFails(SchedulerType type) {
    Scheduler s = Scheduler.create(type, sd15Config());
    INDArray x = randn(1, 1, 4, 2, 2);
    assertThatThrownBy(() -> s.step(x, 981, x)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("before setTimesteps");
    assertThatThrownBy(() -> s.scaleModelInput(x, 981)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("before setTimesteps");
    assertThatThrownBy(s::timesteps).isInstanceOf(IllegalStateException.class);
  }

  @ParameterizedTest
  @EnumSource(SchedulerType.class)
  void timestepNotInTheListIsNamed(SchedulerType type) {
    Scheduler s = Scheduler.create(type, sd15Config());
    s.setTimesteps(10);
    INDArray x = randn(2, 1, 4, 2, 2);
    long t = s.timesteps()[0] - 3;
    assertThatThrownBy(() -> s.step(x, t, x)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("t: expected one of the").hasMessageContaining("found " + t);
    assertThatThrownBy(() -> s.step(randn(3, 1, 4, 2, 3), s.timesteps()[0], x))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("modelOutput")
        .hasMessageContaining("[1, 4, 2, 2]").hasMessageContaining("[1, 4, 2, 3]");
  }

  @Test
  void multistepSchedulersRefuseStepsOutOfOrder() {
    INDArray x = randn(4, 1, 4, 2, 2);
    Scheduler pndm = Scheduler.create(SchedulerType.PNDM, sd15Config());
    pndm.setTimesteps(10);
    long[] pt = pndm.timesteps();
    assertThatThrownBy(() -> pndm.step(x, pt[3], x)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected " + pt[0]).hasMessageContaining("in order");
    Scheduler dpm = Scheduler.create(SchedulerType.DPM_SOLVER_MULTISTEP, sd15Config());
    dpm.setTimesteps(10);
    long[] dt = dpm.timesteps();
    dpm.step(x, dt[2], x); // image-to-image may start mid-list
    assertThatThrownBy(() -> dpm.step(x, dt[2], x)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected " + dt[3]);
    for (long t : pt) {
      pndm.step(x, t, x);
    }
    assertThatThrownBy(() -> pndm.step(x, pt[pt.length - 1], x)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("setTimesteps");
  }

  @Test
  void unsupportedOptionsAreRejectedWithTheReason() {
    assertThatThrownBy(() -> inline(SchedulerType.DDIM, "{\"thresholding\": true}"))
        .hasMessageContaining("'thresholding'").hasMessageContaining("not implemented");
    assertThatThrownBy(() -> inline(SchedulerType.EULER, "{\"use_karras_sigmas\": true}"))
        .hasMessageContaining("'use_karras_sigmas'");
    assertThatThrownBy(() -> inline(SchedulerType.EULER, "{\"interpolation_type\": \"log_linear\"}"))
        .hasMessageContaining("'interpolation_type'").hasMessageContaining("'log_linear'");
    assertThatThrownBy(() -> inline(SchedulerType.DPM_SOLVER_MULTISTEP, "{\"algorithm_type\": \"sde-dpmsolver++\"}"))
        .hasMessageContaining("'algorithm_type'").hasMessageContaining("'sde-dpmsolver++'");
    assertThatThrownBy(() -> inline(SchedulerType.DPM_SOLVER_MULTISTEP, "{\"solver_order\": 4}"))
        .hasMessageContaining("solverOrder").hasMessageContaining("found 4");
    assertThatThrownBy(() -> inline(SchedulerType.PNDM, "{\"prediction_type\": \"sample\"}"))
        .hasMessageContaining("predictionType").hasMessageContaining("sample");
    Scheduler prk = inline(SchedulerType.PNDM, "{\"skip_prk_steps\": false}");
    assertThatThrownBy(() -> prk.setTimesteps(3)).hasMessageContaining("steps").hasMessageContaining(">= 4")
        .hasMessageContaining("found 3");
    assertThatThrownBy(() -> DdimScheduler.builder().betaStart(-0.1).build()).hasMessageContaining("betaStart");
    assertThatThrownBy(() -> DdimScheduler.builder().stepsOffset(-1).build()).hasMessageContaining("stepsOffset");
  }

  /** diffusers saves DPM-Solver configs with Python's non-standard {@code -Infinity} literal. */
  @Test
  void dpmConfigWithPythonInfinityLoads() {
    Scheduler saved = inline(SchedulerType.DPM_SOLVER_MULTISTEP,
        "{\"lambda_min_clipped\": -Infinity, \"timestep_spacing\": \"trailing\"}");
    Scheduler plain = inline(SchedulerType.DPM_SOLVER_MULTISTEP, "{\"timestep_spacing\": \"trailing\"}");
    saved.setTimesteps(20);
    plain.setTimesteps(20);
    assertThat(saved.timesteps()).containsExactly(plain.timesteps());
    assertThat(saved.toString()).contains("lambdaMinClipped=-Infinity");
  }

  @Test
  void ddimNoiseComesFromTheArgumentOrTheSeededGenerator() {
    DdimScheduler s = DdimScheduler.builder().build();
    s.setTimesteps(10);
    INDArray x = randn(5, 1, 4, 3, 3);
    INDArray e = randn(6, 1, 4, 3, 3);
    long t = s.timesteps()[3];
    assertThatThrownBy(() -> StepOptions.builder().eta(0.5).build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("varianceNoise");
    assertThatThrownBy(() -> StepOptions.builder().eta(-1).build()).hasMessageContaining("eta");
    INDArray a = s.step(e, t, x, StepOptions.eta(1.0, new Random(9))).prevSample();
    INDArray b = s.step(e, t, x, StepOptions.eta(1.0, new Random(9))).prevSample();
    assertThat(a.equals(b)).isTrue();
    Random r = new Random(9);
    INDArray z = Nd4j.create(DataType.FLOAT, 1, 4, 3, 3);
    for (long i = 0; i < z.length(); i++) {
      z.putScalar(i, (float) r.nextGaussian());
    }
    assertThat(s.step(e, t, x, StepOptions.builder().eta(1.0).varianceNoise(z).build()).prevSample()
        .equalsWithEps(a, 0)).isTrue();
    assertThat(s.step(e, t, x, StepOptions.eta(1.0, new Random(10))).prevSample().equalsWithEps(a, 1e-3)).isFalse();
    assertThat(s.step(e, t, x, StepOptions.eta(0.0, new Random(10))).prevSample()
        .equals(s.step(e, t, x).prevSample())).isTrue();
    assertThatThrownBy(() -> s.step(e, t, x, StepOptions.builder().eta(1.0).varianceNoise(z.reshape(4, 9)).build()))
        .hasMessageContaining("varianceNoise: expected the shape of sample");
  }

  @Test
  void onlyDdimTakesEtaAndOnlyDdimAndEulerReportX0() {
    INDArray x = randn(5, 1, 4, 3, 3);
    INDArray e = randn(6, 1, 4, 3, 3);
    for (SchedulerType type : SchedulerType.values()) {
      Scheduler s = Scheduler.create(type, DiffusersConfig.parse("{}", "empty"));
      s.setTimesteps(10);
      long t = s.timesteps()[0];
      SchedulerOutput out = s.step(e, t, x);
      boolean reports = type == SchedulerType.DDIM || type == SchedulerType.EULER;
      assertThat(out.predOriginalSample().isPresent()).as(type + " reports x0").isEqualTo(reports);
      if (type != SchedulerType.DDIM) {
        s.setTimesteps(10);
        assertThatThrownBy(() -> s.step(e, t, x, StepOptions.eta(0.5, new Random(1))))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eta: expected 0 for " + type);
      }
    }
  }

  @Test
  void eulerLabelsRoundTheFractionalTimesteps() {
    Scheduler s = Scheduler.create(SchedulerType.EULER, sd15Config());
    s.setTimesteps(7);
    double[] values = s.modelTimesteps();
    long[] labels = s.timesteps();
    assertThat(java.util.Arrays.stream(values).anyMatch(v -> v != Math.rint(v))).as("some fractional").isTrue();
    for (int i = 0; i < values.length; i++) {
      assertThat(labels[i]).isEqualTo((long) Math.rint(values[i]));
    }
    // linspace spacing: the initial noise is scaled by the largest σ, the first step's
    double[] sigmas = ((EulerDiscreteScheduler) s).sigmas();
    assertThat(s.initNoiseSigma()).isEqualTo(sigmas[0]);
    assertThat(sigmas[sigmas.length - 1]).isZero();
  }
}
