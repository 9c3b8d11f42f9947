package io.github.stablerep.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.stablerep.augment.SimClrAugmentation.SampleParameters;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The SameDiff form against the eager form, same seed, on the two golden photographs
 * (96x128). The graph composes the same formulas from ND4J ops (resampling and blur as
 * per-sample matrices, ColorJitter slots as masked blends, hue through HSV), so outputs agree
 * to float32 rounding: measured max abs difference at most 3.5e-6 after normalisation (values up to
 * ~2.6), tolerance 1e-5.
 */
class AugmentationGraphTest {

  private static final double TOL = 1e-5;
  private static INDArray photos;

  @BeforeAll
  static void load() throws Exception {
    ImageOpsGoldenTest.load();
    photos = ImageOpsGoldenTest.alternating(
        ImageOpsGoldenTest.npy("input_large").castTo(DataType.FLOAT).divi(255f), 12);
  }

  static AugmentationGraph define(SimClrAugmentation aug, long h, long w) {
    SameDiff sd = SameDiff.create();
    SDVariable images = sd.placeHolder("images", DataType.FLOAT, -1, 3, h, w);
    return aug.define(sd, images);
  }

  static double maxAbs(INDArray a, INDArray b) {
    assertArrayEquals(a.shape(), b.shape());
    return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
  }

  @Test
  void graphEqualsEagerForTheSameSeed() {
    // StableRep's recipe at 32 plus its downsample augmentation, so every stage is exercised.
    SimClrAugmentation aug = SimClrAugmentation.builder().size(32).downsample(0.4, 24, 48).build();
    AugmentationGraph g = define(aug, 96, 128);
    int checked = 0;
    for (long seed = 11; checked < 2; seed++) {
      List<SampleParameters> ps = aug.sampleParameters(12, 96, 128, seed);
      // Only seeds under which every stage is both taken and skipped by some sample.
      if (!(mixed(ps, p -> p.downsampleResolution() > 0) && mixed(ps, SampleParameters::jitter)
          && mixed(ps, SampleParameters::grayscale) && mixed(ps, SampleParameters::blur)
          && mixed(ps, SampleParameters::flip))) {
        continue;
      }
      checked++;
      INDArray eager = aug.apply(photos, seed);
      INDArray graph = g.apply(photos, seed);
      double d = maxAbs(eager, graph);
      System.out.printf("graph vs eager, seed %d: max abs %.3e%n", seed, d);
      assertTrue(d <= TOL, "seed " + seed + ": max abs " + d);
    }
  }

  static boolean mixed(List<SampleParameters> ps, java.util.function.Predicate<SampleParameters> e) {
    long k = ps.stream().filter(e).count();
    return k > 0 && k < ps.size();
  }

  @Test
  void solarizeAndGrayscaleSelectExactlyTheDrawnSamples() {
    // Identity crop (the whole image at its own size) and no jitter or blur: the matrices are
    // identities, so the masked selections must reproduce the eager output exactly.
    SimClrAugmentation aug = SimClrAugmentation.builder().size(96).cropScale(1, 1)
        .cropRatio(1, 1).jitterProbability(0).blurProbability(0)
        .grayscaleProbability(0.5).solarize(0.5, 0.5).normalize(false).build();
    INDArray square = photos.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 96)).dup();
    AugmentationGraph g = define(aug, 96, 96);
    List<SampleParameters> ps = aug.sampleParameters(12, 96, 96, 5L);
    SimClrAugmentationTest.assertMixed(ps, SampleParameters::solarize);
    SimClrAugmentationTest.assertMixed(ps, SampleParameters::grayscale);
    assertEquals(0.0, maxAbs(aug.apply(square, 5L), g.apply(square, 5L)));
  }

  @Test
  void feedHoldsOnePlaceholderValuePerName() {
    SimClrAugmentation aug = SimClrAugmentation.stableRep(24);
    AugmentationGraph g = define(aug, 40, 30);
    var feed = g.feed(5, 3L);
    assertEquals(new java.util.HashSet<>(g.parameterNames()), feed.keySet());
    assertArrayEquals(new long[] {5, 24, 40}, feed.get("augment_rows").shape());
    assertArrayEquals(new long[] {5, 30, 24}, feed.get("augment_cols").shape());
    // Each row of a resampling matrix sums to 1 (weights normalised), crop inside the image.
    INDArray sums = feed.get("augment_rows").sum(2);
    assertTrue(sums.sub(1).amaxNumber().doubleValue() < 1e-5);
    assertArrayEquals(new long[] {5, 3, 24, 24},
        g.apply(Nd4j.rand(DataType.FLOAT, 5, 3, 40, 30), 3L).shape());
  }

  @Test
  void badInputsNameTheArgument() {
    SimClrAugmentation aug = SimClrAugmentation.stableRep(16);
    SameDiff sd = SameDiff.create();
    SDVariable unknown = sd.placeHolder("x", DataType.FLOAT, -1, 3, -1, -1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> aug.define(sd, unknown));
    assertTrue(e.getMessage().startsWith("images:"), e.getMessage());
    AugmentationGraph g = define(aug, 20, 20);
    e = assertThrows(IllegalArgumentException.class,
        () -> g.apply(Nd4j.rand(DataType.FLOAT, 2, 3, 21, 20), 1L));
    assertTrue(e.getMessage().startsWith("batch:"), e.getMessage());
  }
}
