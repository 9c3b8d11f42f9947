package io.github.stablerep.core;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Argument checks for arrays, with messages that name the input, what was expected and what
 * was found. Every public entry point of the library validates through these, so a shape
 * mistake surfaces at the call that made it rather than deep inside a native op.
 */
public final class Shapes {

  private Shapes() {}

  /** Checks that {@code array} is non-null and of rank 2; returns it. */
  public static INDArray checkMatrix(String name, INDArray array) {
    checkNotNull(name, array);
    if (array.rank() != 2) {
      throw new IllegalArgumentException(
          name + ": expected a matrix [rows, columns], found shape " + Arrays.toString(array.shape()));
    }
    return array;
  }

  /**
   * Checks that {@code array} holds exactly {@code length} elements laid out as a vector
   * ({@code [length]}, {@code [length, 1]} or {@code [1, length]}); returns it.
   */
  public static INDArray checkVector(String name, INDArray array, long length) {
    checkNotNull(name, array);
    long[] shape = array.shape();
    boolean vectorLike =
        shape.length == 1
            || (shape.length == 2 && (shape[0] == 1 || shape[1] == 1))
            || (shape.length == 0 && length == 1);
    if (!vectorLike || array.length() != length) {
      throw new IllegalArgumentException(
          name + ": expected a vector of length " + length + ", found shape " + Arrays.toString(shape));
    }
    return array;
  }

  /**
   * Reads integer labels from any numeric vector. Floating-point labels must hold whole
   * numbers: a fractional id is a bug upstream, not something to round away.
   */
  public static long[] integerLabels(String name, INDArray labels, long length) {
    checkVector(name, labels, length);
    if (labels.dataType().isIntType()) {
      return labels.reshape(labels.length()).toLongVector();
    }
    double[] values = labels.reshape(labels.length()).toDoubleVector();
    long[] ids = new long[values.length];
    for (int i = 0; i < values.length; i++) {
      double v = values[i];
      if (v != Math.rint(v) || Double.isInfinite(v)) {
        throw new IllegalArgumentException(
            name + ": expected integer ids, found " + v + " at index " + i);
      }
      ids[i] = (long) v;
    }
    return ids;
  }

  private static void checkNotNull(String name, INDArray array) {
    if (array == null) {
      throw new NullPointerException(name + ": expected an array, found null");
    }
  }
}
