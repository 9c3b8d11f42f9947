package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * VOC2007 11-point AP/mAP against the NumPy implementation of the devkit rule in
 * tools/reference/map_reference.py (continuous scores, heavily tied scores, a hand-sized case,
 * a class without positives). Tolerance 1e-12 absolute: the same sums in the same order.
 */
class MetricsGoldenTest {

  private static final Path DIR = Goldens.dir("map");

  private static boolean[][] targets(String kase) {
    int[][] t = Goldens.npy(DIR, kase + "_targets").castTo(org.nd4j.linalg.api.buffer.DataType.INT)
        .toIntMatrix();
    boolean[][] b = new boolean[t.length][t[0].length];
    for (int i = 0; i < t.length; i++) {
      for (int k = 0; k < t[0].length; k++) {
        b[i][k] = t[i][k] == 1;
      }
    }
    return b;
  }

  @ParameterizedTest
  @ValueSource(strings = {"random", "ties", "small"})
  void matchesNumpyVoc07(String kase) {
    INDArray scores = Goldens.npy(DIR, kase + "_scores");
    boolean[][] t = targets(kase);
    double[] expected = Goldens.npy(DIR, kase + "_ap").toDoubleVector();
    double[] aps = Metrics.averagePrecisions11(scores, t);
    for (int k = 0; k < expected.length; k++) {
      if (Double.isNaN(expected[k])) {
        assertThat(aps[k]).as("class %s has no positives", k).isNaN();
      } else {
        assertThat(aps[k]).as("%s AP of class %s", kase, k).isCloseTo(expected[k],
            org.assertj.core.data.Offset.offset(1e-12));
      }
    }
    assertThat(Metrics.meanAveragePrecision11(scores, t))
        .isCloseTo(Goldens.scalar(DIR, kase + "_map"), org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void perfectRankingIsOneAndThresholdRoundingFollowsTheDevkit() {
    assertThat(Metrics.averagePrecision11(new double[] {3, 2, 1}, new boolean[] {true, true, false}))
        .isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-15)); // 11 · (1/11) rounds to 1 + 2^-52
    // one positive ranked last of 10: recall 1 only at precision 0.1, every threshold sees 0.1
    double[] s = new double[10];
    boolean[] p = new boolean[10];
    for (int i = 0; i < 10; i++) {
      s[i] = 10 - i;
    }
    p[9] = true;
    assertThat(Metrics.averagePrecision11(s, p)).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-15));
  }

  @Test
  void probeEvaluationReportsOneVsRestMapOfItsLogits() {
    INDArray x = ProbeGoldens.npy("train_x");
    int[] y = ProbeGoldens.labels("train_y");
    LinearProbeModel model = LinearProbe.builder().regularizationSweep(1e-2, 1e-2, 1).build().fit(x, y);
    INDArray testX = ProbeGoldens.npy("test_x");
    int[] testY = ProbeGoldens.labels("test_y");
    boolean[][] oneHot = new boolean[testY.length][10];
    for (int i = 0; i < testY.length; i++) {
      oneHot[i][testY[i]] = true;
    }
    ProbeResult r = model.evaluate(testX, testY);
    assertThat(r.meanAveragePrecision())
        .isEqualTo(Metrics.meanAveragePrecision11(model.logits(testX), oneHot))
        .isEqualTo(model.meanAveragePrecision11(testX, oneHot))
        .isBetween(r.top1() - 0.1, 1.0);
    assertThat(KnnClassifier.builder().build().fit(x, y).evaluate(testX, testY)
        .meanAveragePrecision()).isNaN();
  }

  @Test
  void badInputsAreNamed() {
    assertThatThrownBy(() -> Metrics.averagePrecision11(new double[2], new boolean[3]))
        .hasMessageContaining("positive").hasMessageContaining("expected 2").hasMessageContaining("found 3");
    assertThatThrownBy(() -> Metrics.averagePrecision11(new double[] {Double.NaN}, new boolean[1]))
        .hasMessageContaining("NaN at index 0");
    INDArray scores = Nd4j.zeros(3, 2);
    assertThatThrownBy(() -> Metrics.meanAveragePrecision11(scores, new boolean[2][2]))
        .hasMessageContaining("targets").hasMessageContaining("expected 3 rows");
    assertThatThrownBy(() -> Metrics.meanAveragePrecision11(scores, new boolean[3][2]))
        .hasMessageContaining("at least one positive");
  }
}
