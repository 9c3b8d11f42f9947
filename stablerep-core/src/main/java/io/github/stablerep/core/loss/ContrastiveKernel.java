package io.github.stablerep.core.loss;

import io.github.stablerep.core.linalg.Matmul;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The eager arithmetic shared by the contrastive losses: L2 normalisation with its backward,
 * and the soft-target cross-entropy over a logit matrix whose targets are "same id".
 *
 * <p>All N×M work runs as whole-array ND4J ops written in place, because every fresh N×M
 * allocation costs more than the arithmetic on it (docs/ARCHITECTURE.md, "ND4J pitfalls": fresh arrays). Only the
 * O(N·positives) target bookkeeping is a Java loop.
 */
final class ContrastiveKernel {

  /** F.normalize's epsilon: rows shorter than this are divided by it instead of their norm. */
  static final double NORM_EPS = 1e-12;

  /** The reference masks the self column by subtracting this, rather than using -inf. */
  static final double SELF_MASK = 1e9;

  private ContrastiveKernel() {}

  /**
   * Temporaries live in a per-thread workspace that is reused from call to call: a fresh
   * multi-megabyte array is paid for in page faults, which can cost several times the arithmetic
   * on it (benchmarks/README.md, "Figures behind library comments"); in the workspace the N×N logits and their gradient
   * cost nothing after the first call.
   */
  private static final WorkspaceConfiguration WORKSPACE =
      WorkspaceConfiguration.builder()
          .initialSize(0)
          .policyAllocation(AllocationPolicy.OVERALLOCATE)
          .overallocationLimit(0.25)
          .policyLearning(LearningPolicy.FIRST_LOOP)
          .policySpill(SpillPolicy.REALLOCATE)
          .build();

  static final String WORKSPACE_ID = "stablerep-contrastive-loss";

  /**
   * Runs {@code body} with ND4J allocations in the reused workspace when {@code reuse}, else with
   * ordinary allocations; results must be detached. The choice is the caller's (a loss instance's
   * setting), not process-wide state, so a test comparing the two modes cannot change what
   * another thread's loss does.
   */
  static <T> T inWorkspace(boolean reuse, Supplier<T> body) {
    if (!reuse) {
      return body.get();
    }
    try (MemoryWorkspace ignored =
        Nd4j.getWorkspaceManager().getAndActivateWorkspace(WORKSPACE, WORKSPACE_ID)) {
      return body.get();
    }
  }

  /** A copy outside any workspace, in the requested type, for handing back to the caller. */
  static INDArray detach(INDArray x, DataType type) {
    try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
      return x.castTo(type).dup('c');
    }
  }

  /** Upcasts half-precision inputs so that every reduction runs in at least fp32. */
  static DataType computeType(DataType input) {
    return input == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
  }

  /** Rows of {@code x} divided by max(‖row‖, eps), remembering the divisors for the backward. */
  static final class Normalized {
    final INDArray unit;
    final INDArray divisor; // [n, 1]
    final boolean[] clamped;

    private Normalized(INDArray unit, INDArray divisor, boolean[] clamped) {
      this.unit = unit;
      this.divisor = divisor;
      this.clamped = clamped;
    }
  }

  static Normalized normalize(INDArray x) {
    long n = x.rows();
    INDArray norm = x.norm2(1).reshape(n, 1);
    double[] norms = norm.data().asDouble();
    boolean[] clamped = new boolean[(int) n];
    for (int i = 0; i < n; i++) {
      if (!(norms[i] > NORM_EPS)) {
        clamped[i] = true;
        norm.putScalar(i, 0, NORM_EPS);
      }
    }
    return new Normalized(x.divColumnVector(norm), norm, clamped);
  }

  /** d/dx of x / max(‖x‖, eps), given d/d(unit): (g - u·⟨u, g⟩) / ‖x‖, or g / eps when clamped. */
  static INDArray normalizeBackward(Normalized normalized, INDArray gradUnit) {
    INDArray u = normalized.unit;
    INDArray along = u.mul(gradUnit).sum(1).reshape(u.rows(), 1);
    INDArray grad = gradUnit.sub(u.mulColumnVector(along));
    for (int i = 0; i < normalized.clamped.length; i++) {
      if (normalized.clamped[i]) {
        grad.getRow(i).assign(gradUnit.getRow(i));
      }
    }
    return grad.diviColumnVector(normalized.divisor);
  }

  /** The loss over a logit matrix and d loss / d logits, which overwrote the logits. */
  static final class CrossEntropy {
    final double value;
    final INDArray gradLogits;

    CrossEntropy(double value, INDArray gradLogits) {
      this.value = value;
      this.gradLogits = gradLogits;
    }
  }

  /**
   * −(1/n) Σ_i Σ_j p_ij log softmax(z_i)_j with p_ij = 1[id_i = cid_j, j ≠ self(i)] / max(#positives_i, 1).
   *
   * <p>Rows with no positive contribute zero to the value and to the gradient, which is what
   * the reference's {@code clamp(min=1)} implies. The gradient is (P_i·softmax_ij − p_ij)/n,
   * where P_i is 1 for rows with a positive and 0 otherwise.
   *
   * @param logits [n, m] C-ordered, overwritten with the gradient
   * @param selfOffset column of row 0's self-similarity (row i's is selfOffset + i), or −1 when
   *     rows and columns are different sets (image-text)
   */
  static CrossEntropy sameIdCrossEntropy(
      INDArray logits, long[] rowIds, long[] columnIds, long selfOffset) {
    int n = (int) logits.rows();
    int m = (int) logits.columns();
    Map<Long, int[]> columnsById = groupColumns(columnIds);
    int[][] positives = new int[n][];
    for (int i = 0; i < n; i++) {
      int[] same = columnsById.getOrDefault(rowIds[i], new int[0]);
      long self = selfOffset < 0 ? -1 : selfOffset + i;
      positives[i] = Arrays.stream(same).filter(j -> j != self).toArray();
    }
    if (selfOffset >= 0) {
      // row i's self column is selfOffset + i: a strided view over the shifted diagonal
      INDArray selfColumns =
          Nd4j.create(logits.data(), new long[] {n}, new long[] {m + 1L}, logits.offset() + selfOffset, 'c');
      selfColumns.subi(SELF_MASK);
    }
    INDArray rowMax = logits.max(1).reshape(n, 1);
    logits.subiColumnVector(rowMax);

    DataBuffer z = logits.data();
    long base = logits.offset();
    double[] positiveSum = new double[n];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j : positives[i]) {
        s += z.getDouble(base + (long) i * m + j);
      }
      positiveSum[i] = s;
    }

    Transforms.exp(logits, false);
    INDArray sumExp = logits.sum(1).reshape(n, 1);
    double[] sums = sumExp.data().asDouble();
    double total = 0;
    double[] rowWeight = new double[n];
    for (int i = 0; i < n; i++) {
      int count = positives[i].length;
      if (count > 0) {
        total += positiveSum[i] / count - Math.log(sums[i]);
        rowWeight[i] = 1.0 / n;
      }
    }
    double value = -total / n;

    logits.diviColumnVector(sumExp);
    logits.muliColumnVector(Nd4j.createFromArray(rowWeight).castTo(logits.dataType()).reshape(n, 1));
    for (int i = 0; i < n; i++) {
      int count = positives[i].length;
      if (count == 0) {
        continue;
      }
      double target = 1.0 / ((double) n * count);
      for (int j : positives[i]) {
        long at = base + (long) i * m + j;
        z.put(at, z.getDouble(at) - target);
      }
    }
    return new CrossEntropy(value, logits);
  }

  /** Column indices by id, each list ascending. */
  private static Map<Long, int[]> groupColumns(long[] ids) {
    Map<Long, List<Integer>> columns = new HashMap<>();
    for (int j = 0; j < ids.length; j++) {
      columns.computeIfAbsent(ids[j], id -> new ArrayList<>()).add(j);
    }
    Map<Long, int[]> grouped = new HashMap<>();
    columns.forEach((id, js) -> grouped.put(id, js.stream().mapToInt(Integer::intValue).toArray()));
    return grouped;
  }


  /** Row-major contiguous copy in the compute type (a no-op when already so). */
  static INDArray prepare(INDArray x, DataType type) {
    INDArray cast = x.dataType() == type ? x : x.castTo(type);
    return cast.isView() || cast.ordering() != 'c' ? cast.dup('c') : cast;
  }

  static INDArray scaledProduct(INDArray a, INDArray b, double scale) {
    return Matmul.mm(a, b, false, true, scale);
  }

  /** Returns a loss value, or throws naming the loss and its setting when it is not finite. */
  static double checkFiniteLoss(String loss, double value, String setting) {
    if (!Double.isFinite(value)) {
      throw new ArithmeticException(loss + ": expected a finite value, found " + value + " (" + setting + ")");
    }
    return value;
  }

  /** Throws if any element is NaN or infinite, naming the input and the first bad position. */
  static void checkFinite(String name, INDArray x) {
    // one reduction on the fast path; a sum can overflow on finite input, so scan before blaming
    if (Double.isFinite(x.sumNumber().doubleValue())) {
      return;
    }
    if (x.isInfinite().any() || x.isNaN().any()) {
      double[] v = x.reshape(x.length()).toDoubleVector();
      long cols = x.rank() == 2 ? x.columns() : v.length;
      long bad = 0;
      long first = -1;
      for (int k = 0; k < v.length; k++) {
        if (!Double.isFinite(v[k])) {
          bad++;
          if (first < 0) {
            first = k;
          }
        }
      }
      throw new IllegalArgumentException(
          name + ": expected finite values, found " + bad + " NaN/infinite value(s), the first at row "
              + first / cols + ", column " + first % cols + " (" + v[(int) first] + ")");
    }
  }
}
