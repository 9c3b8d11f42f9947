package io.github.stablerep.augment;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Loops vs ND4J broadcast ops on a 64x3x224x224 batch, and each op's time. Not a benchmark
 * (the JMH one is separate); the numbers quoted in ImageOps' Javadoc come from here. Off by
 * default: {@code mvn -pl stablerep-augment test -Dtest=ImageOpsTimingTest -Dstablerep.timing=true}.
 */
@EnabledIfSystemProperty(named = "stablerep.timing", matches = "true")
class ImageOpsTimingTest {

  private static final int N = 64;

  /** "median (min)" in ms over 9 runs. */
  static String medianMs(Supplier<INDArray> op) {
    double[] t = new double[9];
    for (int r = 0; r < t.length; r++) {
      long s = System.nanoTime();
      INDArray out = op.get();
      out.getFloat(0); // results are materialised eagerly; touch them anyway
      t[r] = (System.nanoTime() - s) / 1e6;
    }
    Arrays.sort(t);
    return String.format("%.1f (min %.1f)", t[t.length / 2], t[0]);
  }

  static INDArray nd4jBrightness(INDArray x, double[] f) {
    INDArray fa = Nd4j.createFromArray(toFloat(f)).reshape(N, 1, 1, 1);
    INDArray out = x.mul(fa);
    return Transforms.min(Transforms.max(out, 0.0, false), 1.0, false);
  }

  static INDArray nd4jSaturation(INDArray x, double[] f) {
    INDArray fa = Nd4j.createFromArray(toFloat(f)).reshape(N, 1, 1, 1);
    INDArray qa = fa.rsub(1.0);
    INDArray gray = x.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 1)).mul(ImageOps.LUMA_R)
        .addi(x.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 2)).mul(ImageOps.LUMA_G))
        .addi(x.get(NDArrayIndex.all(), NDArrayIndex.interval(2, 3)).mul(ImageOps.LUMA_B));
    INDArray out = x.mul(fa).addi(gray.muli(qa));
    return Transforms.min(Transforms.max(out, 0.0, false), 1.0, false);
  }

  static float[] toFloat(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  @Test
  void timeBatch() {
    Random rnd = new Random(7);
    float[] data = new float[N * 3 * 224 * 224];
    for (int i = 0; i < data.length; i++) {
      data[i] = rnd.nextFloat();
    }
    INDArray x = Nd4j.create(data, new long[] {N, 3, 224, 224}, 'c');
    double[] f = new double[N];
    double[] hue = new double[N];
    double[] sigma = new double[N];
    int[] top = new int[N], left = new int[N], size = new int[N];
    boolean[] flip = new boolean[N];
    for (int i = 0; i < N; i++) {
      f[i] = 0.6 + 0.8 * rnd.nextDouble();
      hue[i] = rnd.nextDouble() - 0.5;
      sigma[i] = 0.1 + 1.9 * rnd.nextDouble();
      size[i] = 40 + rnd.nextInt(185);
      top[i] = rnd.nextInt(225 - size[i]);
      left[i] = rnd.nextInt(225 - size[i]);
      flip[i] = rnd.nextBoolean();
    }
    double maxDiff = nd4jSaturation(x, f).sub(ImageOps.adjustSaturation(x, f)).amaxNumber().doubleValue();
    System.out.printf("timing nd4j vs loop saturation agree to %.2e%n", maxDiff);
    System.out.printf("timing floor: x.dup() %s ms, x.muli(1) in place %s ms%n",
        medianMs(x::dup), medianMs(() -> x.muli(1.0f)));
    System.out.printf("timing brightness loops %s ms, nd4j broadcast %s ms%n",
        medianMs(() -> ImageOps.adjustBrightness(x, f)), medianMs(() -> nd4jBrightness(x, f)));
    System.out.printf("timing saturation loops %s ms, nd4j broadcast %s ms%n",
        medianMs(() -> ImageOps.adjustSaturation(x, f)), medianMs(() -> nd4jSaturation(x, f)));
    System.out.printf("timing contrast %s ms%n", medianMs(() -> ImageOps.adjustContrast(x, f)));
    System.out.printf("timing hue %s ms%n", medianMs(() -> ImageOps.adjustHue(x, hue)));
    System.out.printf("timing grayscale(3) %s ms%n", medianMs(() -> ImageOps.rgbToGrayscale(x, 3)));
    System.out.printf("timing hflip %s ms%n", medianMs(() -> ImageOps.hflip(x, flip)));
    System.out.printf("timing solarize %s ms%n", medianMs(() -> ImageOps.solarize(x, 0.5)));
    System.out.printf("timing normalize %s ms%n", medianMs(() -> ImageOps.normalize(
        x, new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225})));
    System.out.printf("timing gaussianBlur k=23 %s ms%n", medianMs(() -> ImageOps.gaussianBlur(x, 23, sigma)));
    System.out.printf("timing resizedCrop ->224 %s ms%n",
        medianMs(() -> ImageOps.resizedCrop(x, top, left, size, size, 224, 224)));
  }
}
