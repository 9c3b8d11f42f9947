package io.github.stablerep.core.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.stablerep.core.io.SafeTensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Bad arguments fail at the call with messages naming the key, the expectation and the finding. */
class OptimValidationTest {

  private static Map<String, INDArray> params() {
    Map<String, INDArray> p = new LinkedHashMap<>();
    p.put("w", Nd4j.rand(DataType.FLOAT, 3, 2));
    p.put("b", Nd4j.rand(DataType.FLOAT, 3));
    return p;
  }

  private static String fail(Map<String, INDArray> params, Map<String, INDArray> grads) {
    return assertThrows(IllegalArgumentException.class, () -> AdamW.builder().build().step(params, grads)).getMessage();
  }

  @Test
  void unknownGradientKey() {
    String m = fail(params(), Map.of("v", Nd4j.rand(DataType.FLOAT, 3)));
    assertThat(m).contains("'v'").contains("[w, b]");
  }

  @Test
  void shapeMismatchNamesKeyExpectedAndFound() {
    String m = fail(params(), Map.of("w", Nd4j.rand(DataType.FLOAT, 2, 3)));
    assertThat(m).contains("'w'").contains("[3, 2]").contains("found [2, 3]");
  }

  @Test
  void nonFiniteGradientIsRefusedAndNothingChanges() {
    Map<String, INDArray> p = params();
    INDArray w0 = p.get("w").dup();
    INDArray bad = Nd4j.rand(DataType.FLOAT, 3);
    bad.putScalar(1, Double.NaN);
    Map<String, INDArray> grads = new LinkedHashMap<>();
    grads.put("w", Nd4j.rand(DataType.FLOAT, 3, 2));
    grads.put("b", bad);
    AdamW opt = AdamW.builder().build();
    String m = assertThrows(IllegalArgumentException.class, () -> opt.step(p, grads)).getMessage();
    assertThat(m).contains("'b'").contains("finite").contains("NaN");
    assertThat(p.get("w").equals(w0)).isTrue();
    assertThat(opt.stepCount()).isZero();
    bad.putScalar(1, Double.POSITIVE_INFINITY);
    assertThat(fail(p, grads)).contains("'b'").contains("infinity");
  }

  @Test
  void clippingRefusesNonFiniteAndBadMaxNorm() {
    INDArray bad = Nd4j.rand(DataType.FLOAT, 3);
    bad.putScalar(0, Double.NaN);
    assertThat(assertThrows(IllegalArgumentException.class,
        () -> GradientClipping.clipByGlobalNorm(Map.of("g", bad), 1.0)).getMessage()).contains("g").contains("NaN");
    assertThat(assertThrows(IllegalArgumentException.class,
        () -> GradientClipping.clipByGlobalNorm(Map.of(), 0.0)).getMessage()).contains("maxNorm").contains("found 0.0");
  }

  @Test
  void buildersNameFieldRangeAndValue() {
    assertThat(assertThrows(IllegalArgumentException.class, () -> AdamW.builder().betas(0.9, 1.0).build()).getMessage())
        .contains("beta2").contains("[0, 1)").contains("found 1.0");
    assertThat(assertThrows(IllegalArgumentException.class, () -> AdamW.builder().weightDecay(-1).build()).getMessage())
        .contains("weightDecay").contains("found -1.0");
    assertThat(assertThrows(IllegalArgumentException.class, () -> AdamW.builder().epsilon(0).build()).getMessage())
        .contains("epsilon").contains("found 0.0");
    assertThat(assertThrows(IllegalArgumentException.class,
        () -> WarmupCosineSchedule.builder().baseLr(1e-3).warmupSteps(10).totalSteps(5).build()).getMessage())
        .contains("totalSteps").contains("found 5.0");
    assertThat(assertThrows(IllegalArgumentException.class,
        () -> WarmupCosineSchedule.builder().totalSteps(5).build()).getMessage()).contains("baseLr").contains("NaN");
    assertThat(assertThrows(IllegalArgumentException.class,
        () -> ParameterGroups.builder().decay("x").noDecay("x").build()).getMessage()).contains("x");
  }

  @Test
  void parameterGroupRules() {
    ParameterGroups d = ParameterGroups.defaults();
    assertThat(d.decays("blocks.0.attn.qkv.weight", new long[] {768, 2304})).isTrue();
    assertThat(d.decays("blocks.0.attn.qkv.bias", new long[] {2304})).isFalse();
    assertThat(d.decays("blocks.0.norm1.weight", new long[] {768})).isFalse();
    assertThat(d.decays("logit_scale", new long[0])).isFalse();
    assertThat(d.decays("proj.bias", new long[] {1, 3})).isFalse();
    assertThat(d.decays("pos_embed", new long[] {1, 197, 768})).isTrue();
    ParameterGroups r = ParameterGroups.stableRepReference();
    assertThat(r.decays("ln_final.weight2d", new long[] {4, 4})).isFalse();
    ParameterGroups o = d.toBuilder().noDecay("pos_embed").decay("blocks.0.norm1.weight").build();
    assertThat(o.decays("pos_embed", new long[] {1, 197, 768})).isFalse();
    assertThat(o.decays("blocks.0.norm1.weight", new long[] {768})).isTrue();
  }

  @Test
  void baseLrAndReferenceLr() {
    assertThat(WarmupCosineSchedule.baseLr(2e-4, 256)).isEqualTo(2e-4);
    assertThat(WarmupCosineSchedule.baseLr(2e-4, 8256)).isCloseTo(6.45e-3, org.assertj.core.data.Offset.offset(1e-15));
    // the published launch: 32 GPUs x 43 captions, n_img 6, num_crop 1
    assertThat(WarmupCosineSchedule.stableRepReferenceLr(2e-4, 32 * 43, 6, 1))
        .isCloseTo(3.225e-3, org.assertj.core.data.Offset.offset(1e-15));
  }

  @Test
  void stateRoundTripsThroughSafeTensors(@TempDir Path dir) throws Exception {
    Map<String, INDArray> p = params();
    AdamW opt = AdamW.builder().build();
    opt.step(p, Map.of("w", Nd4j.rand(DataType.FLOAT, 3, 2), "b", Nd4j.rand(DataType.FLOAT, 3)));
    opt.step(p, Map.of("w", Nd4j.rand(DataType.FLOAT, 3, 2)));
    Path f = dir.resolve("adamw.safetensors");
    SafeTensors.write(f, opt.exportState(), Map.of());
    Map<String, INDArray> read = SafeTensors.read(f);
    assertThat(read.keySet()).containsExactlyInAnyOrder(
        "w.exp_avg", "w.exp_avg_sq", "w.step", "b.exp_avg", "b.exp_avg_sq", "b.step", "step");
    AdamW back = AdamW.builder().build();
    back.importState(read);
    assertThat(back.stepCount()).isEqualTo(2);
    assertThat(back.exportState().get("b.step").getLong(0)).isEqualTo(1);
    assertThat(back.exportState().get("w.exp_avg_sq").equals(opt.exportState().get("w.exp_avg_sq"))).isTrue();
    Map<String, INDArray> broken = new LinkedHashMap<>(read);
    broken.remove("w.exp_avg_sq");
    assertThat(assertThrows(IllegalArgumentException.class, () -> back.importState(broken)).getMessage())
        .contains("w.exp_avg_sq");
  }

  @Test
  void scheduleIsJavaSerialisableAndClones() throws Exception {
    WarmupCosineSchedule s = WarmupCosineSchedule.builder().baseLr(1e-3).epochs(0.5, 15, 100).build();
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
      out.writeObject(s);
    }
    Object back = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray())).readObject();
    assertThat(back).isEqualTo(s);
    assertThat(s.clone()).isEqualTo(s).isNotSameAs(s);
    assertThat(s.warmupSteps()).isEqualTo(50.0);
  }
}
