package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Invariants of the probe and kNN. Generated values are seeds and sizes only; arrays are drawn
 * from java.util.Random inside each try (INDArrays in generated values crash jqwik's hashing,
 * and Nd4j.randn(seed) is not repeatable).
 */
class ProbeProperties {

  /** Gaussian blobs around per-class centres with noise, so classes overlap somewhat. */
  private static double[][] blobs(Random r, int[] y, int d, int classes, double spread) {
    double[][] centres = new double[classes][d];
    for (double[] c : centres) {
      for (int j = 0; j < d; j++) {
        c[j] = r.nextGaussian() * 2;
      }
    }
    double[][] x = new double[y.length][d];
    for (int i = 0; i < y.length; i++) {
      y[i] = i % classes;
      for (int j = 0; j < d; j++) {
        x[i][j] = centres[y[i]][j] + spread * r.nextGaussian();
      }
    }
    return x;
  }

  private static INDArray arr(double[][] x) {
    return Nd4j.createFromArray(x).castTo(DataType.DOUBLE);
  }

  private static LinearProbe fixed(double lambda) {
    return LinearProbe.builder().regularizationSweep(lambda, lambda, 1).gradientTolerance(1e-9)
        .relativeTolerance(1e-14).build();
  }

  @Property(tries = 15)
  void probePredictionsPermuteWithClassLabels(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 5) int classes, @ForAll @IntRange(min = 1, max = 8) int d) {
    Random r = new Random(seed);
    int[] y = new int[40 + r.nextInt(40)];
    INDArray x = arr(blobs(r, y, d, classes, 1.5));
    int[] perm = SgdProbe.permutation(r, classes);
    int[] py = new int[y.length];
    for (int i = 0; i < y.length; i++) {
      py[i] = perm[y[i]];
    }
    int[] a = fixed(1e-2).fit(x, y).predict(x);
    int[] b = fixed(1e-2).fit(x, py).predict(x);
    for (int i = 0; i < a.length; i++) {
      assertThat(b[i]).as("row %s", i).isEqualTo(perm[a[i]]);
    }
  }

  @Property(tries = 15)
  void knnPredictionsPermuteWithClassLabels(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 6) int classes, @ForAll @IntRange(min = 1, max = 8) int k) {
    Random r = new Random(seed);
    int[] y = new int[30 + r.nextInt(30)];
    INDArray x = arr(blobs(r, y, 5, classes, 2.0));
    int[] perm = SgdProbe.permutation(r, classes);
    int[] py = new int[y.length];
    for (int i = 0; i < y.length; i++) {
      py[i] = perm[y[i]];
    }
    double[][] q = new double[20][5];
    for (double[] row : q) {
      for (int j = 0; j < 5; j++) {
        row[j] = 2 * r.nextGaussian();
      }
    }
    KnnClassifier knn = KnnClassifier.builder().k(k).build();
    int[] a = knn.fit(x, y).predict(arr(q));
    int[] b = knn.fit(x, py).predict(arr(q));
    for (int i = 0; i < a.length; i++) {
      assertThat(b[i]).as("row %s", i).isEqualTo(perm[a[i]]);
    }
  }

  @Property(tries = 15)
  void probePredictionsUnchangedWhenFeaturesAreScaled(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 4) int classes, @ForAll @IntRange(min = 1, max = 8) int d) {
    Random r = new Random(seed);
    int[] y = new int[40 + r.nextInt(40)];
    double[][] x = blobs(r, y, d, classes, 1.5);
    double[][] scaled = new double[x.length][d];
    double[] scale = new double[d];
    double[] shift = new double[d];
    for (int j = 0; j < d; j++) {
      scale[j] = Math.pow(10, -2 + 4 * r.nextDouble());
      shift[j] = 10 * r.nextGaussian();
    }
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < d; j++) {
        scaled[i][j] = x[i][j] * scale[j] + shift[j];
      }
    }
    LinearProbeModel a = fixed(1e-2).fit(arr(x), y);
    LinearProbeModel b = fixed(1e-2).fit(arr(scaled), y);
    assertThat(b.predict(arr(scaled))).containsExactly(a.predict(arr(x)));
    // the same problem after z-scoring, so the same optimum
    assertThat(Math.abs(a.objective() - b.objective())).isLessThan(1e-8 * Math.max(1, a.objective()));
  }

  @Property(tries = 10)
  void linearlySeparableSetIsFittedPerfectly(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 5) int classes, @ForAll @IntRange(min = 2, max = 10) int d) {
    Random r = new Random(seed);
    double[][] v = new double[classes][d];
    for (double[] row : v) {
      for (int j = 0; j < d; j++) {
        row[j] = r.nextGaussian();
      }
    }
    // labels from a random linear rule, keeping only points with a margin of 0.5 to every boundary
    int n = 60;
    double[][] x = new double[n][];
    int[] y = new int[n];
    int kept = 0;
    while (kept < n) {
      double[] p = new double[d];
      for (int j = 0; j < d; j++) {
        p[j] = 3 * r.nextGaussian();
      }
      double best = Double.NEGATIVE_INFINITY;
      double second = Double.NEGATIVE_INFINITY;
      int label = 0;
      for (int c = 0; c < classes; c++) {
        double s = 0;
        for (int j = 0; j < d; j++) {
          s += v[c][j] * p[j];
        }
        if (s > best) {
          second = best;
          best = s;
          label = c;
        } else if (s > second) {
          second = s;
        }
      }
      if (best - second > 0.5) {
        x[kept] = p;
        y[kept++] = label;
      }
    }
    LinearProbeModel model = LinearProbe.builder().regularizationSweep(1e-6, 1e-6, 1)
        .numClasses(classes).build().fit(arr(x), y);
    assertThat(model.evaluate(arr(x), y).top1()).isEqualTo(1.0);
  }
}
