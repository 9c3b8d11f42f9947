package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.IdxDataset;
import io.github.stablerep.eval.data.ImageDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Parity with scikit-learn 1.2 on real data: Fashion-MNIST pixels, the first 10 000 training
 * rows (a CI-sized subset, fixed in tools/reference/fmnist_probe_reference.py) and the full
 * 10 000-row test set. The tolerances: at a fixed λ (C = 1/(λ n)) the objective within
 * 1e-4 relative and test accuracy within 0.2 points (λ = 1e-2 always, 1e-4 with
 * {@code -Dslow=true}); the sweep, over the script's 12-value grid
 * (one per decade in [1e-6, 1e5]), within 0.3 points of the best test accuracy sklearn reaches on
 * that grid. Needs Debian's dataset-fashion-mnist: skipped without it on a developer machine,
 * failed without it in CI ({@code CI} set; .ci/run installs it).
 */
class FashionMnistParityTest {

  private static final Path DATA = Path.of("/usr/share/datasets/fashion-mnist");
  private static final Path DIR = Goldens.dir("fmnist");

  private static INDArray trainX;
  private static int[] trainY;
  private static INDArray testX;
  private static int[] testY;

  @BeforeAll
  static void load() throws IOException {
    String[] files = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    boolean present = Arrays.stream(files).allMatch(f -> Files.exists(DATA.resolve(f)));
    if (System.getenv("CI") == null) {
      Assumptions.assumeTrue(present, "Fashion-MNIST not found under " + DATA
          + "; `apt-get install dataset-fashion-mnist` runs this test");
    }
    for (String f : files) {
      assertThat(DATA.resolve(f)).as("install the Debian package dataset-fashion-mnist").exists();
    }
    int n = (int) Goldens.npy(DIR, "n_train").getLong(0);
    IdxDataset train = IdxDataset.open(DATA.resolve(files[0]), DATA.resolve(files[1]));
    IdxDataset test = IdxDataset.open(DATA.resolve(files[2]), DATA.resolve(files[3]));
    trainX = pixels(train, n);
    trainY = Arrays.copyOf(train.labels(), n);
    testX = pixels(test, test.size());
    testY = test.labels();
    assertThat(Arrays.copyOf(trainY, 16)).containsExactly(ints("train_label_head"));
    assertThat(Arrays.copyOf(testY, 16)).containsExactly(ints("test_label_head"));
  }

  private static int[] ints(String name) {
    INDArray a = Goldens.npy(DIR, name);
    return a.reshape(a.length()).toIntVector();
  }

  private static INDArray pixels(IdxDataset d, int rows) throws IOException {
    try (ImageDataset.Reader r = d.reader()) {
      Batch b = r.next(rows);
      return b.stack().reshape(rows, (long) d.rows() * d.cols()).castTo(DataType.DOUBLE);
    }
  }

  /** λ = 1e-2 (sklearn: 678 iterations): about 15 s on 2 cores. */
  @Test
  void fixedLambdaMatchesSklearn() {
    checkFixed(1e-2);
  }

  /**
   * λ = 1e-4, nearly unregularised at n = 10 000 (sklearn: 3168 iterations, ours about 3400):
   * a minute or more on 2 cores, so opt-in with {@code -Dslow=true}. Measured: objective rel.
   * −9.0e-6, test accuracy equal.
   */
  @Test
  @EnabledIfSystemProperty(named = "slow", matches = "true")
  void fixedSmallLambdaMatchesSklearn() {
    checkFixed(1e-4);
  }

  private static void checkFixed(double lambda) {
    double[] lambdas = Goldens.npy(DIR, "fixed_lambdas").toDoubleVector();
    int i = 0;
    while (Math.abs(lambdas[i] - lambda) > 1e-12 * lambda) {
      i++;
    }
    double objective = Goldens.npy(DIR, "fixed_objective").getDouble(i);
    double accuracy = Goldens.npy(DIR, "fixed_test_accuracy").getDouble(i);
    long iterations = Goldens.npy(DIR, "fixed_iterations").getLong(i);
    long t0 = System.nanoTime();
    LinearProbeModel model = LinearProbe.builder().regularizationSweep(lambda, lambda, 1)
        .maxIterations(10000).build().fit(trainX, trainY);
    double rel = (model.objective() - objective) / objective;
    double acc = model.evaluate(testX, testY).top1();
    System.out.printf("Fashion-MNIST 10k, lambda %g: objective %.10g vs sklearn %.10g (rel %+.2e),"
            + " %d iterations (sklearn %d), converged %s, %.1f s; test accuracy %.4f vs %.4f%n",
        lambda, model.objective(), objective, rel, model.iterations(), iterations,
        model.converged(), (System.nanoTime() - t0) / 1e9, acc, accuracy);
    assertThat(Math.abs(rel)).as("objective rel. error, lambda %s", lambda).isLessThan(1e-4);
    assertThat(Math.abs(acc - accuracy)).as("test accuracy, lambda %s", lambda)
        .isLessThanOrEqualTo(0.002);
  }

  /**
   * The 12-value grid with float32 GEMMs (the softmax and L-BFGS stay float64) and at most 500
   * iterations per λ, to keep CI near a minute: the three smallest λ, nearly unregularised, stop
   * at the cap (with the warning), and their validation accuracy is well below the chosen one's
   * anyway (sklearn's test accuracy there: about 0.80 against 0.835 at 1e-2).
   */
  @Test
  void sweepIsWithinThreeTenthsOfSklearnBestOverGrid() {
    double[] grid = Goldens.npy(DIR, "grid").toDoubleVector();
    long t0 = System.nanoTime();
    LinearProbe probe = LinearProbe.builder().regularizationSweep(grid[0], grid[grid.length - 1],
        grid.length).dataType(DataType.FLOAT).maxIterations(500).build();
    assertThat(probe.lambdas()).usingComparatorWithPrecision(1e-12 * grid[grid.length - 1])
        .containsExactly(grid);
    LinearProbeModel model = probe.fit(trainX, trainY);
    ProbeResult result = model.evaluate(testX, testY);
    double best = Goldens.scalar(DIR, "best_grid_accuracy");
    System.out.printf("Fashion-MNIST 10k sweep over %d lambdas: chosen %g, test accuracy %.4f;"
            + " sklearn best over the grid %.4f; %.1f s%n", grid.length, result.lambda(),
        result.top1(), best, (System.nanoTime() - t0) / 1e9);
    assertThat(result.top1()).isGreaterThanOrEqualTo(best - 0.003);
  }
}
