package io.github.stablerep.augment;

import static io.github.stablerep.augment.ImageOpsProperties.batch;
import static io.github.stablerep.augment.ImageOpsProperties.maxAbs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Invariants of BicubicResize in both modes on random batches (seeds and sizes generated, arrays
 * built inside): identity at the same size, constants preserved (weights sum to one), mirror
 * symmetry, and samples resized independently of their batch.
 */
class BicubicResizeProperties {

  @Property(tries = 25)
  void sameSizeIsIdentityAndConstantsSurvive(
      @ForAll long seed, @ForAll boolean antialias,
      @ForAll @IntRange(min = 1, max = 24) int h, @ForAll @IntRange(min = 1, max = 24) int w,
      @ForAll @IntRange(min = 1, max = 40) int outH, @ForAll @IntRange(min = 1, max = 40) int outW) {
    INDArray x = batch(seed, 2, h, w);
    assertEquals(0, maxAbs(x, BicubicResize.resize(x, h, w, antialias)), "same size");
    INDArray c = Nd4j.valueArrayOf(new long[] {1, 3, h, w}, 0.37f, DataType.FLOAT);
    INDArray r = BicubicResize.resize(c, outH, outW, antialias);
    assertTrue(maxAbs(Nd4j.valueArrayOf(r.shape(), 0.37f, DataType.FLOAT), r) <= 1e-6,
        "constant image " + h + "x" + w + " -> " + outH + "x" + outW);
  }

  @Property(tries = 25)
  void mirrorSymmetricAndPerSample(
      @ForAll long seed, @ForAll boolean antialias,
      @ForAll @IntRange(min = 1, max = 24) int h, @ForAll @IntRange(min = 1, max = 24) int w,
      @ForAll @IntRange(min = 1, max = 40) int outH, @ForAll @IntRange(min = 1, max = 40) int outW) {
    INDArray x = batch(seed, 3, h, w);
    boolean[] all = {true, true, true};
    INDArray flippedFirst = BicubicResize.resize(ImageOps.hflip(x, all), outH, outW, antialias);
    INDArray flippedAfter = ImageOps.hflip(BicubicResize.resize(x, outH, outW, antialias), all);
    assertTrue(maxAbs(flippedAfter, flippedFirst) <= 1e-5, "hflip commutes with resize");
    INDArray whole = BicubicResize.resize(x, outH, outW, antialias);
    INDArray one = BicubicResize.resize(x.get(NDArrayIndex.interval(1, 2)).dup(), outH, outW, antialias);
    assertEquals(0, maxAbs(whole.get(NDArrayIndex.interval(1, 2)), one), "sample 1 alone");
  }
}
