package io.github.stablerep.models.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.stablerep.core.Goldens;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Full sampling chains against diffusers' own schedulers (tools/reference/scheduler_reference.py):
 * each case loads its {@code scheduler_config.json} through {@link Scheduler#create}, sets the
 * timesteps, and runs every step from the golden initial sample with the golden model outputs,
 * feeding each result into the next step (so PNDM's and DPM-Solver's history is exercised), as a
 * sampling loop does.
 *
 * <p>Tolerances: timesteps exact; ᾱ, Euler's σ and initNoiseSigma 1e-6 relative per element;
 * scaled model inputs and every step's sample 1e-6 relative (L2, and max-abs relative to
 * max|expected|, see {@link Goldens#assertClose}). The largest errors seen are printed at the end.
 */
class SchedulerGoldenTest {
  private static final double TOL = 1e-6;
  private static final Map<String, Double> MAX_ERROR = new TreeMap<>();

  @TestFactory
  Stream<DynamicTest> chainsMatchDiffusers() throws IOException {
    Path cases = Goldens.dir("schedulers").resolve("cases");
    List<Path> dirs = new ArrayList<>();
    try (Stream<Path> s = Files.list(cases)) {
      s.filter(Files::isDirectory).sorted().forEach(dirs::add);
    }
    assertTrue(dirs.size() >= 40, "expected the reference's cases, found " + dirs.size());
    return dirs.stream().map(d -> DynamicTest.dynamicTest(d.getFileName().toString(), () -> check(d)));
  }

  private static void check(Path dir) throws IOException {
    DiffusersConfig c = DiffusersConfig.read(dir.resolve("case.json"));
    SchedulerType type = SchedulerType.valueOf(c.getString("type"));
    double eta = c.getDouble("eta");
    boolean clipped = c.getBoolean("use_clipped_model_output", false);
    String name = dir.getFileName().toString();
    Scheduler s = Scheduler.create(type, dir.resolve("scheduler_config.json"));
    s.setTimesteps(c.getInt("steps"));

    long[] expectedT = Goldens.npy(dir, "timesteps").toLongVector();
    long[] ts = s.timesteps();
    assertArrayEquals(expectedT, ts, name + ": timesteps");
    elementwise(type + " alphas_cumprod", Goldens.npy(dir, "alphas_cumprod").toDoubleVector(), s.alphasCumprod());
    relative(type + " init_noise_sigma", Goldens.scalar(dir, "init_noise_sigma"), s.initNoiseSigma());
    if (type == SchedulerType.EULER) {
      EulerDiscreteScheduler e = (EulerDiscreteScheduler) s;
      elementwise("EULER sigmas", Goldens.npy(dir, "sigmas").toDoubleVector(), e.sigmas());
      double[] mt = Goldens.npy(dir, "model_timesteps").toDoubleVector();
      assertArrayEquals(mt, e.modelTimesteps(), 0.0, name + ": model timesteps");
    }

    INDArray x = Goldens.npy(dir, "sample");
    INDArray outputs = Goldens.npy(dir, "model_outputs");
    INDArray scaled = Goldens.npy(dir, "scaled_inputs");
    INDArray prev = Goldens.npy(dir, "prev_samples");
    INDArray noise = eta > 0 ? Goldens.npy(dir, "noise") : null;
    for (int k = 0; k < ts.length; k++) {
      record(type + " scaled input", Goldens.assertClose(name + " scaled input " + k, scaled.slice(k),
          s.scaleModelInput(x, ts[k]), TOL));
      INDArray out = eta > 0 || clipped
          ? s.step(outputs.slice(k), ts[k], x, StepOptions.builder().eta(eta).useClippedModelOutput(clipped)
              .varianceNoise(noise == null ? null : noise.slice(k)).build()).prevSample()
          : s.step(outputs.slice(k), ts[k], x).prevSample();
      record(type + " step", Goldens.assertClose(name + " step " + k + " (t=" + ts[k] + ")", prev.slice(k), out, TOL));
      x = out;
    }
  }

  private static void elementwise(String what, double[] expected, double[] actual) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      relative(what, expected[i], actual[i]);
    }
  }

  private static void relative(String what, double expected, double actual) {
    double err = expected == 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
    assertTrue(err <= TOL, what + ": expected " + expected + ", found " + actual + " (relative error " + err + ")");
    record(what, err);
  }

  private static synchronized void record(String what, double err) {
    MAX_ERROR.merge(what, err, Math::max);
  }

  @AfterAll
  static void report() {
    MAX_ERROR.forEach((k, v) -> System.out.printf("scheduler goldens: max relative error %-32s %.3g%n", k, v));
  }
}
