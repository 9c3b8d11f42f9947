package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Parity with scikit-learn 1.2 LogisticRegression(multinomial, lbfgs, C = 1/(λ n)) on the digits
 * split of tools/reference/probe_reference.py. Tolerances are the issue's: objective 1e-4
 * relative, test accuracy 0.2 points at fixed λ, 0.3 points below sklearn's best over the grid.
 */
class LinearProbeGoldenTest {

  private static INDArray trainX;
  private static int[] trainY;
  private static INDArray testX;
  private static int[] testY;
  private static double[] lambdas;
  private static double[] objectives;
  private static double[] accuracies;

  @BeforeAll
  static void load() {
    trainX = ProbeGoldens.npy("train_x");
    trainY = ProbeGoldens.labels("train_y");
    testX = ProbeGoldens.npy("test_x");
    testY = ProbeGoldens.labels("test_y");
    lambdas = ProbeGoldens.npy("lambdas").toDoubleVector();
    objectives = ProbeGoldens.npy("objective").toDoubleVector();
    accuracies = ProbeGoldens.npy("test_accuracy").toDoubleVector();
  }

  /** θ = [coef | intercept] row-major, the layout of SoftmaxObjective. */
  private static double[] sklearnTheta(int i) {
    double[][] coef = ProbeGoldens.npy("coef_" + i).toDoubleMatrix();
    double[] intercept = ProbeGoldens.npy("intercept_" + i).toDoubleVector();
    int d = coef[0].length;
    double[] theta = new double[coef.length * (d + 1)];
    for (int k = 0; k < coef.length; k++) {
      System.arraycopy(coef[k], 0, theta, k * (d + 1), d);
      theta[k * (d + 1) + d] = intercept[k];
    }
    return theta;
  }

  private static double objectiveAt(double[] theta, double lambda, DataType type) {
    Standardizer st = Standardizer.fit(trainX);
    SoftmaxObjective f =
        new SoftmaxObjective(st.applyWithBias(trainX, type), trainY, 10, lambda);
    return f.evaluate(theta, null);
  }

  @Test
  void objectiveFunctionMatchesAtSklearnSolution() {
    for (int i = 0; i < lambdas.length; i++) {
      double ours64 = objectiveAt(sklearnTheta(i), lambdas[i], DataType.DOUBLE);
      double ours32 = objectiveAt(sklearnTheta(i), lambdas[i], DataType.FLOAT);
      double rel64 = Math.abs(ours64 - objectives[i]) / objectives[i];
      double rel32 = Math.abs(ours32 - objectives[i]) / objectives[i];
      System.out.printf("objective at sklearn's solution, lambda %g: fp64 rel %.2e, fp32 rel %.2e%n",
          lambdas[i], rel64, rel32);
      assertThat(rel64).as("fp64 objective, lambda %s", lambdas[i]).isLessThan(1e-12);
      assertThat(rel32).as("fp32 objective, lambda %s", lambdas[i]).isLessThan(1e-4);
    }
  }

  @Test
  void fixedLambdaMatchesSklearn() {
    for (int i = 0; i < lambdas.length; i++) {
      LinearProbeModel model = LinearProbe.builder().regularizationSweep(lambdas[i], lambdas[i], 1)
          .build().fit(trainX, trainY);
      double rel = (model.objective() - objectives[i]) / objectives[i];
      // and the same objective re-evaluated independently of the solver's bookkeeping
      double[] theta = thetaOf(model);
      double recomputed = objectiveAt(theta, lambdas[i], DataType.DOUBLE);
      double acc = model.evaluate(testX, testY).top1();
      System.out.printf("lambda %g: ours %.12g vs sklearn %.12g (rel %+.2e), %d iterations,"
              + " converged %s; test accuracy %.4f vs %.4f%n", lambdas[i], model.objective(),
          objectives[i], rel, model.iterations(), model.converged(), acc, accuracies[i]);
      assertThat(Math.abs(recomputed - model.objective())).isLessThan(1e-12);
      assertThat(Math.abs(rel)).as("objective rel. error, lambda %s", lambdas[i]).isLessThan(1e-4);
      assertThat(Math.abs(acc - accuracies[i])).as("test accuracy, lambda %s", lambdas[i])
          .isLessThanOrEqualTo(0.002);
      assertThat(model.converged()).isTrue();
    }
  }

  /**
   * float32 GEMMs (softmax, loss and L-BFGS still in float64): measured, and held to the same
   * objective tolerance; the rounding noise in the gradient (about 1e-7 relative) is what stops
   * the solver earlier than in float64.
   */
  @Test
  void fixedLambdaInFloat32() {
    for (int i = 0; i < lambdas.length; i++) {
      LinearProbeModel model = LinearProbe.builder().regularizationSweep(lambdas[i], lambdas[i], 1)
          .dataType(DataType.FLOAT).build().fit(trainX, trainY);
      double exact = objectiveAt(thetaOf(model), lambdas[i], DataType.DOUBLE);
      double rel = (exact - objectives[i]) / objectives[i];
      double acc = model.evaluate(testX, testY).top1();
      System.out.printf("fp32 lambda %g: objective (re-evaluated in fp64) rel %+.2e, %d iterations,"
          + " converged %s; test accuracy %.4f vs %.4f%n", lambdas[i], rel, model.iterations(),
          model.converged(), acc, accuracies[i]);
      assertThat(Math.abs(rel)).isLessThan(1e-4);
      assertThat(Math.abs(acc - accuracies[i])).isLessThanOrEqualTo(0.002);
    }
  }

  @Test
  void sweepIsWithinThreeTenthsOfSklearnBestOverGrid() {
    LinearProbeModel model = LinearProbe.builder().lbfgs().regularizationSweep(1e-6, 1e5, 45)
        .validationFraction(0.2).maxIterations(1000).build().fit(trainX, trainY);
    ProbeResult result = model.evaluate(testX, testY);
    double best = ProbeGoldens.scalar("best_grid_accuracy");
    System.out.printf("sweep: chosen lambda %g, test accuracy %.4f (mean per class %.4f);"
        + " sklearn best over grid %.4f%n", result.lambda(), result.top1(),
        result.meanPerClassAccuracy(), best);
    assertThat(result.validationCurve()).hasSize(45);
    assertThat(result.top1()).isGreaterThanOrEqualTo(best - 0.003);
  }

  private static double[] thetaOf(LinearProbeModel model) {
    double[][] w = model.weights().toDoubleMatrix();
    double[] b = model.bias().toDoubleVector();
    int d = w[0].length;
    double[] theta = new double[w.length * (d + 1)];
    for (int k = 0; k < w.length; k++) {
      System.arraycopy(w[k], 0, theta, k * (d + 1), d);
      theta[k * (d + 1) + d] = b[k];
    }
    return theta;
  }
}
