package io.github.stablerep.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.stablerep.core.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * ImageOps against torchvision 0.14's functional ops on tensors (goldens written by
 * tools/reference/augment_reference.py from two real photographs). Sample i of every golden
 * batch is photograph i % 2 with the i-th parameter. Tolerances: 2/255 for the resampling ops
 * (resizedCrop, gaussianBlur), 1e-5 for the colour and pointwise ops.
 */
class ImageOpsGoldenTest {

  private static final double RESAMPLING_TOL = 2.0 / 255;
  private static final double POINTWISE_TOL = 1e-5;

  private static Path dir;
  private static INDArray small; // [2,3,24,32] in [0,1]
  private static INDArray large; // [2,3,96,128]

  @BeforeAll
  static void load() throws URISyntaxException {
    dir = Path.of(ImageOpsGoldenTest.class.getResource("/golden/augment").toURI());
    small = npy("input_small").castTo(DataType.FLOAT).divi(255f);
    large = npy("input_large").castTo(DataType.FLOAT).divi(255f);
  }

  static INDArray npy(String name) {
    try {
      return Npy.read(dir.resolve(name + ".npy"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Batch whose sample i is photograph i % 2, as the goldens are laid out. */
  static INDArray alternating(INDArray images, int n) {
    INDArray[] rows = new INDArray[n];
    for (int i = 0; i < n; i++) {
      rows[i] = images.get(NDArrayIndex.interval(i % 2, i % 2 + 1)).dup();
    }
    return Nd4j.concat(0, rows);
  }

  static double[] doubles(String name) {
    return npy(name).castTo(DataType.DOUBLE).toDoubleVector();
  }

  /** Asserts the max abs error and prints it (the report quotes these numbers). */
  static void assertMaxAbs(String what, INDArray expected, INDArray actual, double tol) {
    assertArrayEquals(expected.shape(), actual.shape(), what + ": shape " + Arrays.toString(actual.shape()));
    double max = actual.castTo(DataType.DOUBLE).sub(expected.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    System.out.printf("golden %-22s max abs error %.3e (%.4f/255)%n", what, max, max * 255);
    assertTrue(max <= tol, what + ": max abs error " + max + " > " + tol);
  }

  @Test
  void brightnessContrastSaturation() {
    double[] f = doubles("factors");
    INDArray x = alternating(small, f.length);
    assertMaxAbs("adjustBrightness", npy("brightness"), ImageOps.adjustBrightness(x, f), POINTWISE_TOL);
    assertMaxAbs("adjustContrast", npy("contrast"), ImageOps.adjustContrast(x, f), POINTWISE_TOL);
    assertMaxAbs("adjustSaturation", npy("saturation"), ImageOps.adjustSaturation(x, f), POINTWISE_TOL);
  }

  @Test
  void hue() {
    double[] h = doubles("hues");
    INDArray x = alternating(small, h.length);
    assertMaxAbs("adjustHue", npy("hue"), ImageOps.adjustHue(x, h), POINTWISE_TOL);
  }

  @Test
  void grayscale() {
    assertMaxAbs("rgbToGrayscale(1)", npy("grayscale1"), ImageOps.rgbToGrayscale(small, 1), POINTWISE_TOL);
    assertMaxAbs("rgbToGrayscale(3)", npy("grayscale3"), ImageOps.rgbToGrayscale(small, 3), POINTWISE_TOL);
  }

  @Test
  void solarizeNormalizeFlip() {
    double[] t = doubles("thresholds");
    for (int k = 0; k < t.length; k++) {
      assertMaxAbs("solarize(" + t[k] + ")", npy("solarize_" + k), ImageOps.solarize(small, t[k]), POINTWISE_TOL);
    }
    assertMaxAbs(
        "normalize",
        npy("normalize"),
        ImageOps.normalize(small, new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225}),
        POINTWISE_TOL);
    assertMaxAbs("normalize(clip)", npy("normalize_clip"),
        ImageOps.normalize(small, new double[] {0.48145466, 0.4578275, 0.40821073},
            new double[] {0.26862954, 0.26130258, 0.27577711}),
        POINTWISE_TOL);
    assertMaxAbs("normalize(odd)", npy("normalize_odd"),
        ImageOps.normalize(small, new double[] {-0.25, 0.5, 1.0}, new double[] {2.0, 0.5, 0.125}),
        POINTWISE_TOL);
    assertMaxAbs("hflip", npy("hflip"), ImageOps.hflip(small, new boolean[] {true, true}), 0);
    assertMaxAbs("hflip(none)", small, ImageOps.hflip(small, new boolean[] {false, false}), 0);
  }

  @Test
  void gaussianBlur() {
    double[] s = doubles("sigmas");
    INDArray x = alternating(small, s.length);
    for (int k : new int[] {3, 9, 23}) {
      assertMaxAbs("gaussianBlur(k=" + k + ")", npy("blur_k" + k), ImageOps.gaussianBlur(x, k, s), RESAMPLING_TOL);
    }
  }

  @Test
  void resizedCrop() {
    int[][] crops = toIntMatrix(npy("crops"));
    int n = crops.length;
    int[] top = new int[n], left = new int[n], height = new int[n], width = new int[n];
    for (int i = 0; i < n; i++) {
      top[i] = crops[i][0];
      left[i] = crops[i][1];
      height[i] = crops[i][2];
      width[i] = crops[i][3];
    }
    INDArray x = alternating(large, n);
    assertMaxAbs(
        "resizedCrop", npy("resized_crop"), ImageOps.resizedCrop(x, top, left, height, width, 24, 32), RESAMPLING_TOL);
  }

  private static int[][] toIntMatrix(INDArray a) {
    int rows = (int) a.size(0);
    int cols = (int) a.size(1);
    int[] flat = a.castTo(DataType.INT).reshape(rows * cols).toIntVector();
    int[][] m = new int[rows][cols];
    for (int i = 0; i < rows; i++) {
      System.arraycopy(flat, i * cols, m[i], 0, cols);
    }
    return m;
  }
}
