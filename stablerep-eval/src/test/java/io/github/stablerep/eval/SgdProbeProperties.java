package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Invariants of the SGD probe. Generated values are seeds and sizes; arrays are built from
 * java.util.Random inside each try.
 */
class SgdProbeProperties {

  private static double[][] blobs(Random r, int[] y, int d, int classes, double spread) {
    double[][] centres = new double[classes][d];
    for (double[] c : centres) {
      for (int j = 0; j < d; j++) {
        c[j] = r.nextGaussian() * 2;
      }
    }
    double[][] x = new double[y.length][d];
    for (int i = 0; i < y.length; i++) {
      y[i] = r.nextInt(classes);
      for (int j = 0; j < d; j++) {
        x[i][j] = centres[y[i]][j] + spread * r.nextGaussian();
      }
    }
    return x;
  }

  private static double[][] init(Random r, int heads, int classes, int d) {
    double[][] w = new double[heads][classes * d];
    for (double[] row : w) {
      for (int i = 0; i < row.length; i++) {
        row[i] = 0.01 * r.nextGaussian();
      }
    }
    return w;
  }

  private static int[][] orders(Random r, int epochs, int n) {
    int[][] o = new int[epochs][n];
    for (int e = 0; e < epochs; e++) {
      List<Integer> p = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        p.add(i);
      }
      java.util.Collections.shuffle(p, r);
      for (int i = 0; i < n; i++) {
        o[e][i] = p.get(i);
      }
    }
    return o;
  }

  private static SgdProbe.Builder probe(boolean bn) {
    return SgdProbe.builder().batchSize(16).epochs(3).batchNorm(bn).weightDecay(bn ? 1e-3 : 0)
        .dataType(DataType.DOUBLE);
  }

  /** A head's trajectory depends on its own rate only: one head alone equals it among ten. */
  @Property(tries = 5)
  void headsAreIndependent(@ForAll long seed, @ForAll @IntRange(min = 0, max = 9) int head,
      @ForAll boolean bn) {
    Random r = new Random(seed);
    int n = 64 + r.nextInt(40);
    int classes = 2 + r.nextInt(4);
    int[] y = new int[n];
    INDArray x = Nd4j.createFromArray(blobs(r, y, 6, classes, 1.0));
    double[][] w = init(r, 10, classes, 6);
    int[][] order = orders(r, 3, n);
    SgdProbeModel all = probe(bn).build().train(x, y, classes, w, e -> order[e], x, y);
    SgdProbeModel one = probe(bn).baseLearningRates(SgdProbe.STABLEREP_BASE_LRS[head]).build()
        .train(x, y, classes, new double[][] {w[head]}, e -> order[e], x, y);
    io.github.stablerep.core.Goldens.assertClose("head " + head, all.heads().get(head).model().weights(),
        one.heads().get(0).model().weights(), 1e-12);
    assertThat(one.heads().get(0).epochLosses()).usingComparatorWithPrecision(1e-12)
        .containsExactly(all.heads().get(head).epochLosses());
  }

  /** Relabelling the classes (and permuting the initial rows alike) relabels the predictions. */
  @Property(tries = 5)
  void predictionsPermuteWithClassLabels(@ForAll long seed, @ForAll boolean bn) {
    Random r = new Random(seed);
    int n = 80;
    int classes = 2 + r.nextInt(4);
    int d = 5;
    int[] y = new int[n];
    INDArray x = Nd4j.createFromArray(blobs(r, y, d, classes, 1.5));
    double[][] w = init(r, 3, classes, d);
    int[][] order = orders(r, 3, n);
    int[] perm = new int[classes];
    List<Integer> p = new ArrayList<>();
    for (int c = 0; c < classes; c++) {
      p.add(c);
    }
    java.util.Collections.shuffle(p, r);
    for (int c = 0; c < classes; c++) {
      perm[c] = p.get(c);
    }
    int[] py = new int[n];
    for (int i = 0; i < n; i++) {
      py[i] = perm[y[i]];
    }
    double[][] pw = new double[w.length][classes * d];
    for (int h = 0; h < w.length; h++) {
      for (int c = 0; c < classes; c++) {
        System.arraycopy(w[h], c * d, pw[h], perm[c] * d, d);
      }
    }
    SgdProbe.Builder b = probe(bn).baseLearningRates(0.01, 0.1, 0.5);
    SgdProbeModel a = b.build().train(x, y, classes, w, e -> order[e], x, y);
    SgdProbeModel c = b.build().train(x, py, classes, pw, e -> order[e], x, py);
    for (int h = 0; h < 3; h++) {
      int[] pa = a.heads().get(h).model().predict(x);
      int[] pc = c.heads().get(h).model().predict(x);
      for (int i = 0; i < n; i++) {
        assertThat(pc[i]).as("head %s row %s", h, i).isEqualTo(perm[pa[i]]);
      }
      assertThat(c.heads().get(h).epochLosses()).usingComparatorWithPrecision(1e-12)
          .containsExactly(a.heads().get(h).epochLosses());
    }
  }

  /**
   * With batch norm every training batch is standardised by its own statistics, so an affine
   * rescaling of the features (positive scales of at least 0.1, so that eps = 1e-6 stays small
   * against the variance) trains the same weights. Evaluation uses running statistics, which
   * forget their (0, 1) start as 0.9^steps: after 150 steps the chosen head predicts the same.
   */
  @Property(tries = 5)
  void batchNormMakesTrainingScaleInvariant(@ForAll long seed) {
    Random r = new Random(seed);
    int n = 80;
    int d = 4;
    int[] y = new int[n];
    double[][] x = blobs(r, y, d, 3, 1.5);
    double[][] s = new double[n][d];
    double[] scale = new double[d];
    double[] shift = new double[d];
    for (int j = 0; j < d; j++) {
      scale[j] = Math.pow(10, -1 + 3 * r.nextDouble());
      shift[j] = 10 * r.nextGaussian();
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        s[i][j] = x[i][j] * scale[j] + shift[j];
      }
    }
    SgdProbe p = SgdProbe.builder().batchSize(8).epochs(15).batchNorm(true).numClasses(3)
        .seed(seed).dataType(DataType.DOUBLE).build();
    INDArray xa = Nd4j.createFromArray(x);
    INDArray sa = Nd4j.createFromArray(s);
    SgdProbeModel a = p.fit(xa, y, xa, y);
    SgdProbeModel b = p.fit(sa, y, sa, y);
    for (int h = 0; h < a.heads().size(); h++) {
      io.github.stablerep.core.Goldens.assertClose("head " + h, a.heads().get(h).model().weights(),
          b.heads().get(h).model().weights(), 1e-3);
    }
    assertThat(b.bestIndex()).isEqualTo(a.bestIndex());
    assertThat(b.predict(sa)).containsExactly(a.predict(xa));
  }

  /** Data separable with a margin: the chosen head classifies every training row. */
  @Property(tries = 4)
  void separableSetReachesFullAccuracy(@ForAll long seed,
      @ForAll @IntRange(min = 2, max = 4) int classes) {
    Random r = new Random(seed);
    int n = 120;
    int[] y = new int[n];
    double[][] x = new double[n][3];
    for (int i = 0; i < n; i++) {
      y[i] = i % classes;
      for (int j = 0; j < 3; j++) {
        // class c sits at 4·e_c (c < 3) or −4·(1,1,1), radius-1 noise: far apart
        double centre = classes == 4 && y[i] == 3 ? -4 : (j == y[i] ? 4 : 0);
        x[i][j] = centre + (r.nextDouble() - 0.5);
      }
    }
    INDArray xa = Nd4j.createFromArray(x);
    SgdProbeModel m = SgdProbe.builder().batchSize(16).epochs(20).seed(seed).build().fit(xa, y, xa, y);
    assertThat(m.evaluate(xa, y).top1()).isEqualTo(1.0);
  }

  @Test
  void sameSeedSameModelAndProgressCountsEveryStep() {
    Random r = new Random(3);
    int[] y = new int[50];
    INDArray x = Nd4j.createFromArray(blobs(r, y, 4, 3, 1.0));
    long[] last = new long[2];
    SgdProbe p = SgdProbe.builder().batchSize(8).epochs(2).seed(11)
        .progress((done, total) -> {
          assertThat(done).isEqualTo(last[0] + 1);
          last[0] = done;
          last[1] = total;
        }).build();
    SgdProbeModel a = p.fit(x, y);
    assertThat(last[0]).isEqualTo(2 * (40 / 8)); // 40 rows after the 20 % hold-out, drop_last
    assertThat(last[1]).isEqualTo(last[0]);
    last[0] = 0;
    SgdProbeModel b = p.fit(x, y);
    for (int h = 0; h < a.heads().size(); h++) {
      assertThat(b.heads().get(h).model().weights().data().asDouble())
          .containsExactly(a.heads().get(h).model().weights().data().asDouble());
    }
  }

  @Test
  void badSettingsAndInputsNameTheField() {
    assertThatThrownBy(() -> SgdProbe.builder().baseLearningRates().build())
        .hasMessageContaining("baseLearningRates").hasMessageContaining("at least one");
    assertThatThrownBy(() -> SgdProbe.builder().baseLearningRates(0.1, -1).build())
        .hasMessageContaining("baseLearningRates").hasMessageContaining("-1.0")
        .hasMessageContaining("index 1");
    assertThatThrownBy(() -> SgdProbe.builder().momentum(1.0).build())
        .hasMessageContaining("momentum").hasMessageContaining("[0, 1)").hasMessageContaining("1.0");
    assertThatThrownBy(() -> SgdProbe.builder().epochs(0).build()).hasMessageContaining("epochs");
    assertThatThrownBy(() -> SgdProbe.builder().batchSize(0).build()).hasMessageContaining("batchSize");
    assertThatThrownBy(() -> SgdProbe.builder().weightDecay(Double.NaN).build())
        .hasMessageContaining("weightDecay");
    assertThatThrownBy(() -> SgdProbe.builder().dataType(DataType.HALF).build())
        .hasMessageContaining("dataType").hasMessageContaining("HALF");
    INDArray x = Nd4j.rand(DataType.DOUBLE, 10, 3);
    int[] y = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    assertThatThrownBy(() -> SgdProbe.builder().batchSize(11).build().fit(x, y, x, y))
        .hasMessageContaining("batchSize").hasMessageContaining("10 training rows")
        .hasMessageContaining("found 11");
    assertThatThrownBy(() -> SgdProbe.builder().batchSize(4).build().fit(x, y, x, new int[] {0}))
        .hasMessageContaining("valY").hasMessageContaining("expected 10");
  }
}
