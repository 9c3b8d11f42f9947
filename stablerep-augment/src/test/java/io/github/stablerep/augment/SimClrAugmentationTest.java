package io.github.stablerep.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.stablerep.augment.SimClrAugmentation.SampleParameters;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Determinism, composition and validation of the seeded pipeline. */
class SimClrAugmentationTest {

  static INDArray batch(long seed, int n, int h, int w) {
    return ImageOpsProperties.batch(seed, n, h, w);
  }

  static float[] floats(INDArray a) {
    return a.dup('c').data().asFloat();
  }

  @Test
  void stableRepDefaults() {
    SimClrAugmentation a = SimClrAugmentation.stableRep(224);
    assertEquals(224, a.size());
    assertEquals(23, a.blurKernelSize());
    assertEquals(3, SimClrAugmentation.stableRep(32).blurKernelSize());
    assertEquals(a.blurKernelSize(), a.toBuilder().build().blurKernelSize());
  }

  @Test
  void sameSeedIsBitwiseIdenticalAndInputUntouched() {
    SimClrAugmentation a = SimClrAugmentation.stableRep(24);
    INDArray x = batch(3, 6, 40, 36);
    float[] before = floats(x);
    INDArray y1 = a.apply(x, 42L);
    INDArray y2 = a.apply(x, 42L);
    assertArrayEquals(new long[] {6, 3, 24, 24}, y1.shape());
    assertEquals(DataType.FLOAT, y1.dataType());
    assertArrayEquals(floats(y1), floats(y2));
    assertArrayEquals(before, floats(x));
    assertNotEquals(Arrays.hashCode(floats(y1)), Arrays.hashCode(floats(a.apply(x, 43L))));
  }

  @Test
  void applyIntoOverwritesAReusedOutputWithTheSameValues() {
    SimClrAugmentation a = SimClrAugmentation.stableRep(24);
    INDArray x = batch(4, 5, 40, 36);
    INDArray out = Nd4j.valueArrayOf(new long[] {5, 3, 24, 24}, Float.NaN, DataType.FLOAT);
    for (long seed : new long[] {42L, 43L}) {
      INDArray into = a.apply(x, seed, out);
      assertTrue(into == out);
      assertArrayEquals(floats(a.apply(x, seed)), floats(out), "seed " + seed);
    }
  }

  @Test
  void applyIntoRejectsAnOutputOfTheWrongShapeTypeOrLayout() {
    SimClrAugmentation a = SimClrAugmentation.stableRep(24);
    INDArray x = batch(4, 2, 40, 36);
    assertMessage(() -> a.apply(x, 1L, null), "out");
    assertMessage(() -> a.apply(x, 1L, Nd4j.create(DataType.FLOAT, 2, 3, 24, 23)), "out");
    assertMessage(() -> a.apply(x, 1L, Nd4j.create(DataType.DOUBLE, 2, 3, 24, 24)), "out");
    assertMessage(() -> a.apply(x, 1L, Nd4j.create(DataType.FLOAT, new long[] {2, 3, 24, 24},
        'f')), "out");
    INDArray bigger = Nd4j.create(DataType.FLOAT, 3, 3, 24, 24);
    assertMessage(() -> a.apply(x, 1L, bigger.get(NDArrayIndex.interval(1, 3))), "out");
    INDArray square = batch(4, 2, 24, 24);
    assertMessage(() -> a.apply(square, 1L, square), "out");
    INDArray target = Nd4j.create(DataType.FLOAT, 2, 3, 24, 24);
    INDArray halfOfTarget = Nd4j.create(target.data(), new long[] {2, 3, 12, 24});
    assertMessage(() -> a.apply(halfOfTarget, 1L, target), "out");
  }

  /** apply() equals the ops composed by hand on each sample alone, in the documented order. */
  @Test
  void applyEqualsPerSampleComposition() {
    SimClrAugmentation a = SimClrAugmentation.builder().size(20).solarize(0.3, 0.6)
        .downsample(0.3, 12, 16).build();
    INDArray x = batch(7, 8, 30, 26);
    long seed = 99L;
    INDArray y = a.apply(x, seed);
    List<SampleParameters> ps = a.sampleParameters(8, 30, 26, seed);
    // The seed is chosen so that every stage is both taken and skipped by some sample.
    assertMixed(ps, s -> s.downsampleResolution() > 0);
    assertMixed(ps, SampleParameters::jitter);
    assertMixed(ps, SampleParameters::grayscale);
    assertMixed(ps, SampleParameters::blur);
    assertMixed(ps, SampleParameters::flip);
    assertMixed(ps, SampleParameters::solarize);
    for (int i = 0; i < 8; i++) {
      SampleParameters p = ps.get(i);
      INDArray s = x.get(NDArrayIndex.interval(i, i + 1)).dup();
      if (p.downsampleResolution() > 0) {
        int r = p.downsampleResolution();
        int dw = r; // width 26 is the shorter side
        int dh = (int) ((long) r * 30 / 26);
        s = ImageOps.resizedCrop(s, new int[] {0}, new int[] {0}, new int[] {30}, new int[] {26},
            dh, dw);
        s = ImageOps.resizedCrop(s, new int[] {0}, new int[] {0}, new int[] {dh},
            new int[] {dw}, 30, 26);
      }
      s = ImageOps.resizedCrop(s, new int[] {p.top()}, new int[] {p.left()},
          new int[] {p.cropHeight()}, new int[] {p.cropWidth()}, 20, 20);
      if (p.jitter()) {
        for (int op : p.jitterOrder()) {
          switch (op) {
            case 0 -> s = ImageOps.adjustBrightness(s, new double[] {p.brightness()});
            case 1 -> s = ImageOps.adjustContrast(s, new double[] {p.contrast()});
            case 2 -> s = ImageOps.adjustSaturation(s, new double[] {p.saturation()});
            default -> s = ImageOps.adjustHue(s, new double[] {p.hue()});
          }
        }
      }
      if (p.grayscale()) {
        s = ImageOps.rgbToGrayscale(s, 3);
      }
      if (p.blur()) {
        s = ImageOps.gaussianBlur(s, a.blurKernelSize(), new double[] {p.blurSigma()});
      }
      s = ImageOps.hflip(s, new boolean[] {p.flip()});
      if (p.solarize()) {
        s = ImageOps.solarize(s, 0.6);
      }
      s = ImageOps.normalize(s, SimClrAugmentation.IMAGENET_MEAN, SimClrAugmentation.IMAGENET_STD);
      assertArrayEquals(floats(s), floats(y.get(NDArrayIndex.interval(i, i + 1))), "sample " + i);
    }
  }

  static void assertMixed(List<SampleParameters> ps, java.util.function.Predicate<SampleParameters> e) {
    long k = ps.stream().filter(e).count();
    assertTrue(k > 0 && k < ps.size(), "taken by " + k + " of " + ps.size());
  }

  @Test
  void grayscaleSamplesHaveEqualChannels() {
    SimClrAugmentation a = SimClrAugmentation.builder().size(16).normalize(false).build();
    INDArray x = batch(11, 32, 20, 20);
    INDArray y = a.apply(x, 5L);
    List<SampleParameters> ps = a.sampleParameters(32, 20, 20, 5L);
    int gray = 0;
    for (int i = 0; i < 32; i++) {
      INDArray r = y.get(NDArrayIndex.point(i), NDArrayIndex.point(0));
      INDArray g = y.get(NDArrayIndex.point(i), NDArrayIndex.point(1));
      boolean equal = Arrays.equals(floats(r), floats(g));
      assertEquals(ps.get(i).grayscale(), equal, "sample " + i);
      gray += equal ? 1 : 0;
      assertTrue(y.get(NDArrayIndex.point(i)).minNumber().doubleValue() >= 0);
      assertTrue(y.get(NDArrayIndex.point(i)).maxNumber().doubleValue() <= 1);
    }
    assertTrue(gray > 0 && gray < 32, "grayscale count " + gray);
  }

  @Test
  void allOffIsPlainResizeAndNormalize() {
    SimClrAugmentation a = SimClrAugmentation.builder().size(12).cropScale(1, 1).cropRatio(1, 1)
        .jitterProbability(0).grayscaleProbability(0).blurProbability(0).flipProbability(0)
        .build();
    INDArray x = batch(1, 3, 24, 24);
    INDArray expected = ImageOps.normalize(
        ImageOps.resizedCrop(x, new int[3], new int[3], new int[] {24, 24, 24},
            new int[] {24, 24, 24}, 12, 12),
        SimClrAugmentation.IMAGENET_MEAN, SimClrAugmentation.IMAGENET_STD);
    assertArrayEquals(floats(expected), floats(a.apply(x, 123L)));
  }

  @Test
  void sampleParametersDoNotDependOnBatchSize() {
    SimClrAugmentation a = SimClrAugmentation.stableRep(224);
    List<SampleParameters> five = a.sampleParameters(5, 256, 256, 8L);
    List<SampleParameters> three = a.sampleParameters(3, 256, 256, 8L);
    for (int i = 0; i < 3; i++) {
      SampleParameters p = five.get(i);
      SampleParameters q = three.get(i);
      assertEquals(p.top(), q.top());
      assertEquals(p.cropHeight(), q.cropHeight());
      assertEquals(p.blurSigma(), q.blurSigma());
      assertArrayEquals(p.jitterOrder(), q.jitterOrder());
    }
    assertNotEquals(five.get(0).blurSigma(), five.get(1).blurSigma());
  }

  @Test
  void buildNamesTheOffendingField() {
    assertMessage(() -> SimClrAugmentation.builder().size(0).build(), "size");
    assertMessage(() -> SimClrAugmentation.builder().cropScale(0, 1).build(), "cropScale");
    assertMessage(() -> SimClrAugmentation.builder().cropScale(0.5, 0.4).build(), "cropScale");
    assertMessage(() -> SimClrAugmentation.builder().cropRatio(2, 1).build(), "cropRatio");
    assertMessage(() -> SimClrAugmentation.builder().jitterProbability(1.5).build(),
        "jitterProbability");
    assertMessage(() -> SimClrAugmentation.builder().colorJitter(0.4, 0.4, 0.4, 0.6).build(),
        "hue");
    assertMessage(() -> SimClrAugmentation.builder().colorJitter(-1, 0.4, 0.4, 0.1).build(),
        "brightness");
    assertMessage(() -> SimClrAugmentation.builder().grayscaleProbability(Double.NaN).build(),
        "grayscaleProbability");
    assertMessage(() -> SimClrAugmentation.builder().blurSigma(0, 2).build(), "blurSigma");
    assertMessage(() -> SimClrAugmentation.builder().blurKernelSize(4).build(), "blurKernelSize");
    assertMessage(() -> SimClrAugmentation.builder().size(4).blurKernelSize(9).build(),
        "blurKernelSize");
    assertMessage(() -> SimClrAugmentation.builder().solarize(0.2, 2).build(),
        "solarizeThreshold");
    assertMessage(() -> SimClrAugmentation.builder().downsample(0.1).build(),
        "downsampleResolutions");
    assertMessage(() -> SimClrAugmentation.builder().normalization(new double[] {0, 0},
        new double[] {1, 1, 1}).build(), "normalization");
    assertMessage(() -> SimClrAugmentation.stableRep(8).apply(Nd4j.zeros(2, 4, 8, 8), 1L),
        "batch");
  }

  static void assertMessage(Runnable r, String field) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().startsWith(field + ":"), e.getMessage());
  }
}
