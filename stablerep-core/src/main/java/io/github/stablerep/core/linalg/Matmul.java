package io.github.stablerep.core.linalg;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products for eager (non-graph) code: {@code alpha · op(a) · op(b)} for rank-2 arrays,
 * op being an optional transpose. Every eager product in the project goes through here.
 *
 * <p>Why not {@code INDArray.mmul}: it goes to OpenBLAS gemm in every build of nd4j-native,
 * several times slower than the {@code matmul} op, which the oneDNN build dispatches to oneDNN
 * (docs/ARCHITECTURE.md, "ND4J pitfalls"; figures in benchmarks/README.md). Transposes are flags
 * to the kernel, never materialised copies, and a scale rides along in the product instead of
 * costing a pass over the output.
 *
 * <p>{@link #mm} allocates its result; {@link #into} writes into a caller-owned array, for loops
 * that rewrite a product of the same shape many times (fresh multi-MB native arrays are slow on
 * this backend, docs/ARCHITECTURE.md). Both run the same op, so for the same inputs they give
 * the same bits.
 */
public final class Matmul {

  private Matmul() {}

  /** {@code a · b}. */
  public static INDArray mm(INDArray a, INDArray b) {
    return mm(a, b, false, false);
  }

  /** {@code op(a) · op(b)}. */
  public static INDArray mm(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    return mm(a, b, transposeA, transposeB, 1.0);
  }

  /**
   * {@code alpha · op(a) · op(b)}, in a new array of the inputs' data type.
   *
   * @throws IllegalArgumentException when an input is not a matrix or the inner dimensions differ
   */
  public static INDArray mm(INDArray a, INDArray b, boolean transposeA, boolean transposeB,
      double alpha) {
    check(a, b, transposeA, transposeB);
    return Nd4j.exec(new Mmul(a, b, alpha, 0.0, transposeA, transposeB, false))[0];
  }

  /**
   * {@code out = op(a) · op(b)}, overwriting {@code out}; returns {@code out}.
   *
   * @throws IllegalArgumentException when an input is not a matrix, the inner dimensions differ,
   *     or {@code out} is not the product's shape
   */
  public static INDArray into(INDArray a, INDArray b, boolean transposeA, boolean transposeB,
      INDArray out) {
    long[] shape = check(a, b, transposeA, transposeB);
    checkArgument(out != null, "out: expected a [%s, %s] array, found null", shape[0], shape[1]);
    checkArgument(Arrays.equals(out.shape(), shape), "out: expected shape %s, found %s",
        Arrays.toString(shape), Arrays.toString(out.shape()));
    Nd4j.exec(new Mmul(a, b, out, 1.0, 0.0, new MMulTranspose(transposeA, transposeB, false)));
    return out;
  }

  /** The product's shape, after checking that the operands multiply. */
  private static long[] check(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    checkArgument(a != null && a.rank() == 2, "a: expected a matrix, found %s",
        a == null ? "null" : Arrays.toString(a.shape()));
    checkArgument(b != null && b.rank() == 2, "b: expected a matrix, found %s",
        b == null ? "null" : Arrays.toString(b.shape()));
    long rows = a.size(transposeA ? 1 : 0);
    long inner = a.size(transposeA ? 0 : 1);
    long bInner = b.size(transposeB ? 1 : 0);
    long cols = b.size(transposeB ? 0 : 1);
    checkArgument(inner == bInner,
        "b: expected %s rows in op(b) to match op(a)'s %s columns (a %s%s, b %s%s), found %s",
        inner, inner, Arrays.toString(a.shape()), transposeA ? "ᵀ" : "",
        Arrays.toString(b.shape()), transposeB ? "ᵀ" : "", bInner);
    return new long[] {rows, cols};
  }
}
