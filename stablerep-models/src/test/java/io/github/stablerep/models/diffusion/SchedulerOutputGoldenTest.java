package io.github.stablerep.models.diffusion;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.stablerep.core.Goldens;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@link SchedulerOutput#predOriginalSample()} against diffusers' {@code pred_original_sample}
 * (tools/reference/scheduler_x0_reference.py): DDIM (epsilon, v, clipped x0 prediction, eta with
 * given noise and the clipped model output) and Euler, along whole chains. Same tolerance as
 * {@link SchedulerGoldenTest}: 1e-6 relative.
 */
class SchedulerOutputGoldenTest {
  private static final double TOL = 1e-6;

  @TestFactory
  Stream<DynamicTest> predictedX0MatchesDiffusers() throws IOException {
    Path cases = Goldens.dir("schedulers").resolve("x0");
    List<Path> dirs = new ArrayList<>();
    try (Stream<Path> s = Files.list(cases)) {
      s.filter(Files::isDirectory).sorted().forEach(dirs::add);
    }
    assertTrue(dirs.size() >= 6, "expected the reference's cases, found " + dirs.size());
    return dirs.stream().map(d -> DynamicTest.dynamicTest(d.getFileName().toString(), () -> check(d)));
  }

  private static void check(Path dir) throws IOException {
    DiffusersConfig c = DiffusersConfig.read(dir.resolve("case.json"));
    SchedulerType type = SchedulerType.valueOf(c.getString("type"));
    double eta = c.getDouble("eta");
    String name = dir.getFileName().toString();
    Scheduler s = Scheduler.create(type, dir.resolve("scheduler_config.json"));
    s.setTimesteps(c.getInt("steps"));
    INDArray x = Goldens.npy(dir, "sample");
    INDArray outputs = Goldens.npy(dir, "model_outputs");
    INDArray prev = Goldens.npy(dir, "prev_samples");
    INDArray x0 = Goldens.npy(dir, "pred_original_samples");
    INDArray noise = eta > 0 ? Goldens.npy(dir, "noise") : null;
    long[] ts = s.timesteps();
    assertTrue(ts.length == prev.size(0), name + ": expected " + prev.size(0) + " steps, found " + ts.length);
    for (int k = 0; k < ts.length; k++) {
      s.scaleModelInput(x, ts[k]);
      StepOptions options = StepOptions.builder().eta(eta)
          .useClippedModelOutput(c.getBoolean("use_clipped_model_output", false))
          .varianceNoise(noise == null ? null : noise.slice(k)).build();
      SchedulerOutput out = s.step(outputs.slice(k), ts[k], x, options);
      Goldens.assertClose(name + " pred_original_sample " + k, x0.slice(k), out.predOriginalSample().orElseThrow(),
          TOL);
      Goldens.assertClose(name + " prev_sample " + k, prev.slice(k), out.prevSample(), TOL);
      x = out.prevSample();
    }
  }
}
