package io.github.stablerep.eval;

import io.github.stablerep.core.Shapes;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/** Argument checks shared by the probe and kNN; messages name the input, the expectation and the finding. */
final class Inputs {

  private Inputs() {}

  /** A finite feature matrix with {@code columns} columns (any when negative). */
  static INDArray checkFeatures(String name, INDArray x, long columns) {
    Shapes.checkMatrix(name, x);
    if (x.rows() == 0) {
      throw new IllegalArgumentException(name + ": expected at least one row, found shape "
          + Arrays.toString(x.shape()));
    }
    if (columns >= 0 && x.columns() != columns) {
      throw new IllegalArgumentException(name + ": expected " + columns
          + " feature columns (as in training), found shape " + Arrays.toString(x.shape()));
    }
    if (!x.dataType().isFPType()) {
      throw new IllegalArgumentException(name + ": expected a floating-point array, found " + x.dataType());
    }
    if (BooleanIndexing.or(x, Conditions.isNan()) || BooleanIndexing.or(x, Conditions.isInfinite())) {
      // the error path only: locate the first bad entry for the message
      for (long r = 0; r < x.rows(); r++) {
        for (long c = 0; c < x.columns(); c++) {
          double v = x.getDouble(r, c);
          if (!Double.isFinite(v)) {
            throw new IllegalArgumentException(name + ": expected finite values, found " + v
                + " at row " + r + ", column " + c);
          }
        }
      }
    }
    return x;
  }

  /** Labels for {@code rows} rows, each in [0, numClasses) (only non-negative when numClasses is 0 or less). */
  static int[] checkLabels(String name, int[] y, long rows, int numClasses) {
    if (y == null) {
      throw new NullPointerException(name + ": expected an int[] of labels, found null");
    }
    if (y.length != rows) {
      throw new IllegalArgumentException(name + ": expected " + rows
          + " labels (one per feature row), found " + y.length);
    }
    for (int i = 0; i < y.length; i++) {
      if (y[i] < 0 || (numClasses > 0 && y[i] >= numClasses)) {
        throw new IllegalArgumentException(name + ": expected labels in [0, "
            + (numClasses > 0 ? numClasses : "inf") + "), found " + y[i] + " at index " + i);
      }
    }
    return y;
  }

  /**
   * Checks the labels against the row count (and {@code numClasses} when positive) and returns
   * the class count: {@code numClasses}, or max(y) + 1 when it is 0.
   */
  static int classCount(String name, int[] y, long rows, int numClasses) {
    checkLabels(name, y, rows, numClasses);
    return numClasses > 0 ? numClasses : maxLabel(y) + 1;
  }

  static int maxLabel(int[] y) {
    int max = -1;
    for (int v : y) {
      max = Math.max(max, v);
    }
    return max;
  }
}
