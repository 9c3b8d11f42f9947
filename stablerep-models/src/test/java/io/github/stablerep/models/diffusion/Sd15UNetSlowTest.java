package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The full SD v1.5 UNet (its published config.json, random weights: 3.4 GB) builds and runs one
 * step at a 16x16 latent. Opt-in, as it allocates gigabytes and takes about a minute:
 * {@code mvn -pl stablerep-models -am test -Dslow=true -Dtest=Sd15UNetSlowTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@EnabledIfSystemProperty(named = "slow", matches = "true")
class Sd15UNetSlowTest {

  @Test
  void sd15UNetBuildsAndRunsOneStep() throws Exception {
    Path d = Goldens.dir("diffusion/sd15");
    UNet2DConditionModel unet = UNet2DConditionModel.fromConfig(DiffusersConfig.read(d.resolve("unet_config.json")));
    long expected = Goldens.npy(d, "unet_parameters").getLong(0);
    long t0 = System.nanoTime();
    SameDiff sd = SameDiff.create();
    SDVariable out = unet.define(sd, sd.placeHolder("sample", DataType.FLOAT, -1, 4, -1, -1),
        sd.placeHolder("timestep", DataType.FLOAT, -1), sd.placeHolder("context", DataType.FLOAT, -1, -1, 768));
    long built = System.nanoTime();
    long count = sd.variables().stream().filter(v -> v.getVariableType() == org.nd4j.autodiff.samediff.VariableType.VARIABLE)
        .mapToLong(v -> v.getArr().length()).sum();
    assertThat(count).isEqualTo(expected);

    Random rng = new Random(5);
    Map<String, INDArray> feeds = Map.of("sample", gaussian(rng, 1, 4, 16, 16),
        "timestep", Nd4j.createFromArray(981f), "context", gaussian(rng, 1, 77, 768));
    INDArray y = sd.output(feeds, out.name()).get(out.name());
    long ran = System.nanoTime();
    assertThat(y.shape()).containsExactly(1, 4, 16, 16);
    assertThat(y.isInfinite().any() || y.isNaN().any()).isFalse();
    assertThat(y.stdNumber().doubleValue()).isGreaterThan(0);
    System.out.printf("SD v1.5 UNet: %,d parameters (diffusers: %,d); build %.1f s, one step at 1x4x16x16 %.1f s%n",
        count, expected, (built - t0) / 1e9, (ran - built) / 1e9);
  }

  private static INDArray gaussian(Random rng, long... shape) {
    float[] v = new float[(int) java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rng.nextGaussian();
    }
    return Nd4j.createFromArray(v).reshape(shape);
  }
}
