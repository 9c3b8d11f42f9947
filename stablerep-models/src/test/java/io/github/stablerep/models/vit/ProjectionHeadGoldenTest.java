package io.github.stablerep.models.vit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Parity with torch's head (tools/reference/head_reference.py, float64): train-mode forward with
 * per-chunk BatchNorm, gradients of sum(out * r), running statistics after one step, and an
 * eval-mode forward with them.
 *
 * <p>Tolerances (relative L2, and max-abs relative to max|expected|): fp32 1e-5, fp64 1e-12 (which
 * pins the formulas themselves). Measured: fp32 4e-7 (outputs, gradients), 5e-8 (running
 * statistics); fp64 below 1e-15. The biases before BatchNorm have a true gradient of 0 and are
 * checked against the scale of their layer's weight gradient instead.
 */
class ProjectionHeadGoldenTest {

  @ParameterizedTest
  @CsvSource({"FLOAT, 1e-5, 1e-5", "DOUBLE, 1e-12, 1e-12"})
  void matchesTorch(DataType type, double valueTol, double gradTol) {
    double[] config = HeadGoldens.npy("config").toDoubleVector();
    int chunks = (int) config[3];
    ProjectionHead head = ProjectionHead.builder()
        .inputDim((int) config[0]).hiddenDim((int) config[1]).outputDim((int) config[2])
        .bnEps(config[5]).bnMomentum(config[6]).seed(7).build();

    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", type, -1, head.inputDim());
    SDVariable r = sd.placeHolder("r", type, -1, head.outputDim());
    ProjectionHeadGraph train = head.define(sd, x, chunks, true);
    SDVariable loss = sd.sum(train.output().mul(r)).rename("loss");
    sd.setLossVariables(loss);
    ProjectionHeadGraph eval = head.define(sd, x, chunks, false);

    Map<String, INDArray> init = new LinkedHashMap<>();
    for (String key : head.sdShapes().keySet()) {
      if (!key.endsWith("num_batches_tracked")) {
        init.put(key, HeadGoldens.npy("init_" + key));
      }
    }
    head.importWeights(sd, init);

    double[] worst = new double[4];
    Map<String, INDArray> ph = Map.of(
        "x", HeadGoldens.npy("x").castTo(type), "r", HeadGoldens.npy("r").castTo(type));
    List<String> wanted = new ArrayList<>(train.statisticNames());
    wanted.add(train.output().name());
    Map<String, INDArray> out = sd.output(ph, wanted);
    worst[0] = HeadGoldens.assertClose("train_out", HeadGoldens.npy("train_out"), out.get(train.output().name()), valueTol);

    List<String> gradFor = new ArrayList<>(head.parameterNames());
    gradFor.add("x");
    Map<String, INDArray> grads = sd.calculateGradients(ph, gradFor);
    worst[1] = HeadGoldens.assertClose("grad_x", HeadGoldens.npy("grad_x"), grads.get("x"), gradTol);
    for (String name : head.parameterNames()) {
      String key = name.substring(head.variablePrefix().length());
      INDArray g = grads.get(name);
      INDArray torchLayout = key.startsWith("layer") && key.endsWith("weight") ? g.transpose() : g;
      INDArray expected = HeadGoldens.npy("grad_" + key);
      if (key.matches("layer[12]\\.bias")) {
        // a bias right before BatchNorm cancels in the per-chunk mean: its true gradient is 0
        // (torch's is rounding noise), so compare against the scale of the layer's weight gradient
        double scale = HeadGoldens.npy("grad_" + key.replace("bias", "weight")).amaxNumber().doubleValue();
        assertTrue(
            g.amaxNumber().doubleValue() <= gradTol * scale,
            "grad_" + key + ": expected ~0, found max " + g.amaxNumber() + " against weight-gradient scale " + scale);
        continue;
      }
      worst[1] = Math.max(worst[1], HeadGoldens.assertClose("grad_" + key, expected, torchLayout, gradTol));
    }

    train.updateRunningStatistics(out);
    Map<String, INDArray> exported = head.exportWeights(sd);
    for (String bn : List.of("bn1.", "bn2.")) {
      for (String stat : List.of("running_mean", "running_var")) {
        worst[2] = Math.max(worst[2], HeadGoldens.assertClose(bn + stat, HeadGoldens.npy("after_" + bn + stat), exported.get(bn + stat), valueTol));
      }
      assertEquals(
          HeadGoldens.npy("after_" + bn + "num_batches_tracked").getLong(0),
          exported.get(bn + "num_batches_tracked").getLong(0));
    }

    INDArray evalOut = sd.output(ph, eval.output().name()).get(eval.output().name());
    worst[3] = HeadGoldens.assertClose("eval_out", HeadGoldens.npy("eval_out"), evalOut, valueTol);
    System.out.printf("ProjectionHead parity %s: relative L2 train_out %.2e, gradients (worst) %.2e, "
        + "running stats (worst) %.2e, eval_out %.2e%n", type, worst[0], worst[1], worst[2], worst[3]);
  }
}
