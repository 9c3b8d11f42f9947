package io.github.stablerep.eval;

import io.github.stablerep.core.linalg.Matmul;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A fitted linear probe: the training standardisation and the multinomial classifier
 * {@code ŷ = argmax_k (W x̃ + b)_k} on the z-scored features x̃. Immutable.
 */
public final class LinearProbeModel {

  private final Standardizer standardizer;
  private final double[] theta; // [K, d + 1] row-major, last column the bias
  private final int classes;
  private final double lambda;
  private final SortedMap<Double, Double> validationCurve;
  private final double objective;
  private final int iterations;
  private final boolean converged;
  private final DataType dataType;

  LinearProbeModel(Standardizer standardizer, double[] theta, int classes, double lambda,
      SortedMap<Double, Double> validationCurve, double objective, int iterations,
      boolean converged, DataType dataType) {
    this.standardizer = standardizer;
    this.theta = theta.clone();
    this.classes = classes;
    this.lambda = lambda;
    this.validationCurve = Collections.unmodifiableSortedMap(new TreeMap<>(validationCurve));
    this.objective = objective;
    this.iterations = iterations;
    this.converged = converged;
    this.dataType = dataType;
  }

  /** The predicted class of each row of {@code x} ([n, d]); ties go to the lowest class. */
  public int[] predict(INDArray x) {
    double[] scores = scores(x);
    return argmax(scores, scores.length / classes);
  }

  private int[] argmax(double[] scores, int n) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int c = 1; c < classes; c++) {
        if (scores[i * classes + c] > scores[i * classes + best]) {
          best = c;
        }
      }
      out[i] = best;
    }
    return out;
  }

  /** Class scores W x̃ + b before the softmax, [n, K] float64 (e.g. for {@link Metrics}). */
  public INDArray logits(INDArray x) {
    double[] z = scores(x);
    return Nd4j.create(z, new long[] {z.length / classes, classes}, DataType.DOUBLE);
  }

  /** Softmax class probabilities, [n, K] float64. */
  public INDArray probabilities(INDArray x) {
    double[] z = scores(x);
    int n = z.length / classes;
    for (int i = 0; i < n; i++) {
      int o = i * classes;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        max = Math.max(max, z[o + c]);
      }
      double sum = 0;
      for (int c = 0; c < classes; c++) {
        z[o + c] = Math.exp(z[o + c] - max);
        sum += z[o + c];
      }
      for (int c = 0; c < classes; c++) {
        z[o + c] /= sum;
      }
    }
    return Nd4j.create(z, new long[] {n, classes}, DataType.DOUBLE);
  }

  /** Top-1, mean per-class accuracy and the confusion matrix on a labelled set. */
  public ProbeResult evaluate(INDArray testX, int[] testY) {
    Inputs.checkFeatures("testX", testX, standardizer.columns());
    Inputs.checkLabels("testY", testY, testX.rows(), classes);
    INDArray z = logits(testX);
    int n = testY.length;
    int[] predicted = argmax(z.data().asDouble(), n);
    boolean[][] targets = new boolean[n][classes];
    for (int i = 0; i < n; i++) {
      targets[i][testY[i]] = true;
    }
    return ProbeResult.of(testY, predicted, classes, lambda, validationCurve)
        .withMeanAveragePrecision(Metrics.meanAveragePrecision11(z, targets));
  }

  /**
   * VOC2007 11-point mAP on a multi-label set: {@code targets[i][k]} says whether row i carries
   * class k; each class's rows are ranked by its logit ({@link Metrics}).
   */
  public double meanAveragePrecision11(INDArray x, boolean[][] targets) {
    return Metrics.meanAveragePrecision11(logits(x), targets);
  }

  private double[] scores(INDArray x) {
    Inputs.checkFeatures("x", x, standardizer.columns());
    INDArray xb = standardizer.applyWithBias(x, dataType);
    INDArray t = Nd4j.create(theta, new long[] {classes, standardizer.columns() + 1}, 'c')
        .castTo(dataType);
    return Matmul.mm(xb, t, false, true).data().asDouble();
  }

  /** Weights W in z-scored feature space, [K, d] float64 (a copy). */
  public INDArray weights() {
    int d = standardizer.columns();
    double[] w = new double[classes * d];
    for (int k = 0; k < classes; k++) {
      System.arraycopy(theta, k * (d + 1), w, k * d, d);
    }
    return Nd4j.create(w, new long[] {classes, d}, DataType.DOUBLE);
  }

  /** Bias b, [K] float64 (a copy). */
  public INDArray bias() {
    int d = standardizer.columns();
    double[] b = new double[classes];
    for (int k = 0; k < classes; k++) {
      b[k] = theta[k * (d + 1) + d];
    }
    return Nd4j.createFromArray(b);
  }

  /** Training column means used for z-scoring. */
  public double[] featureMean() {
    return standardizer.mean();
  }

  /** Training column scales (population std, 1 for constant columns). */
  public double[] featureScale() {
    return standardizer.scale();
  }

  public int numClasses() {
    return classes;
  }

  /** The chosen (or given) lambda. */
  public double lambda() {
    return lambda;
  }

  /** Validation accuracy per swept lambda, ascending; empty for a single lambda. */
  public SortedMap<Double, Double> validationCurve() {
    return validationCurve;
  }

  /** The objective f at the final solution of the refit, on the data it was fitted on. */
  public double objective() {
    return objective;
  }

  /** L-BFGS iterations of the refit. */
  public int iterations() {
    return iterations;
  }

  /** Whether the refit met a convergence criterion (not maxIterations or a line-search stall). */
  public boolean converged() {
    return converged;
  }
}
