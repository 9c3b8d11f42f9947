package io.github.stablerep.eval;

import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code out = op(a) · op(b)} with the {@code Mmul} op into a caller-owned buffer.
 * {@code core.internal.Matmul.mm} is the same op but allocates its output; inside the L-BFGS
 * loop the [n, K] logits are rewritten hundreds of times, and fresh multi-MB native arrays are
 * slow on this backend (docs/ARCHITECTURE.md, "ND4J pitfalls"), so the loop reuses one buffer per product.
 */
final class Gemm {

  private Gemm() {}

  static INDArray into(INDArray a, INDArray b, boolean transposeA, boolean transposeB, INDArray out) {
    Nd4j.exec(new Mmul(a, b, out, 1.0, 0.0, new MMulTranspose(transposeA, transposeB, false)));
    return out;
  }
}
