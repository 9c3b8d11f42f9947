package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Bad inputs fail at the call that made them, naming the input, the expectation and the finding. */
class ProbeValidationTest {

  private static INDArray data(int n, int d, long seed) {
    Random r = new Random(seed);
    double[][] x = new double[n][d];
    for (double[] row : x) {
      for (int j = 0; j < d; j++) {
        row[j] = r.nextGaussian();
      }
    }
    return Nd4j.createFromArray(x);
  }

  private static int[] labels(int n, int classes) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % classes;
    }
    return y;
  }

  private static final LinearProbe SINGLE = LinearProbe.builder().regularizationSweep(0.1, 0.1, 1).build();

  @Test
  void builderRejectsOutOfRangeSettings() {
    assertThatThrownBy(() -> LinearProbe.builder().regularizationSweep(0, 1, 5).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lambdaMin")
        .hasMessageContaining("> 0").hasMessageContaining("found 0.0");
    assertThatThrownBy(() -> LinearProbe.builder().regularizationSweep(1, 0.5, 5).build())
        .hasMessageContaining("lambdaMax").hasMessageContaining("found 0.5");
    assertThatThrownBy(() -> LinearProbe.builder().regularizationSweep(1, 2, 1).build())
        .hasMessageContaining("lambdaMax").hasMessageContaining("single lambda");
    assertThatThrownBy(() -> LinearProbe.builder().validationFraction(1.0).build())
        .hasMessageContaining("validationFraction").hasMessageContaining("(0, 1)")
        .hasMessageContaining("found 1.0");
    assertThatThrownBy(() -> LinearProbe.builder().maxIterations(0).build())
        .hasMessageContaining("maxIterations").hasMessageContaining("found 0");
    assertThatThrownBy(() -> LinearProbe.builder().dataType(DataType.HALF).build())
        .hasMessageContaining("dataType").hasMessageContaining("HALF");
    assertThatThrownBy(() -> KnnClassifier.builder().k(0).build())
        .hasMessageContaining("k: expected >= 1, found 0");
    assertThatThrownBy(() -> KnnClassifier.builder().temperature(-1).build())
        .hasMessageContaining("temperature").hasMessageContaining("found -1.0");
  }

  @Test
  void toBuilderRoundTrips() {
    LinearProbe p = LinearProbe.builder().regularizationSweep(1e-3, 1e2, 7).seed(5).build();
    assertThat(p.toBuilder().build().lambdas()).containsExactly(p.lambdas());
    assertThat(p.lambdas()[0]).isEqualTo(1e-3);
    assertThat(p.lambdas()[6]).isCloseTo(1e2, org.assertj.core.data.Offset.offset(1e-10));
  }

  @Test
  void shapeAndCountMismatches() {
    INDArray x = data(20, 3, 1);
    assertThatThrownBy(() -> SINGLE.fit(Nd4j.create(DataType.DOUBLE, 20), labels(20, 2)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trainX")
        .hasMessageContaining("matrix").hasMessageContaining("[20]");
    assertThatThrownBy(() -> SINGLE.fit(x, labels(19, 2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trainY: expected 20 labels").hasMessageContaining("found 19");
    LinearProbeModel model = SINGLE.fit(x, labels(20, 2));
    assertThatThrownBy(() -> model.predict(data(4, 5, 2)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x: expected 3 feature columns")
        .hasMessageContaining("[4, 5]");
    assertThatThrownBy(() -> SINGLE.fit(x, labels(20, 2), data(5, 4, 3), labels(5, 2)))
        .hasMessageContaining("valX: expected 3 feature columns");
    assertThatThrownBy(() -> KnnClassifier.builder().build().fit(x, labels(20, 2)).predict(data(2, 2, 4)))
        .hasMessageContaining("x: expected 3 feature columns");
  }

  @Test
  void labelsOutOfRange() {
    INDArray x = data(20, 3, 1);
    int[] y = labels(20, 2);
    y[7] = -1;
    assertThatThrownBy(() -> SINGLE.fit(x, y)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trainY: expected labels in [0, inf), found -1 at index 7");
    int[] three = labels(20, 3);
    assertThatThrownBy(() -> SINGLE.toBuilder().numClasses(2).build().fit(x, three))
        .hasMessageContaining("trainY: expected labels in [0, 2), found 2 at index 2");
    LinearProbeModel model = SINGLE.fit(x, labels(20, 2));
    assertThatThrownBy(() -> model.evaluate(x, three))
        .hasMessageContaining("testY: expected labels in [0, 2), found 2 at index 2");
  }

  @Test
  void nonFiniteFeatures() {
    INDArray x = data(20, 3, 1);
    x.putScalar(4, 2, Double.NaN);
    assertThatThrownBy(() -> SINGLE.fit(x, labels(20, 2))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trainX: expected finite values, found NaN at row 4, column 2");
    INDArray y = data(20, 3, 1);
    y.putScalar(0, 0, Double.POSITIVE_INFINITY);
    assertThatThrownBy(() -> KnnClassifier.builder().build().fit(y, labels(20, 2)))
        .hasMessageContaining("trainX: expected finite values, found Infinity at row 0, column 0");
  }

  @Test
  void constantColumnIsHandled() {
    INDArray x = data(30, 3, 1);
    x.getColumn(1).assign(7.0);
    LinearProbeModel model = SINGLE.fit(x, labels(30, 3));
    assertThat(model.featureScale()[1]).isEqualTo(1.0);
    assertThat(model.weights().getColumn(1).norm2Number().doubleValue()).isLessThan(1e-12);
    for (double s : model.probabilities(x).sum(1).toDoubleVector()) {
      assertThat(s).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
    }
  }

  @Test
  void stoppingAtMaxIterationsWarns() {
    PrintStream saved = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    LinearProbeModel model;
    try {
      model = SINGLE.toBuilder().regularizationSweep(1e-6, 1e-6, 1).maxIterations(2).build()
          .fit(data(50, 4, 2), labels(50, 3));
    } finally {
      System.setErr(saved);
    }
    assertThat(model.converged()).isFalse();
    assertThat(model.iterations()).isEqualTo(2);
    assertThat(captured.toString(StandardCharsets.UTF_8))
        .contains("L-BFGS stopped at maxIterations=2");
  }

  @Test
  void resultIsImmutableAndFractionsInRange() {
    INDArray x = data(40, 3, 1);
    int[] y = labels(40, 4);
    ProbeResult r = LinearProbe.builder().regularizationSweep(1e-3, 1e1, 5).build().fit(x, y)
        .evaluate(x, y);
    assertThat(r.top1()).isBetween(0.0, 1.0);
    assertThat(r.meanPerClassAccuracy()).isBetween(0.0, 1.0);
    assertThat(r.validationCurve()).hasSize(5);
    assertThat(r.validationCurve().values()).allSatisfy(v -> assertThat(v).isBetween(0.0, 1.0));
    assertThatThrownBy(() -> r.validationCurve().put(1.0, 1.0))
        .isInstanceOf(UnsupportedOperationException.class);
    long[][] c = r.confusionMatrix();
    long total = 0;
    for (long[] row : c) {
      for (long v : row) {
        total += v;
      }
    }
    assertThat(total).isEqualTo(40);
    c[0][0] = -5;
    assertThat(r.confusionMatrix()[0][0]).isNotEqualTo(-5);
  }
}
