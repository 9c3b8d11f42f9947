package io.github.stablerep.eval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-column z-scoring with training statistics: {@code (x − μ) / σ}, μ the column mean and σ
 * the population standard deviation (ddof 0, as scikit-learn's StandardScaler). A column with
 * σ = 0 is constant in training; its σ is replaced by 1 (again as StandardScaler), so it
 * centres to 0 and carries no weight instead of dividing by zero.
 */
final class Standardizer {

  private final double[] mean;
  private final double[] scale;

  private Standardizer(double[] mean, double[] scale) {
    this.mean = mean;
    this.scale = scale;
  }

  static Standardizer fit(INDArray x) {
    // statistics in fp64 whatever the input: a float32 sum over 60k rows loses digits
    INDArray xd = x.castTo(DataType.DOUBLE);
    double[] mean = xd.mean(0).toDoubleVector();
    double[] std = xd.std(false, 0).toDoubleVector();
    for (int j = 0; j < std.length; j++) {
      if (!(std[j] > 0)) {
        std[j] = 1.0;
      }
    }
    return new Standardizer(mean, std);
  }

  static Standardizer of(double[] mean, double[] scale) {
    return new Standardizer(mean.clone(), scale.clone());
  }

  /** No scaling: mean 0, scale 1 (the SGD probe without batch norm sees raw features). */
  static Standardizer identity(int columns) {
    double[] ones = new double[columns];
    java.util.Arrays.fill(ones, 1.0);
    return new Standardizer(new double[columns], ones);
  }

  int columns() {
    return mean.length;
  }

  double[] mean() {
    return mean.clone();
  }

  double[] scale() {
    return scale.clone();
  }

  /**
   * The standardised rows with a trailing column of ones, {@code [n, d + 1]} in {@code type}:
   * the bias rides along in the same GEMM as the weights.
   */
  INDArray applyWithBias(INDArray x, DataType type) {
    long n = x.rows();
    int d = mean.length;
    INDArray out = Nd4j.createUninitialized(type, n, d + 1);
    INDArray body = out.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(0, d));
    body.assign(x);
    body.subiRowVector(Nd4j.createFromArray(mean).castTo(type));
    body.diviRowVector(Nd4j.createFromArray(scale).castTo(type));
    out.getColumn(d).assign(1.0);
    return out;
  }
}
