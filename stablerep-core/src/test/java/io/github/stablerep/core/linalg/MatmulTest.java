package io.github.stablerep.core.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class MatmulTest {

  private static INDArray random(Random rnd, int rows, int cols) {
    float[] v = new float[rows * cols];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rnd.nextGaussian();
    }
    return Nd4j.create(v, new long[] {rows, cols}, 'c');
  }

  /** {@code alpha · op(a) · op(b)} by the textbook triple loop in double precision. */
  private static double[][] naive(INDArray a, INDArray b, boolean ta, boolean tb, double alpha) {
    INDArray x = ta ? a.transpose() : a;
    INDArray y = tb ? b.transpose() : b;
    int n = (int) x.size(0);
    int k = (int) x.size(1);
    int m = (int) y.size(1);
    double[][] out = new double[n][m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
          s += x.getDouble(i, p) * y.getDouble(p, j);
        }
        out[i][j] = alpha * s;
      }
    }
    return out;
  }

  @Test
  void everyTransposeCombinationMatchesTheTextbookProduct() {
    Random rnd = new Random(11);
    for (boolean ta : new boolean[] {false, true}) {
      for (boolean tb : new boolean[] {false, true}) {
        INDArray a = ta ? random(rnd, 7, 5) : random(rnd, 5, 7);
        INDArray b = tb ? random(rnd, 3, 7) : random(rnd, 7, 3);
        INDArray got = Matmul.mm(a, b, ta, tb, 0.5);
        double[][] want = naive(a, b, ta, tb, 0.5);
        assertThat(got.shape()).containsExactly(5, 3);
        for (int i = 0; i < 5; i++) {
          for (int j = 0; j < 3; j++) {
            assertThat(got.getDouble(i, j)).as("ta=%s tb=%s [%d,%d]", ta, tb, i, j)
                .isCloseTo(want[i][j], org.assertj.core.data.Offset.offset(1e-5));
          }
        }
      }
    }
  }

  @Test
  void intoGivesTheSameBitsAsMmAndReusesTheBuffer() {
    Random rnd = new Random(12);
    INDArray a = random(rnd, 64, 48);
    INDArray b = random(rnd, 32, 48);
    INDArray out = Nd4j.create(DataType.FLOAT, 64, 32);
    INDArray returned = Matmul.into(a, b, false, true, out);
    assertThat(returned).isSameAs(out);
    assertThat(out.data().asFloat()).containsExactly(Matmul.mm(a, b, false, true).data().asFloat());
    INDArray residual = random(rnd, 64, 32);
    INDArray grad = Nd4j.create(DataType.FLOAT, 32, 48);
    Matmul.into(residual, a, true, false, grad);
    assertThat(grad.data().asFloat()).containsExactly(Matmul.mm(residual, a, true, false).data().asFloat());
  }

  @Test
  void badOperandsNameTheInputAndTheShapes() {
    INDArray a = Nd4j.create(DataType.FLOAT, 4, 5);
    assertThatThrownBy(() -> Matmul.mm(a, Nd4j.create(DataType.FLOAT, 4, 2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("b: expected 5 rows").hasMessageContaining("found 4");
    assertThatThrownBy(() -> Matmul.mm(Nd4j.create(DataType.FLOAT, 2, 3, 4), a))
        .hasMessageContaining("a: expected a matrix, found [2, 3, 4]");
    assertThatThrownBy(() -> Matmul.into(a, a, false, true, Nd4j.create(DataType.FLOAT, 4, 5)))
        .hasMessageContaining("out: expected shape [4, 4], found [4, 5]");
    assertThatThrownBy(() -> Matmul.mm(a, null)).hasMessageContaining("b: expected a matrix, found null");
  }
}
