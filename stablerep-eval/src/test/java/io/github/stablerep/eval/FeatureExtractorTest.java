package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.ImageDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * FeatureExtractor with a fixed linear graph f(x) = flatten(x)·W + b, its expected features
 * computed here by plain loops over the same numbers.
 */
class FeatureExtractorTest {

  private static final int C = 1;
  private static final int H = 2;
  private static final int W = 3;
  private static final int D = 4;

  @TempDir Path tmp;

  private final Random rnd = new Random(42);
  private final float[][] weights = new float[C * H * W][D];
  private final float[] bias = new float[D];

  private SameDiff linearGraph() {
    for (float[] row : weights) {
      for (int d = 0; d < D; d++) {
        row[d] = (float) rnd.nextGaussian();
      }
    }
    for (int d = 0; d < D; d++) {
      bias[d] = (float) rnd.nextGaussian();
    }
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, C, H, W);
    SDVariable flat = sd.reshape(x, sd.constant(Nd4j.createFromArray(-1L, C * H * W)));
    INDArray w = Nd4j.create(DataType.FLOAT, C * H * W, D);
    for (int i = 0; i < C * H * W; i++) {
      for (int d = 0; d < D; d++) {
        w.putScalar(i, d, weights[i][d]);
      }
    }
    SDVariable out = flat.mmul(sd.constant("w", w)).add(sd.constant("b", Nd4j.createFromArray(bias)));
    out.rename("feat");
    return sd;
  }

  private float[][] images(int n) {
    float[][] im = new float[n][C * H * W];
    for (float[] a : im) {
      for (int k = 0; k < a.length; k++) {
        a[k] = rnd.nextFloat();
      }
    }
    return im;
  }

  private float[] expected(float[] image) {
    float[] f = bias.clone();
    for (int d = 0; d < D; d++) {
      double s = bias[d];
      for (int i = 0; i < image.length; i++) {
        s += (double) image[i] * weights[i][d];
      }
      f[d] = (float) s;
    }
    return f;
  }

  @Test
  void featuresMatchLoopsAcrossPartialBatchesWithProgress() throws IOException {
    SameDiff sd = linearGraph();
    float[][] im = images(7);
    List<long[]> calls = new ArrayList<>();
    FeatureExtractor fx = FeatureExtractor.builder().graph(sd).input("x").output("feat")
        .batchSize(3).progress((done, total) -> calls.add(new long[] {done, total})).build();
    INDArray f = fx.extract(new ArrayDataset(im, new AtomicInteger()));
    assertThat(f.shape()).containsExactly(7, D);
    assertThat(f.dataType()).isEqualTo(DataType.FLOAT);
    for (int i = 0; i < 7; i++) {
      float[] e = expected(im[i]);
      for (int d = 0; d < D; d++) {
        assertThat((double) f.getFloat(i, d)).isCloseTo(e[d], org.assertj.core.data.Offset.offset(1e-5));
      }
    }
    assertThat(calls).extracting(c -> c[0]).containsExactly(3L, 6L, 7L);
    assertThat(calls).extracting(c -> c[1]).containsOnly(7L);
  }

  @Test
  void cacheIsWrittenOnceAndReadBack() throws IOException {
    SameDiff sd = linearGraph();
    float[][] im = images(5);
    AtomicInteger opens = new AtomicInteger();
    FeatureExtractor fx = FeatureExtractor.builder().graph(sd).input("x").output("feat").build();
    Path cache = tmp.resolve("sub/features.npy");
    INDArray first = fx.extractCached(new ArrayDataset(im, opens), cache);
    assertThat(cache).exists();
    INDArray second = fx.extractCached(new ArrayDataset(im, opens), cache);
    assertThat(opens.get()).as("the second call reads the cache, not the images").isEqualTo(1);
    assertThat(second).isEqualTo(first);
    try (var s = Files.list(cache.getParent())) {
      assertThat(s.count()).as("no temporary files left").isEqualTo(1);
    }
    assertThatThrownBy(() -> fx.extractCached(new ArrayDataset(images(6), opens), cache))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("expected a feature matrix [6, D], found shape [5, 4]");
  }

  @Test
  void builderNamesBadFields() {
    SameDiff sd = linearGraph();
    assertThatThrownBy(() -> FeatureExtractor.builder().graph(sd).input("feat").output("feat").build())
        .hasMessageContaining("input: expected the name of a placeholder");
    assertThatThrownBy(() -> FeatureExtractor.builder().graph(sd).input("x").output("nope").build())
        .hasMessageContaining("output: expected the name of a variable of the graph, found nope");
    assertThatThrownBy(() -> FeatureExtractor.builder().graph(sd).input("x").output("feat")
            .batchSize(0).build())
        .hasMessageContaining("batchSize: expected >= 1, found 0");
    FeatureExtractor fx = FeatureExtractor.builder().graph(sd).input("x").output("feat").batchSize(5).build();
    assertThat(fx.toBuilder().build()).isNotNull();
  }

  @Test
  void preprocessingCropsRoundingHalfToEvenAndNormalises() {
    // 1 channel, 7 x 6: no resize (short side already 6), crop 2 at top round(2.5) = 2,
    // left round(2.0) = 2, replicated to RGB, then (v - mean) / std per channel
    float[] v = new float[7 * 6];
    for (int k = 0; k < v.length; k++) {
      v[k] = rnd.nextFloat();
    }
    INDArray image = Nd4j.create(v, new long[] {1, 7, 6}, 'c');
    double[] mean = {0.1, 0.2, 0.3};
    double[] std = {0.5, 0.25, 2.0};
    EvalPreprocessing p = EvalPreprocessing.builder().resizeShortSide(6).cropSize(2).mean(mean)
        .std(std).build();
    INDArray out = p.apply(image);
    assertThat(out.shape()).containsExactly(3, 2, 2);
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < 2; y++) {
        for (int x = 0; x < 2; x++) {
          float expected = (v[(2 + y) * 6 + 2 + x] - (float) mean[c]) / (float) std[c];
          assertThat(out.getFloat(c, y, x)).isEqualTo(expected);
        }
      }
    }
    assertThat(image.shape()).containsExactly(1, 7, 6);
  }

  @Test
  void resizeGivesTorchvisionSizesAndKeepsConstantImagesConstant() {
    assertThat(EvalPreprocessing.resizedSize(7, 10, 4)).containsExactly(4, 5);
    assertThat(EvalPreprocessing.resizedSize(10, 7, 4)).containsExactly(5, 4);
    assertThat(EvalPreprocessing.resizedSize(375, 500, 256)).containsExactly(256, 341);
    assertThat(EvalPreprocessing.resizedSize(256, 300, 256)).containsExactly(256, 300);
    INDArray grey = Nd4j.valueArrayOf(new long[] {3, 9, 12}, 0.25f);
    INDArray out = EvalPreprocessing.builder().resizeShortSide(4).cropSize(4).mean(0, 0, 0)
        .std(1, 1, 1).build().apply(grey);
    assertThat(out.shape()).containsExactly(3, 4, 4);
    for (float f : out.data().asFloat()) {
      assertThat(f).isCloseTo(0.25f, org.assertj.core.data.Offset.offset(1e-6f));
    }
    assertThatThrownBy(() -> EvalPreprocessing.builder().cropSize(20).resizeShortSide(0).build()
            .apply(grey))
        .hasMessageContaining("expected at least 20x20 after resizing to crop it, found 9x12");
    assertThatThrownBy(() -> EvalPreprocessing.builder().std(1, 0, 1).build())
        .hasMessageContaining("std: expected finite values > 0, found 0.0");
  }

  @Test
  void extractorAppliesPreprocessingBeforeTheGraph() throws IOException {
    // [3, 4, 4] images, centre crop 2 (rows and columns 1..2), identity normalisation, and a
    // graph that averages its [-1, 3, 2, 2] input: the feature is the mean of the crop
    SameDiff g = SameDiff.create();
    SDVariable x = g.placeHolder("x", DataType.FLOAT, -1, 3, 2, 2);
    g.mean("feat", x, 1, 2, 3);
    float[][] im = new float[3][3 * 4 * 4];
    for (float[] a : im) {
      for (int k = 0; k < a.length; k++) {
        a[k] = rnd.nextFloat();
      }
    }
    EvalPreprocessing p = EvalPreprocessing.builder().resizeShortSide(0).cropSize(2)
        .mean(0, 0, 0).std(1, 1, 1).build();
    INDArray f = FeatureExtractor.builder().graph(g).input("x").output("feat").batchSize(2)
        .preprocessing(p).build().extract(new ArrayDataset(im, new AtomicInteger(), 3, 4, 4));
    assertThat(f.shape()).containsExactly(3, 1);
    for (int i = 0; i < 3; i++) {
      double s = 0;
      for (int c = 0; c < 3; c++) {
        for (int y = 1; y < 3; y++) {
          for (int xx = 1; xx < 3; xx++) {
            s += im[i][c * 16 + y * 4 + xx];
          }
        }
      }
      assertThat((double) f.getFloat(i, 0)).isCloseTo(s / 12, org.assertj.core.data.Offset.offset(1e-6));
    }
  }

  /** In-memory dataset counting how often it is opened. */
  private static final class ArrayDataset implements ImageDataset {
    private final float[][] images;
    private final AtomicInteger opens;
    private final long[] shape;

    ArrayDataset(float[][] images, AtomicInteger opens) {
      this(images, opens, C, H, W);
    }

    ArrayDataset(float[][] images, AtomicInteger opens, long... shape) {
      this.images = images;
      this.opens = opens;
      this.shape = shape;
    }

    @Override
    public int size() {
      return images.length;
    }

    @Override
    public int[] labels() {
      return new int[images.length];
    }

    @Override
    public Reader reader() {
      opens.incrementAndGet();
      return new Reader() {
        int pos;

        @Override
        public Batch next(int max) {
          int count = Math.min(max, images.length - pos);
          List<INDArray> out = new ArrayList<>();
          for (int k = 0; k < count; k++) {
            out.add(Nd4j.create(images[pos + k].clone(), shape, 'c'));
          }
          Batch b = new Batch(pos, out, new int[count]);
          pos += count;
          return b;
        }

        @Override
        public void close() {}
      };
    }
  }

}
