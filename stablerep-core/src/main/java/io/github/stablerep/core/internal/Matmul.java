package io.github.stablerep.core.internal;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products for eager code. {@code INDArray.mmul} goes to OpenBLAS gemm in every build of
 * nd4j-native, several times slower than the {@code matmul} op, which the oneDNN build
 * dispatches to oneDNN (docs/ARCHITECTURE.md, "ND4J pitfalls"; figures in benchmarks/README.md);
 * every eager product in the library goes through here.
 */
public final class Matmul {

  private Matmul() {}

  /** {@code op(a) · op(b)} for rank-2 arrays, op being an optional transpose. */
  public static INDArray mm(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    return mm(a, b, transposeA, transposeB, 1.0);
  }

  /**
   * {@code alpha · op(a) · op(b)}: the scale rides along in the GEMM, saving a pass over the
   * output. Transposes are flags to the kernel, never materialised copies.
   */
  public static INDArray mm(INDArray a, INDArray b, boolean transposeA, boolean transposeB, double alpha) {
    return Nd4j.exec(new Mmul(a, b, alpha, 0.0, transposeA, transposeB, false))[0];
  }

  /** {@code a · b}. */
  public static INDArray mm(INDArray a, INDArray b) {
    return mm(a, b, false, false);
  }
}
