package io.github.stablerep.eval;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The evaluation of a classifier on a labelled set. Immutable; fractions are in [0, 1].
 *
 * <pre>
 *   top1                 = (1/n) Σ_i 1[ŷ_i = y_i]
 *   meanPerClassAccuracy = (1/|C|) Σ_{c ∈ C} (correct in c) / (count of c)
 * </pre>
 *
 * with C the classes that occur in the evaluated labels (a class absent from them has no
 * accuracy to average). The confusion matrix counts rows = true class, columns = predicted.
 */
public final class ProbeResult {

  private final double top1;
  private final double meanPerClassAccuracy;
  private final double lambda;
  private final SortedMap<Double, Double> validationCurve;
  private final long[][] confusion;
  private final double meanAveragePrecision;

  private ProbeResult(double top1, double meanPerClassAccuracy, double lambda,
      SortedMap<Double, Double> validationCurve, long[][] confusion, double meanAveragePrecision) {
    this.meanAveragePrecision = meanAveragePrecision;
    this.top1 = top1;
    this.meanPerClassAccuracy = meanPerClassAccuracy;
    this.lambda = lambda;
    this.validationCurve = Collections.unmodifiableSortedMap(new TreeMap<>(validationCurve));
    this.confusion = confusion;
  }

  /** Builds the metrics from predictions; labels already validated to lie in [0, classes). */
  static ProbeResult of(int[] truth, int[] predicted, int classes, double lambda,
      SortedMap<Double, Double> validationCurve) {
    long[][] confusion = new long[classes][classes];
    long correct = 0;
    for (int i = 0; i < truth.length; i++) {
      confusion[truth[i]][predicted[i]]++;
      if (truth[i] == predicted[i]) {
        correct++;
      }
    }
    double perClassSum = 0;
    int present = 0;
    for (int c = 0; c < classes; c++) {
      long count = 0;
      for (long v : confusion[c]) {
        count += v;
      }
      if (count > 0) {
        perClassSum += (double) confusion[c][c] / count;
        present++;
      }
    }
    return new ProbeResult((double) correct / truth.length, perClassSum / present, lambda,
        validationCurve, confusion, Double.NaN);
  }

  /** This result with a VOC2007 11-point mAP attached. */
  ProbeResult withMeanAveragePrecision(double map) {
    return new ProbeResult(top1, meanPerClassAccuracy, lambda, validationCurve, confusion, map);
  }

  /**
   * VOC2007 11-point mAP of the classifier's scores (one-vs-rest per class, see {@link Metrics}),
   * over the classes present in the evaluated labels; NaN when the evaluator has no scores
   * (kNN). For multi-label sets use {@link LinearProbeModel#meanAveragePrecision11}.
   */
  public double meanAveragePrecision() {
    return meanAveragePrecision;
  }

  /** Fraction of rows whose top-scoring class is the label. */
  public double top1() {
    return top1;
  }

  /** Accuracy averaged over the classes present in the evaluated labels. */
  public double meanPerClassAccuracy() {
    return meanPerClassAccuracy;
  }

  /** The regularisation strength of the classifier that was evaluated. */
  public double lambda() {
    return lambda;
  }

  /**
   * Validation accuracy per swept lambda, ascending in lambda; empty when a single lambda was
   * given (nothing was chosen). Unmodifiable.
   */
  public SortedMap<Double, Double> validationCurve() {
    return validationCurve;
  }

  /** A copy of the [K, K] confusion counts: row = true class, column = predicted class. */
  public long[][] confusionMatrix() {
    long[][] copy = new long[confusion.length][];
    for (int i = 0; i < confusion.length; i++) {
      copy[i] = confusion[i].clone();
    }
    return copy;
  }

  public int numClasses() {
    return confusion.length;
  }

  @Override
  public String toString() {
    return String.format("ProbeResult{top1=%.4f, meanPerClass=%.4f, mAP11=%.4f, lambda=%.3g,"
        + " classes=%d}", top1, meanPerClassAccuracy, meanAveragePrecision, lambda,
        confusion.length);
  }
}
