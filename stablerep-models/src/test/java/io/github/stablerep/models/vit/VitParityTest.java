package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.SafeTensors;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Parity with torchvision's VisionTransformer (tools/reference/vit_reference.py): the goldens
 * are float64 forward passes of the fp32-rounded weights, so the error measured here is our
 * fp32 arithmetic alone.
 */
class VitParityTest {

  static final double MAX_ABS = 1e-4;
  static final double REL_L2 = 1e-5;

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"s32_p4, TORCHVISION", "s32_p4, TIMM", "h32_w48_p8, TORCHVISION", "h32_w48_p8, TIMM"})
  void classTokenMatchesTorchvisionInFloat32(String config, WeightLayout layout) throws Exception {
    double[] errors = run(config, layout, DataType.FLOAT);
    System.out.printf("vit parity %s %s fp32: max abs %.3g, rel L2 %.3g%n", config, layout, errors[0], errors[1]);
    assertThat(errors[0]).as("max abs error").isLessThanOrEqualTo(MAX_ABS);
    assertThat(errors[1]).as("relative L2 error").isLessThanOrEqualTo(REL_L2);
  }

  /**
   * In double the graph reproduces the float64 goldens to rounding: what the fp32 test measures
   * is precision, not a difference in the computation.
   */
  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"s32_p4, TORCHVISION", "h32_w48_p8, TIMM"})
  void classTokenMatchesTorchvisionToRoundingInFloat64(String config, WeightLayout layout) throws Exception {
    double[] errors = run(config, layout, DataType.DOUBLE);
    System.out.printf("vit parity %s %s fp64: max abs %.3g, rel L2 %.3g%n", config, layout, errors[0], errors[1]);
    assertThat(errors[0]).as("max abs error").isLessThanOrEqualTo(1e-12);
    assertThat(errors[1]).as("relative L2 error").isLessThanOrEqualTo(1e-13);
  }

  /** Max abs and relative L2 error of the class token against the golden features. */
  static double[] run(String config, WeightLayout layout, DataType type) throws Exception {
    Path dir = golden(config);
    int[] c = Arrays.stream(Files.readString(dir.resolve("config.txt")).trim().split(" "))
        .mapToInt(Integer::parseInt).toArray();
    VisionTransformer vit = VisionTransformer.builder()
        .imageSize(c[0], c[1]).patchSize(c[2]).width(c[3]).depth(c[4]).heads(c[5])
        .mlpRatio((double) c[6] / c[3]).dataType(type).build();
    SameDiff sd = SameDiff.create();
    SDVariable images = sd.placeHolder("images", type, -1, 3, c[0], c[1]);
    VitGraph g = vit.define(sd, images);
    Map<String, INDArray> weights =
        SafeTensors.read(dir.resolve(layout == WeightLayout.TIMM ? "timm.safetensors" : "torchvision.safetensors"));
    List<String> ignored = vit.importWeights(sd, weights, layout).ignored();
    assertThat(ignored).hasSize(2).allMatch(k -> k.startsWith(layout == WeightLayout.TIMM ? "head." : "heads."));

    INDArray input = Npy.read(dir.resolve("images.npy"));
    INDArray expected = Npy.read(dir.resolve("features.npy"));
    INDArray actual = sd.output(Map.of("images", input.castTo(type)), g.classToken().name()).get(g.classToken().name());

    assertThat(actual.shape()).containsExactly(expected.shape());
    INDArray diff = actual.castTo(DataType.DOUBLE).sub(expected);
    double maxAbs = diff.amaxNumber().doubleValue();
    double relL2 = diff.norm2Number().doubleValue() / expected.norm2Number().doubleValue();
    return new double[] {maxAbs, relL2};
  }

  static Path golden(String name) throws URISyntaxException {
    return Path.of(VitParityTest.class.getResource("/golden/vit/" + name).toURI());
  }
}
