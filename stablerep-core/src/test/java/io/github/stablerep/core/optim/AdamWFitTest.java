package io.github.stablerep.core.optim;

import static io.github.stablerep.core.Goldens.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;

/**
 * The two SameDiff training styles against the torch goldens. The loss Σ_p sum(p ⊙ G_p), with
 * the G_p fed as placeholders, has gradient G_p, so each style can replay torch's (clipped)
 * gradients exactly.
 */
class AdamWFitTest {

  private final OptimGoldens golden = new OptimGoldens();

  /** Parameters of rank ≥ 1 only: a rank-0 placeholder does not travel through a MultiDataSet. */
  private static final List<String> FIT_NAMES =
      List.of("fc1.weight", "fc1.bias", "fc2.weight", "norm.weight", "tiny");

  private SameDiff graph(List<String> names) {
    SameDiff sd = SameDiff.create();
    Map<String, INDArray> init = golden.initialParams();
    SDVariable loss = null;
    for (String n : names) {
      SDVariable p = sd.var(n, init.get(n));
      SDVariable g = sd.placeHolder("g_" + n, p.dataType(), init.get(n).shape());
      SDVariable term = p.mul(g).sum();
      loss = loss == null ? term : loss.add(term);
    }
    loss.rename("loss");
    sd.setLossVariables("loss");
    return sd;
  }

  @Test
  void ownLoopWithCalculateGradientsMatchesTorch() {
    SameDiff sd = graph(OptimGoldens.NAMES);
    AdamW opt = golden.adamW().build();
    for (int k = 0; k < golden.steps(); k++) {
      Map<String, INDArray> raw = golden.grads(k);
      GradientClipping.clipByGlobalNorm(raw, golden.maxNorm());
      Map<String, INDArray> ph = new java.util.HashMap<>();
      raw.forEach((n, g) -> ph.put("g_" + n, g));
      Map<String, INDArray> grads = sd.calculateGradients(ph, OptimGoldens.NAMES);
      opt.step(sd, grads);
      Map<String, INDArray> expected = golden.params(k);
      for (String n : OptimGoldens.NAMES) {
        assertClose(n + " after step " + k, expected.get(n), sd.getArrForVarName(n), 1e-6);
      }
    }
  }

  /**
   * fit with the config from AdamW.trainingConfig: TorchAdam + DecoupledWeightDecay. The golden's
   * groups are rank-decided for these names. The gradients are the torch run's clipped ones
   * (clipping is not part of fit).
   */
  @Test
  void fitMatchesTorch() {
    SameDiff sd = graph(FIT_NAMES);
    List<String> features = new ArrayList<>();
    FIT_NAMES.forEach(n -> features.add("g_" + n));
    TrainingConfig config = golden.adamW().build().trainingConfig(sd)
        .dataSetFeatureMapping(features)
        .markLabelsUnused()
        .build();
    sd.setTrainingConfig(config);
    for (int k = 0; k < golden.steps(); k++) {
      Map<String, INDArray> raw = golden.grads(k);
      GradientClipping.clipByGlobalNorm(raw, golden.maxNorm());
      INDArray[] f = new INDArray[FIT_NAMES.size()];
      for (int i = 0; i < f.length; i++) {
        f[i] = raw.get(FIT_NAMES.get(i));
      }
      sd.fit(new MultiDataSet(f, new INDArray[0]));
      Map<String, INDArray> expected = golden.params(k);
      for (String n : FIT_NAMES) {
        assertClose("fit: " + n + " after step " + k, expected.get(n), sd.getArrForVarName(n), 1e-6);
      }
    }
  }

  @Test
  void trainingConfigSerialisesWithTheSchedule() {
    SameDiff sd = graph(FIT_NAMES);
    TrainingConfig config = golden.adamW().build().trainingConfig(sd)
        .dataSetFeatureMapping("g_fc1.weight").markLabelsUnused().build();
    TrainingConfig back = TrainingConfig.fromJson(config.toJson());
    assertEquals(config.getUpdater(), back.getUpdater());
    assertEquals(config.getRegularization(), back.getRegularization());
    assertTrue(back.getUpdater() instanceof TorchAdam);
  }

  @Test
  void trainingConfigRefusesNameBasedExclusionOfAMatrix() {
    SameDiff sd = graph(OptimGoldens.NAMES);
    IllegalArgumentException e = assertThrows(
        IllegalArgumentException.class, () -> golden.adamW().build().trainingConfig(sd));
    assertTrue(e.getMessage().contains("proj.bias[1, 3]"), e.getMessage());
    assertTrue(e.getMessage().contains("by rank only"), e.getMessage());
  }
}
