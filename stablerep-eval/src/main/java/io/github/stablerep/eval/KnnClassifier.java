package io.github.stablerep.eval;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.linalg.Matmul;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Cosine-similarity weighted k-nearest-neighbour classifier, as DINO's {@code knn_classifier}
 * and solo-learn's {@code WeightedKNNClassifier} (defaults k = 20, T = 0.07).
 *
 * <p>Rows are L2-normalised ({@code x / max(‖x‖, 1e-12)}, as {@code F.normalize}); for a test
 * row q the k training rows with the largest similarity s_j = q̂ · x̂_j vote with weight
 * exp(s_j / T):
 *
 * <pre>
 *   score(c) = Σ_{j ∈ topk(q)} exp(s_j / T) · 1[y_j = c],     ŷ = argmax_c score(c)
 * </pre>
 *
 * Ties, which the references leave to their sort: among equal similarities the lower training
 * index is taken first, and among equal scores the lower class wins (what a stable sort of
 * −s and {@code numpy.argmax} give; the NumPy golden does exactly that).
 *
 * <p>Test rows are processed in batches of {@code batchSize}; each batch is one {@code Mmul}
 * of [B, d] × [d, m], so memory is bounded by B·m similarities.
 */
public final class KnnClassifier {

  private final int k;
  private final double temperature;
  private final int batchSize;
  private final DataType dataType;

  private KnnClassifier(Builder b) {
    this.k = b.k;
    this.temperature = b.temperature;
    this.batchSize = b.batchSize;
    this.dataType = b.dataType;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().k(k).temperature(temperature).batchSize(batchSize).dataType(dataType);
  }

  /** Remembers the normalised training rows; labels must be non-negative. */
  public Model fit(INDArray trainX, int[] trainY) {
    Inputs.checkFeatures("trainX", trainX, -1);
    Inputs.checkLabels("trainY", trainY, trainX.rows(), 0);
    return new Model(normalise(trainX), trainY.clone(), Inputs.maxLabel(trainY) + 1);
  }

  private INDArray normalise(INDArray x) {
    INDArray out = x.castTo(dataType).dup('c');
    INDArray norms = out.norm2(1);
    Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.scalar.ScalarMax(norms, 1e-12));
    out.diviColumnVector(norms.reshape(norms.length(), 1));
    return out;
  }

  /** A fitted kNN classifier. Immutable. */
  public final class Model {
    private final INDArray train; // [m, d], rows of unit norm
    private final int[] labels;
    private final int classes;

    private Model(INDArray train, int[] labels, int classes) {
      this.train = train;
      this.labels = labels;
      this.classes = classes;
    }

    /** The predicted class of each row of {@code x}. */
    public int[] predict(INDArray x) {
      Inputs.checkFeatures("x", x, train.columns());
      INDArray q = normalise(x);
      int n = (int) q.rows();
      int m = (int) train.rows();
      int kk = Math.min(k, m);
      int[] out = new int[n];
      int[] top = new int[kk];
      double[] topSim = new double[kk];
      double[] votes = new double[classes];
      for (int start = 0; start < n; start += batchSize) {
        int end = Math.min(n, start + batchSize);
        INDArray batch = q.get(NDArrayIndex.interval(start, end), NDArrayIndex.all());
        double[] sim = Matmul.mm(batch, train, false, true).data().asDouble();
        for (int r = 0; r < end - start; r++) {
          int size = 0;
          int o = r * m;
          // insertion into a sorted top-k: descending similarity, ascending index on ties
          // (j increases, so a later equal similarity never displaces an earlier one)
          for (int j = 0; j < m; j++) {
            double s = sim[o + j];
            if (size == kk && !(s > topSim[kk - 1])) {
              continue;
            }
            int pos = size < kk ? size++ : kk - 1;
            while (pos > 0 && s > topSim[pos - 1]) {
              topSim[pos] = topSim[pos - 1];
              top[pos] = top[pos - 1];
              pos--;
            }
            topSim[pos] = s;
            top[pos] = j;
          }
          java.util.Arrays.fill(votes, 0.0);
          for (int t = 0; t < size; t++) {
            votes[labels[top[t]]] += Math.exp(topSim[t] / temperature);
          }
          int best = 0;
          for (int c = 1; c < classes; c++) {
            if (votes[c] > votes[best]) {
              best = c;
            }
          }
          out[start + r] = best;
        }
      }
      return out;
    }

    /** Top-1, mean per-class accuracy and confusion matrix; {@code lambda()} is NaN. */
    public ProbeResult evaluate(INDArray testX, int[] testY) {
      Inputs.checkFeatures("testX", testX, train.columns());
      Inputs.checkLabels("testY", testY, testX.rows(), 0);
      int[] pred = predict(testX);
      int kClasses = Math.max(classes, Inputs.maxLabel(testY) + 1);
      return ProbeResult.of(testY, pred, kClasses, Double.NaN, new java.util.TreeMap<>());
    }
  }

  /** Defaults: k = 20, T = 0.07 (DINO, solo-learn), batches of 256 test rows, float64. */
  public static final class Builder {
    private int k = 20;
    private double temperature = 0.07;
    private int batchSize = 256;
    private DataType dataType = DataType.DOUBLE;

    private Builder() {}

    public Builder k(int k) {
      this.k = k;
      return this;
    }

    public Builder temperature(double temperature) {
      this.temperature = temperature;
      return this;
    }

    /** Test rows per similarity GEMM; bounds memory at batchSize × training rows. */
    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    /** Type of the similarity GEMM: FLOAT or DOUBLE (default). */
    public Builder dataType(DataType dataType) {
      this.dataType = dataType;
      return this;
    }

    public KnnClassifier build() {
      checkArgument(k >= 1, "k: expected >= 1, found %s", k);
      checkArgument(Double.isFinite(temperature) && temperature > 0,
          "temperature: expected a finite value > 0, found %s", temperature);
      checkArgument(batchSize >= 1, "batchSize: expected >= 1, found %s", batchSize);
      checkArgument(dataType == DataType.FLOAT || dataType == DataType.DOUBLE,
          "dataType: expected FLOAT or DOUBLE, found %s", dataType);
      return new KnnClassifier(this);
    }
  }
}
