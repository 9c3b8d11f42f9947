package io.github.stablerep.eval;

import io.github.stablerep.core.linalg.Matmul;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The linear-probe objective and its gradient. With standardised rows x̃_i = [x_i, 1] (the
 * bias folded in as a last column) and parameters Θ = [W | b] of shape [K, d + 1]:
 *
 * <pre>
 *   z_i   = Θ · x̃_i
 *   f(Θ)  = (1/n) Σ_i ( logsumexp(z_i) − z_i[y_i] ) + (λ/2) ‖W‖²
 *   ∇f    = (1/n) (P − Y)ᵀ · X̃ + λ [W | 0]
 * </pre>
 *
 * P the row-wise softmax, Y the one-hot labels; b is not penalised. This is scikit-learn's
 * multinomial objective with C = 1/(λ n).
 *
 * <p>The two GEMMs (X̃Θᵀ and (P−Y)ᵀX̃) run through the {@code Mmul} op into buffers owned by
 * this object; the softmax, log-sum-exp and the loss are accumulated in fp64 in Java whatever
 * the GEMM type, since they are O(nK) and the loss is a sum of n terms.
 */
final class SoftmaxObjective {

  /** Row chunks of the softmax pass: fixed, so that sums are reproducible. */
  private static final int CHUNKS = 16;
  private static final int MIN_CHUNK_ROWS = 2048;

  private final INDArray xb; // [n, d + 1]
  private final int[] y;
  private final int classes;
  private final int cols; // d + 1
  private double lambda;
  private final INDArray theta; // [K, d + 1]
  private final INDArray logits; // [n, K]
  private final INDArray residual; // [n, K]
  private final INDArray grad; // [K, d + 1]

  SoftmaxObjective(INDArray xWithBias, int[] y, int classes, double lambda) {
    this.xb = xWithBias;
    this.y = y;
    this.classes = classes;
    this.cols = (int) xWithBias.columns();
    this.lambda = lambda;
    DataType type = xWithBias.dataType();
    int n = (int) xWithBias.rows();
    this.theta = Nd4j.create(type, classes, cols);
    this.logits = Nd4j.create(type, n, classes);
    this.residual = Nd4j.create(type, n, classes);
    this.grad = Nd4j.create(type, classes, cols);
  }

  /** Changes λ; the sweep reuses one objective, and so its [n, K] buffers, across the grid. */
  void setLambda(double lambda) {
    this.lambda = lambda;
  }

  int dimension() {
    return classes * cols;
  }

  /**
   * Σ over rows [from, to) of logsumexp(z_i) − z_i[y_i]; with {@code gradient}, overwrites those
   * rows of z with (softmax(z_i) − e_{y_i}) / n.
   */
  private double softmaxRows(double[] z, int from, int to, boolean gradient) {
    int n = y.length;
    double loss = 0;
    for (int i = from; i < to; i++) {
      int o = i * classes;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        max = Math.max(max, z[o + c]);
      }
      double zy = z[o + y[i]];
      double sum = 0;
      for (int c = 0; c < classes; c++) {
        double e = Math.exp(z[o + c] - max);
        z[o + c] = e;
        sum += e;
      }
      loss += max + Math.log(sum) - zy;
      if (gradient) {
        double inv = 1.0 / (sum * n);
        for (int c = 0; c < classes; c++) {
          z[o + c] *= inv;
        }
        z[o + y[i]] -= 1.0 / n;
      }
    }
    return loss;
  }

  /** f(θ); writes ∇f into {@code gradient} when it is non-null. θ is [K, d + 1] row-major. */
  double evaluate(double[] parameters, double[] gradient) {
    theta.data().setData(parameters);
    Matmul.into(xb, theta, false, true, logits);
    double[] z = logits.data().asDouble();
    int n = y.length;
    boolean withGradient = gradient != null;
    // The O(nK) softmax is as costly as a GEMM here (one Math.exp per entry); rows are split into
    // fixed chunks run on the common pool, and the per-chunk sums are added in chunk order, so
    // the value does not depend on the thread count or scheduling.
    int chunks = Math.max(1, Math.min(CHUNKS, n / MIN_CHUNK_ROWS));
    double[] partial = new double[chunks];
    IntStream.range(0, chunks).parallel().forEach(ch -> partial[ch] =
        softmaxRows(z, (int) ((long) n * ch / chunks), (int) ((long) n * (ch + 1) / chunks),
            withGradient));
    double loss = 0;
    for (double v : partial) {
      loss += v;
    }
    double penalty = 0;
    for (int k = 0; k < classes; k++) {
      for (int j = 0; j < cols - 1; j++) {
        double w = parameters[k * cols + j];
        penalty += w * w;
      }
    }
    double value = loss / n + 0.5 * lambda * penalty;
    if (gradient != null) {
      residual.data().setData(z);
      Matmul.into(residual, xb, true, false, grad);
      double[] g = grad.data().asDouble();
      for (int k = 0; k < classes; k++) {
        for (int j = 0; j < cols; j++) {
          int idx = k * cols + j;
          gradient[idx] = g[idx] + (j < cols - 1 ? lambda * parameters[idx] : 0.0);
        }
      }
    }
    return value;
  }
}
