package io.github.stablerep.core.optim;

import static io.github.stablerep.core.Goldens.assertClose;
import static io.github.stablerep.core.Goldens.assertRelative;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A 12-step run against torch.optim.AdamW (tools/reference/optim_reference.py): two parameter
 * groups, the warm-up cosine lr per iteration on fractional epochs, clip_grad_norm_ before each
 * step, one parameter with gradients of order 1e-8 where ε's placement matters. Parameters are
 * fp32 on both sides, so the tolerance, relative 1e-6, is a few fp32 ulp accumulated over 12
 * steps; the lr is computed in double on both sides (1e-12).
 */
class AdamWGoldenTest {

  static final double FP32_TOLERANCE = 1e-6;

  private final OptimGoldens golden = new OptimGoldens();

  @Test
  void scheduleMatchesAdjustLearningRate() {
    WarmupCosineSchedule s = golden.schedule();
    assertEquals(0.0, s.valueAt(0, 0), "first step runs at lr 0 as in the reference");
    for (int k = 1; k < golden.steps(); k++) {
      assertRelative("lr at step " + k, golden.lr[k], s.valueAt(k, 0), 1e-12);
    }
  }

  @Test
  void paramsMatchTorchAfterEveryStep() {
    replay(ParameterGroups.defaults());
  }

  /** The official rule (substrings bias/ln/bn) picks the same groups for these names. */
  @Test
  void referenceGroupRuleGivesTheSameRun() {
    replay(ParameterGroups.stableRepReference());
  }

  /** The goldens discriminate: decaying the bias/norm group too does not reproduce torch. */
  @Test
  void decayingEveryParameterDoesNotMatch() {
    org.junit.jupiter.api.Assertions.assertThrows(
        org.opentest4j.AssertionFailedError.class, () -> replay(ParameterGroups.decayAll()));
  }

  private void replay(ParameterGroups groups) {
    AdamW opt = golden.adamW().parameterGroups(groups).build();
    Map<String, INDArray> params = golden.initialParams();
    for (int k = 0; k < golden.steps(); k++) {
      Map<String, INDArray> grads = golden.grads(k);
      double norm = GradientClipping.clipByGlobalNorm(grads, golden.maxNorm());
      assertRelative("clip norm at step " + k, golden.clipNorm[k], norm, FP32_TOLERANCE);
      double lr = opt.step(params, grads);
      assertRelative("lr used at step " + k, golden.lr[k], lr == 0 ? 0 : lr, 1e-12);
      Map<String, INDArray> expected = golden.params(k);
      for (String n : OptimGoldens.NAMES) {
        assertClose(n + " after step " + k, expected.get(n), params.get(n), FP32_TOLERANCE);
      }
    }
    assertEquals(golden.steps(), opt.stepCount());
    Map<String, INDArray> state = opt.exportState();
    for (String n : OptimGoldens.NAMES) {
      assertClose(n + ".exp_avg", golden.state("exp_avg", n), state.get(n + ".exp_avg"), FP32_TOLERANCE);
      assertClose(n + ".exp_avg_sq", golden.state("exp_avg_sq", n), state.get(n + ".exp_avg_sq"), FP32_TOLERANCE);
      assertEquals(golden.steps(), state.get(n + ".step").getLong(0));
    }
  }
}
