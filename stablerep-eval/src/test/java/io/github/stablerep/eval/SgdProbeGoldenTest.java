package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * SgdProbe against tools/reference/sgd_probe_reference.py: StableRep's main_linear.py heads
 * (nn.Linear, optional BatchNorm1d without affine, torch.optim.SGD momentum 0.9,
 * CosineAnnealingLR per step) run in float64 on the same data, initial weights and batch order.
 * Ten heads, 4 epochs of 9 steps. Tolerances: float64 relative 1e-12 on losses, weights, biases
 * and running statistics (only summation order differs; measured 6e-16); float32 (the default
 * type) relative 1e-5 on weights and losses (measured 2.2e-7); validation top-1 identical in
 * float64, and the same head chosen.
 */
class SgdProbeGoldenTest {

  private static Path dir;
  private static INDArray trainX;
  private static int[] trainY;
  private static INDArray valX;
  private static int[] valY;
  private static double[][] init;
  private static int[][] order;

  @BeforeAll
  static void load() {
    dir = Goldens.dir("sgd");
    trainX = Goldens.npy(dir, "train_x");
    trainY = ints("train_y");
    valX = Goldens.npy(dir, "val_x");
    valY = ints("val_y");
    INDArray w = Goldens.npy(dir, "init_w");
    int heads = (int) w.size(0);
    init = new double[heads][];
    for (int h = 0; h < heads; h++) {
      init[h] = w.get(org.nd4j.linalg.indexing.NDArrayIndex.point(h)).dup('c').data().asDouble();
    }
    order = Goldens.npy(dir, "order").toIntMatrix();
  }

  private static int[] ints(String name) {
    INDArray a = Goldens.npy(dir, name);
    return a.reshape(a.length()).toIntVector();
  }

  private static SgdProbeModel run(boolean bn, double wd, DataType type) {
    SgdProbe probe = SgdProbe.builder().baseLearningRates(Goldens.npy(dir, "base_lrs").toDoubleVector())
        .batchSize(32).epochs(order.length).weightDecay(wd).batchNorm(bn).dataType(type).build();
    return probe.train(trainX, trainY, 5, init, e -> order[e], valX, valY);
  }

  private static void compare(String kase, SgdProbeModel m, DataType type, double tolWeights,
      double tolLoss, boolean exactTop1) {
    Path c = dir.resolve(kase);
    List<SgdProbeModel.Head> heads = m.heads();
    INDArray weights = Goldens.npy(c, "weight");
    INDArray bias = Goldens.npy(c, "bias");
    double[][] losses = Goldens.npy(c, "epoch_loss").toDoubleMatrix();
    double[] top1 = Goldens.npy(c, "val_top1").toDoubleVector();
    double worstW = 0;
    double worstL = 0;
    for (int h = 0; h < heads.size(); h++) {
      SgdProbeModel.Head head = heads.get(h);
      INDArray expW = weights.get(org.nd4j.linalg.indexing.NDArrayIndex.point(h));
      worstW = Math.max(worstW, Goldens.assertClose(kase + " weight, head " + h, expW,
          head.model().weights(), tolWeights));
      Goldens.assertClose(kase + " bias, head " + h,
          bias.get(org.nd4j.linalg.indexing.NDArrayIndex.point(h)), head.model().bias(), tolWeights);
      Goldens.assertClose(kase + " epoch losses, head " + h, Nd4j.createFromArray(losses[h]),
          Nd4j.createFromArray(head.epochLosses()), tolLoss);
      for (int e = 0; e < losses[h].length; e++) {
        worstL = Math.max(worstL, Math.abs(head.epochLosses()[e] - losses[h][e]) / losses[h][e]);
      }
      if (exactTop1) {
        assertThat(head.validationTop1()).as("%s val top-1, head %s", kase, h).isEqualTo(top1[h]);
      }
    }
    System.out.printf("SGD probe %s (%s): worst weight rel. L2 %.2e, worst loss rel. %.2e,"
        + " best head %d (blr %s, val top-1 %.3f)%n", kase, type,
        worstW, worstL, m.bestIndex(), m.best().baseLearningRate(), m.best().validationTop1());
    if (exactTop1) {
      int expectedBest = 0;
      for (int h = 1; h < top1.length; h++) {
        if (top1[h] > top1[expectedBest]) {
          expectedBest = h;
        }
      }
      assertThat(m.bestIndex()).isEqualTo(expectedBest);
    }
  }

  @Test
  void plainHeadsMatchTorchInFloat64() {
    compare("plain", run(false, 0, DataType.DOUBLE), DataType.DOUBLE, 1e-12, 1e-12, true);
  }

  @Test
  void batchNormAndWeightDecayMatchTorchInFloat64() {
    SgdProbeModel m = run(true, 5e-4, DataType.DOUBLE);
    compare("bn_wd", m, DataType.DOUBLE, 1e-12, 1e-12, true);
    Path c = dir.resolve("bn_wd");
    LinearProbeModel best = m.best().model();
    Goldens.assertClose("running mean", Goldens.npy(c, "running_mean"),
        Nd4j.createFromArray(best.featureMean()), 1e-12);
    // the model stores sqrt(running_var + eps), what evaluation divides by
    INDArray scale = Transforms.sqrt(Goldens.npy(c, "running_var").add(1e-6));
    Goldens.assertClose("running std", scale, Nd4j.createFromArray(best.featureScale()), 1e-12);
  }

  @Test
  void float32MatchesTorchFloat64WithinFloatRounding() {
    compare("plain", run(false, 0, DataType.FLOAT), DataType.FLOAT, 1e-5, 1e-5, false);
    compare("bn_wd", run(true, 5e-4, DataType.FLOAT), DataType.FLOAT, 1e-5, 1e-5, false);
  }
}
