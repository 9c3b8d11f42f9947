package io.github.stablerep.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Identities of the ops on random batches. Generated values are seeds and sizes only; arrays
 * are built from java.util.Random inside each property (never INDArrays as jqwik values).
 */
class ImageOpsProperties {

  static INDArray batch(long seed, int n, int h, int w) {
    Random rnd = new Random(seed);
    float[] data = new float[n * 3 * h * w];
    for (int i = 0; i < data.length; i++) {
      data[i] = rnd.nextFloat();
    }
    return Nd4j.create(data, new long[] {n, 3, h, w}, 'c');
  }

  static double maxAbs(INDArray a, INDArray b) {
    assertArrayEquals(a.shape(), b.shape());
    return a.sub(b).amaxNumber().doubleValue();
  }

  @Property(tries = 30)
  void unitFactorsAndDoubleFlipAreIdentities(
      @ForAll long seed, @ForAll @IntRange(min = 1, max = 4) int n,
      @ForAll @IntRange(min = 1, max = 20) int h, @ForAll @IntRange(min = 1, max = 20) int w) {
    INDArray x = batch(seed, n, h, w);
    double[] ones = new double[n];
    java.util.Arrays.fill(ones, 1.0);
    boolean[] all = new boolean[n];
    java.util.Arrays.fill(all, true);
    assertEquals(0, maxAbs(x, ImageOps.adjustBrightness(x, ones)));
    assertEquals(0, maxAbs(x, ImageOps.adjustContrast(x, ones)));
    assertEquals(0, maxAbs(x, ImageOps.adjustSaturation(x, ones)));
    assertEquals(0, maxAbs(x, ImageOps.hflip(ImageOps.hflip(x, all), all)));
    assertTrue(maxAbs(x, ImageOps.adjustHue(x, new double[n])) <= 1e-6, "hue 0 round trip");
    int[] zero = new int[n];
    int[] hh = new int[n];
    int[] ww = new int[n];
    java.util.Arrays.fill(hh, h);
    java.util.Arrays.fill(ww, w);
    assertTrue(maxAbs(x, ImageOps.resizedCrop(x, zero, zero, hh, ww, h, w)) <= 1e-7, "identity crop");
  }

  @Property(tries = 20)
  void blurKeepsConstantImagesAndSumsToOne(
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 6) int halfKernel) {
    Random rnd = new Random(seed);
    int k = 2 * halfKernel + 1;
    INDArray x = Nd4j.valueArrayOf(new long[] {2, 3, 14, 15}, rnd.nextFloat(), DataType.FLOAT);
    double[] sigma = {0.05 + 3 * rnd.nextDouble(), 0.05 + 3 * rnd.nextDouble()};
    assertTrue(maxAbs(x, ImageOps.gaussianBlur(x, k, sigma)) <= 1e-6);
    float sum = 0;
    for (float v : ImageKernels.gaussianKernel(k, sigma[0])) {
      sum += v;
    }
    assertEquals(1.0, sum, 1e-6);
  }

  /** Sample i of a batch result equals the op on sample i alone: parameters go to the right sample. */
  @Property(tries = 15)
  void batchedEqualsOneByOne(@ForAll long seed) {
    Random rnd = new Random(seed);
    int n = 3;
    INDArray x = batch(seed, n, 12, 16);
    double[] f = {rnd.nextDouble() * 2, rnd.nextDouble() * 2, rnd.nextDouble() * 2};
    double[] hue = {rnd.nextDouble() - 0.5, rnd.nextDouble() - 0.5, rnd.nextDouble() - 0.5};
    double[] sigma = {0.1 + rnd.nextDouble() * 2, 0.1 + rnd.nextDouble() * 2, 0.1 + rnd.nextDouble() * 2};
    int[] top = {0, 3, 5}, left = {1, 0, 7}, height = {12, 4, 7}, width = {9, 16, 9};
    INDArray contrast = ImageOps.adjustContrast(x, f);
    INDArray hueOut = ImageOps.adjustHue(x, hue);
    INDArray blur = ImageOps.gaussianBlur(x, 5, sigma);
    INDArray crop = ImageOps.resizedCrop(x, top, left, height, width, 8, 10);
    for (int i = 0; i < n; i++) {
      INDArray xi = x.get(NDArrayIndex.interval(i, i + 1)); // a view: exercises the copy path
      assertEquals(0, maxAbs(row(contrast, i), ImageOps.adjustContrast(xi, new double[] {f[i]})));
      assertEquals(0, maxAbs(row(hueOut, i), ImageOps.adjustHue(xi, new double[] {hue[i]})));
      assertEquals(0, maxAbs(row(blur, i), ImageOps.gaussianBlur(xi, 5, new double[] {sigma[i]})));
      assertEquals(0, maxAbs(row(crop, i), ImageOps.resizedCrop(
          xi, new int[] {top[i]}, new int[] {left[i]}, new int[] {height[i]}, new int[] {width[i]}, 8, 10)));
    }
  }

  /** Inputs are never modified, and double inputs give the float result. */
  @Property(tries = 10)
  void inputUntouchedAndDoubleAccepted(@ForAll long seed) {
    INDArray x = batch(seed, 2, 9, 11);
    INDArray copy = x.dup();
    INDArray out = ImageOps.solarize(x, 0.4);
    assertEquals(0, maxAbs(x, copy));
    assertEquals(DataType.FLOAT, out.dataType());
    assertEquals(0, maxAbs(out, ImageOps.solarize(x.castTo(DataType.DOUBLE), 0.4)));
  }

  /**
   * adjustHue's closed form (ImageKernels.hue) at any magnitude: each output pixel stays within its
   * input's [min, max] (the hexcone keeps both), gray pixels come back bit for bit, and the
   * rotation is homogeneous, hue(s·x) = s·hue(x), for pixels where its channel masks are exact
   * (max ≥ 2^-100). Scales down to 2^-140 reach the range the masks do not resolve.
   */
  @Property(tries = 25)
  void hueKeepsEachPixelsRangeGrayPixelsAndScale(
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 140) int exponent,
      @ForAll @IntRange(min = -50, max = 50) int shiftPercent) {
    int n = 2;
    int plane = 9 * 7;
    float scale = (float) Math.scalb(1.0, -exponent);
    float[] unit = batch(seed, n, 9, 7).data().asFloat();
    for (int i = 0; i < n; i++) { // pixels 0 and 5 of each sample gray
      for (int k : new int[] {0, 5}) {
        unit[i * 3 * plane + plane + k] = unit[i * 3 * plane + k];
        unit[i * 3 * plane + 2 * plane + k] = unit[i * 3 * plane + k];
      }
    }
    float[] scaled = new float[unit.length];
    for (int j = 0; j < unit.length; j++) {
      scaled[j] = unit[j] * scale;
    }
    double shift = shiftPercent / 100.0;
    float[] y = ImageOps.adjustHue(Nd4j.create(scaled, new long[] {n, 3, 9, 7}, 'c'),
        new double[] {shift, shift}).data().asFloat();
    float[] yUnit = ImageOps.adjustHue(Nd4j.create(unit, new long[] {n, 3, 9, 7}, 'c'),
        new double[] {shift, shift}).data().asFloat();
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < plane; k++) {
        float lo = Float.MAX_VALUE;
        float hi = -Float.MAX_VALUE;
        for (int c = 0; c < 3; c++) {
          lo = Math.min(lo, scaled[(i * 3 + c) * plane + k]);
          hi = Math.max(hi, scaled[(i * 3 + c) * plane + k]);
        }
        double slack = 2 * Math.ulp(hi);
        for (int c = 0; c < 3; c++) {
          int at = (i * 3 + c) * plane + k;
          assertTrue(y[at] >= lo - slack && y[at] <= hi + slack,
              "pixel " + k + " channel " + c + ": " + y[at] + " outside [" + lo + ", " + hi + "]");
          if (lo == hi) {
            assertEquals(Float.floatToIntBits(scaled[at]), Float.floatToIntBits(y[at]),
                "gray pixel " + k + " changed");
          }
          if (hi >= 0x1p-100f) {
            assertEquals(yUnit[at] * (double) scale, y[at], 1e-6 * scale,
                "pixel " + k + " channel " + c + " at scale 2^-" + exponent);
          }
        }
      }
    }
  }

  private static INDArray row(INDArray a, int i) {
    return a.get(NDArrayIndex.interval(i, i + 1));
  }
}
