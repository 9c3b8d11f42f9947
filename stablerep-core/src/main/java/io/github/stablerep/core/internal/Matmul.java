package io.github.stablerep.core.internal;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products for eager code. {@code INDArray.mmul} goes to OpenBLAS gemm, which runs at
 * about a fifth of the speed of the {@code matmul} op that the oneDNN build of nd4j-native
 * dispatches (DESIGN.md, measured facts); every eager product in the library goes through here.
 */
public final class Matmul {

  private Matmul() {}

  /** {@code op(a) · op(b)} for rank-2 arrays, op being an optional transpose. */
  public static INDArray mm(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    return Nd4j.exec(new Mmul(a, b, 1.0, 0.0, transposeA, transposeB, false))[0];
  }

  /** {@code a · b}. */
  public static INDArray mm(INDArray a, INDArray b) {
    return mm(a, b, false, false);
  }
}
