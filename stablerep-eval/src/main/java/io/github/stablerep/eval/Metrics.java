package io.github.stablerep.eval;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.Shapes;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Ranking metrics for multi-label sets (PASCAL VOC2007 classification and the like), where a
 * row may carry several labels and {@link ProbeResult}'s top-1 does not apply.
 *
 * <p>{@link #averagePrecision11} is VOC2007's 11-point interpolated average precision (the
 * devkit's {@code VOCevalcls}, py-faster-rcnn's {@code voc_ap(use_07_metric=True)}): rank the
 * rows by descending score, with recall r_i = TP_i / P and precision p_i = TP_i / i after the
 * i-th row,
 *
 * <pre>
 *   AP = (1/11) Σ_{t ∈ {0, 0.1, …, 1}} max { p_i : r_i ≥ t }     (0 when no r_i reaches t)
 * </pre>
 *
 * The thresholds are {@code t = j · 0.1} as double, the same values as the devkit's
 * {@code np.arange(0., 1.1, 0.1)}, rounding included (3 · 0.1 = 0.30000000000000004, so a recall
 * of exactly 3/10 does not reach it), so numbers agree with published VOC07 code. Equal scores
 * are ranked by row index (a stable sort), which the devkit leaves to its sort. VOC's
 * "difficult" flags are not modelled: leave such rows out of the arrays.
 *
 * <p>Scores can be any per-class scores, e.g. {@link LinearProbeModel#logits}; AP only uses
 * their order within a class.
 */
public final class Metrics {

  private Metrics() {}

  /**
   * VOC2007 11-point AP of one class. NaN when no row is positive (the class has no AP).
   *
   * @param scores the class's score per row
   * @param positive whether each row carries the class
   */
  public static double averagePrecision11(double[] scores, boolean[] positive) {
    checkArgument(scores != null && positive != null, "scores/positive: expected arrays, found null");
    checkArgument(scores.length == positive.length,
        "positive: expected %s entries (one per score), found %s", scores.length, positive.length);
    for (int i = 0; i < scores.length; i++) {
      checkArgument(!Double.isNaN(scores[i]), "scores: expected numbers, found NaN at index %s", i);
    }
    int npos = 0;
    for (boolean p : positive) {
      npos += p ? 1 : 0;
    }
    if (npos == 0) {
      return Double.NaN;
    }
    Integer[] order = IntStream.range(0, scores.length).boxed().toArray(Integer[]::new);
    // stable: ties keep ascending row order
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -scores[i]));
    int n = scores.length;
    double[] recall = new double[n];
    double[] precision = new double[n];
    int tp = 0;
    for (int i = 0; i < n; i++) {
      tp += positive[order[i]] ? 1 : 0;
      recall[i] = (double) tp / npos;
      precision[i] = (double) tp / (i + 1);
    }
    double ap = 0;
    for (int j = 0; j <= 10; j++) {
      double t = j * 0.1;
      double best = 0;
      for (int i = 0; i < n; i++) {
        if (recall[i] >= t) {
          best = Math.max(best, precision[i]);
        }
      }
      ap += best / 11.0;
    }
    return ap;
  }

  /** Per-class 11-point AP for scores [n, K] and targets [n][K]; NaN for classes without positives. */
  public static double[] averagePrecisions11(INDArray scores, boolean[][] targets) {
    Shapes.checkMatrix("scores", scores);
    checkArgument(targets != null && targets.length == scores.rows(),
        "targets: expected %s rows (one per score row), found %s", (Object) scores.rows(),
        targets == null ? "null" : targets.length);
    int k = (int) scores.columns();
    for (int i = 0; i < targets.length; i++) {
      checkArgument(targets[i] != null && targets[i].length == k,
          "targets: expected %s columns in every row, found %s in row %s", k,
          targets[i] == null ? "null" : targets[i].length, i);
    }
    double[][] s = scores.castTo(DataType.DOUBLE).toDoubleMatrix();
    double[] aps = new double[k];
    double[] col = new double[s.length];
    boolean[] pos = new boolean[s.length];
    for (int c = 0; c < k; c++) {
      for (int i = 0; i < s.length; i++) {
        col[i] = s[i][c];
        pos[i] = targets[i][c];
      }
      aps[c] = averagePrecision11(col, pos);
    }
    return aps;
  }

  /**
   * VOC2007 mAP: the mean 11-point AP over the classes with at least one positive row.
   *
   * @throws IllegalArgumentException when no class has a positive row
   */
  public static double meanAveragePrecision11(INDArray scores, boolean[][] targets) {
    double[] aps = averagePrecisions11(scores, targets);
    double sum = 0;
    int counted = 0;
    for (double ap : aps) {
      if (!Double.isNaN(ap)) {
        sum += ap;
        counted++;
      }
    }
    checkArgument(counted > 0, "targets: expected at least one positive entry, found none in %s rows",
        targets.length);
    return sum / counted;
  }
}
