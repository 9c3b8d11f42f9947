package io.github.stablerep.augment;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Every bad argument is an IllegalArgumentException naming the argument, the expectation and the finding. */
class ImageOpsValidationTest {

  private static final INDArray X = Nd4j.rand(DataType.FLOAT, 2, 3, 8, 10);
  private static final double[] TWO = {1.0, 1.0};

  private static void rejects(Executable call, String... fragments) {
    assertThatThrownBy(call::execute)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(fragments);
  }

  @Test
  void rejectsWrongRankChannelsAndType() {
    rejects(() -> ImageOps.hflip(Nd4j.rand(DataType.FLOAT, 3, 8, 10), new boolean[3]),
        "x:", "expected a batch [N, 3, H, W]", "found shape [3, 8, 10]");
    rejects(() -> ImageOps.adjustBrightness(Nd4j.rand(DataType.FLOAT, 2, 1, 8, 10), TWO),
        "x:", "expected 3 channels", "found 1");
    rejects(() -> ImageOps.rgbToGrayscale(Nd4j.rand(DataType.FLOAT, 2, 4, 8, 10), 1),
        "x:", "expected 3 channels", "found 4");
    rejects(() -> ImageOps.solarize(Nd4j.zeros(DataType.INT, 2, 3, 8, 10), 0.5),
        "x:", "expected a floating-point array", "INT");
    rejects(() -> ImageOps.rgbToGrayscale(X, 2), "outputChannels:", "expected 1 or 3", "found 2");
  }

  @Test
  void rejectsParameterArraysOfTheWrongLength() {
    rejects(() -> ImageOps.hflip(X, new boolean[3]), "flip:", "expected length 2", "found 3");
    rejects(() -> ImageOps.adjustBrightness(X, new double[1]), "factor:", "expected length 2", "found 1");
    rejects(() -> ImageOps.adjustContrast(X, new double[3]), "factor:", "expected length 2", "found 3");
    rejects(() -> ImageOps.adjustSaturation(X, new double[0]), "factor:", "expected length 2", "found 0");
    rejects(() -> ImageOps.adjustHue(X, new double[5]), "hueShift:", "expected length 2", "found 5");
    rejects(() -> ImageOps.gaussianBlur(X, 3, new double[] {1}), "sigma:", "expected length 2", "found 1");
    rejects(() -> ImageOps.normalize(X, new double[2], new double[] {1, 1, 1}),
        "mean:", "expected length 3 (one per channel)", "found 2");
    rejects(() -> ImageOps.normalize(X, new double[3], new double[] {1, 1}),
        "std:", "expected length 3 (one per channel)", "found 2");
    int[] ok = {0, 0};
    int[] size = {4, 4};
    rejects(() -> ImageOps.resizedCrop(X, new int[1], ok, size, size, 4, 4), "top:", "expected length 2", "found 1");
    rejects(() -> ImageOps.resizedCrop(X, ok, new int[3], size, size, 4, 4), "left:", "expected length 2", "found 3");
    rejects(() -> ImageOps.resizedCrop(X, ok, ok, new int[1], size, 4, 4), "height:", "expected length 2", "found 1");
    rejects(() -> ImageOps.resizedCrop(X, ok, ok, size, new int[4], 4, 4), "width:", "expected length 2", "found 4");
  }

  @Test
  void rejectsCropsOutsideTheImage() {
    int[] zero = {0, 0};
    int[] four = {4, 4};
    rejects(() -> ImageOps.resizedCrop(X, new int[] {0, 5}, zero, four, four, 4, 4),
        "top/height:", "expected rows inside [0, 8)", "found [5, 9) at index 1");
    rejects(() -> ImageOps.resizedCrop(X, new int[] {-1, 0}, zero, four, four, 4, 4),
        "top/height:", "found [-1, 3) at index 0");
    rejects(() -> ImageOps.resizedCrop(X, zero, new int[] {7, 0}, four, four, 4, 4),
        "left/width:", "expected columns inside [0, 10)", "found [7, 11) at index 0");
    rejects(() -> ImageOps.resizedCrop(X, zero, zero, new int[] {0, 4}, four, 4, 4),
        "height/width:", "expected a crop of at least 1x1", "found 0x4");
    rejects(() -> ImageOps.resizedCrop(X, zero, zero, four, four, 0, 4), "outH:", "expected a positive size", "found 0");
    rejects(() -> ImageOps.resizedCrop(X, zero, zero, four, four, 4, -2), "outW:", "found -2");
  }

  @Test
  void rejectsBadKernelsAndSigmas() {
    rejects(() -> ImageOps.gaussianBlur(X, 4, TWO), "kernelSize:", "expected a positive odd number", "found 4");
    rejects(() -> ImageOps.gaussianBlur(X, 0, TWO), "kernelSize:", "found 0");
    rejects(() -> ImageOps.gaussianBlur(X, 17, TWO), "kernelSize:", "kernelSize / 2 < min(H, W) = 8", "found 17");
    rejects(() -> ImageOps.gaussianBlur(X, 3, new double[] {1, 0}), "sigma:", "expected finite values > 0", "found 0.0 at index 1");
    rejects(() -> ImageOps.gaussianBlur(X, 3, new double[] {-1, 1}), "sigma:", "found -1.0 at index 0");
    rejects(() -> ImageOps.gaussianBlur(X, 3, new double[] {Double.NaN, 1}), "sigma:", "found NaN");
  }

  @Test
  void rejectsBadFactors() {
    rejects(() -> ImageOps.adjustBrightness(X, new double[] {1, -0.1}), "factor:", "expected finite values >= 0", "found -0.1 at index 1");
    rejects(() -> ImageOps.adjustContrast(X, new double[] {Double.NaN, 1}), "factor:", "found NaN at index 0");
    rejects(() -> ImageOps.adjustSaturation(X, new double[] {1, Double.POSITIVE_INFINITY}), "factor:", "found Infinity");
    rejects(() -> ImageOps.adjustHue(X, new double[] {0, 0.6}), "hueShift:", "expected values in [-0.5, 0.5]", "found 0.6 at index 1");
    rejects(() -> ImageOps.solarize(X, 1.5), "threshold:", "expected a finite value <= 1", "found 1.5");
    rejects(() -> ImageOps.normalize(X, new double[3], new double[] {1, 0, 1}), "std:", "expected finite non-zero values", "found 0.0 at index 1");
  }
}
