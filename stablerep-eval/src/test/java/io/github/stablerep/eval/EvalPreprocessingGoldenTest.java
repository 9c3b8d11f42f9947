package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.eval.EvalPreprocessing.Interpolation;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * EvalPreprocessing with {@link Interpolation#BICUBIC} against torchvision 0.14's
 * {@code Resize(72, BICUBIC, antialias=True)}, {@code CenterCrop(64)}, {@code Normalize(ImageNet)}
 * on float tensors (tools/reference/bicubic_reference.py; one landscape 90×131 and one portrait
 * 117×85 photograph). Tolerance 5e-5 absolute on the normalised output, i.e. about 1.1e-5 in
 * [0, 1] pixel units before dividing by std ≈ 0.22.
 */
class EvalPreprocessingGoldenTest {

  private static final Path DIR = Goldens.dir("preprocess");
  private static final double TOL = 5e-5;

  private static INDArray input(int k) {
    return Goldens.npy(DIR, "eval_input_" + k).castTo(DataType.FLOAT).divi(255f);
  }

  private static double maxAbs(INDArray expected, INDArray actual) {
    assertThat(actual.shape()).containsExactly(expected.shape());
    return actual.castTo(DataType.DOUBLE).sub(expected.castTo(DataType.DOUBLE)).amaxNumber()
        .doubleValue();
  }

  @Test
  void bicubicMatchesTorchvision() {
    EvalPreprocessing p = EvalPreprocessing.builder().resizeShortSide(72).cropSize(64)
        .interpolation(Interpolation.BICUBIC).build();
    assertThat(p.interpolation()).isEqualTo(Interpolation.BICUBIC);
    assertThat(p.toBuilder().build().interpolation()).isEqualTo(Interpolation.BICUBIC);
    for (int k = 0; k < 2; k++) {
      INDArray expected = Goldens.npy(DIR, "eval_bicubic_" + k);
      double err = maxAbs(expected, p.apply(input(k)));
      System.out.printf("golden eval bicubic %d max abs error %.3e%n", k, err);
      assertThat(err).as("eval bicubic %s max abs error", k).isLessThanOrEqualTo(TOL);
    }
  }

  @Test
  void defaultStaysBilinearAndDiffersFromBicubic() {
    assertThat(EvalPreprocessing.imageNet().interpolation()).isEqualTo(Interpolation.BILINEAR);
    EvalPreprocessing bilinear = EvalPreprocessing.builder().resizeShortSide(72).cropSize(64).build();
    double diff = maxAbs(Goldens.npy(DIR, "eval_bicubic_0"), bilinear.apply(input(0)));
    // Different filters on a real photograph differ by far more than the golden tolerance.
    assertThat(diff).isGreaterThan(100 * TOL);
  }

  @Test
  void rejectsNullInterpolation() {
    assertThatThrownBy(() -> EvalPreprocessing.builder().interpolation(null).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("interpolation")
        .hasMessageContaining("null");
  }
}
