package io.github.stablerep.augment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * BicubicResize against torchvision 0.14's tensor {@code resize(..., BICUBIC, antialias=True /
 * False)} (goldens written by tools/reference/bicubic_reference.py from two real photographs,
 * [2,3,48,64], resized down, up, and up along one axis while down along the other). Tolerance
 * 1e-5 absolute, as ImageOps' pointwise goldens: both sides accumulate in float32 in the same
 * order, so only the float32 weight computation can differ.
 */
class BicubicResizeGoldenTest {

  private static final double TOL = 1e-5;

  private static Path dir;
  private static INDArray input;

  @BeforeAll
  static void load() throws URISyntaxException {
    dir = Path.of(BicubicResizeGoldenTest.class.getResource("/golden/augment").toURI());
    input = npy("bicubic_input").castTo(DataType.FLOAT).divi(255f);
  }

  static INDArray npy(String name) {
    try {
      return Npy.read(dir.resolve(name + ".npy"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void matchesTorchvisionAntialiasedAndPlain() {
    int[][] sizes = npy("bicubic_sizes").castTo(DataType.INT).toIntMatrix();
    assertThat(sizes.length).isGreaterThanOrEqualTo(6);
    boolean sawOvershoot = false;
    for (int k = 0; k < sizes.length; k++) {
      for (boolean aa : new boolean[] {true, false}) {
        String name = "bicubic_" + (aa ? "aa" : "plain") + "_" + k;
        INDArray actual = BicubicResize.resize(input, sizes[k][0], sizes[k][1], aa);
        ImageOpsGoldenTest.assertMaxAbs(
            name + " " + sizes[k][0] + "x" + sizes[k][1], npy(name), actual, TOL);
        sawOvershoot |= actual.minNumber().doubleValue() < 0 || actual.maxNumber().doubleValue() > 1;
      }
    }
    // The goldens carry cubic overshoot; matching them means nothing was clamped.
    assertThat(sawOvershoot).isTrue();
  }

  @Test
  void acceptsAnyChannelCountAndDoubleInput() {
    INDArray one = input.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 2)).dup().castTo(DataType.DOUBLE);
    INDArray expected = npy("bicubic_aa_1").get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 2));
    int[][] sizes = npy("bicubic_sizes").castTo(DataType.INT).toIntMatrix();
    INDArray actual = BicubicResize.resize(one, sizes[1][0], sizes[1][1], true);
    assertThat(actual.dataType()).isEqualTo(DataType.FLOAT);
    ImageOpsGoldenTest.assertMaxAbs("bicubic one channel", expected.dup(), actual, TOL);
  }

  @Test
  void rejectsBadInput() {
    assertThatThrownBy(() -> BicubicResize.resize(Nd4j.zeros(DataType.FLOAT, 3, 4, 4), 2, 2, true))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[N, C, H, W]")
        .hasMessageContaining("[3, 4, 4]");
    assertThatThrownBy(() -> BicubicResize.resize(Nd4j.zeros(DataType.INT, 1, 3, 4, 4), 2, 2, true))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT");
    assertThatThrownBy(() -> BicubicResize.resize(Nd4j.zeros(DataType.FLOAT, 1, 3, 4, 4), 0, 2, false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x2");
    assertThatThrownBy(() -> BicubicResize.resize(null, 2, 2, false))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("x:");
  }
}
