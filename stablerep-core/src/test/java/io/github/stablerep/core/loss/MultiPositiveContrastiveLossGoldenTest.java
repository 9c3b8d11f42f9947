package io.github.stablerep.core.loss;

import static io.github.stablerep.core.Goldens.assertClose;
import static io.github.stablerep.core.Goldens.assertRelative;
import static io.github.stablerep.core.Goldens.npy;
import static io.github.stablerep.core.Goldens.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.stablerep.core.Goldens;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Value and gradient against tools/reference/multipos_loss_reference.py, which runs the official
 * MultiPosConLoss semantics in float64 under PyTorch. Java computes in fp32, so the stated
 * tolerance (relative 1e-5) is fp32 rounding, not slack in the formula.
 */
class MultiPositiveContrastiveLossGoldenTest {

  static final double FP32_TOLERANCE = 1e-5;

  private static MultiPositiveContrastiveLoss loss(Path dir) {
    return MultiPositiveContrastiveLoss.builder().temperature(scalar(dir, "temperature")).build();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "n8_m2_t0.1", "n48_m6_t0.1", "uneven_singletons_t0.1", "n24_m3_t0.05", "n24_m3_t0.1",
      "n24_m3_t0.5", "all_distinct_t0.1"})
  void eagerMatchesReference(String name) {
    Path dir = Goldens.dir("loss/" + name);
    INDArray emb = npy(dir, "embeddings");
    LossResult r = loss(dir).compute(emb, npy(dir, "ids"));
    assertRelativeOrZero(name + " value", scalar(dir, "loss"), r.value());
    assertClose(name + " gradient", npy(dir, "gradient"), r.gradient(), FP32_TOLERANCE);
    assertEquals(DataType.FLOAT, r.gradient().dataType());
  }

  /** Logits up to 100 (τ = 0.01, embeddings of norm ~85): fp32 logit rounding is ~100 ulp here. */
  @Test
  void lowTemperatureMatchesReference() {
    Path dir = Goldens.dir("loss/n16_m4_t0.01_scaled");
    LossResult r = loss(dir).compute(npy(dir, "embeddings"), npy(dir, "ids"));
    assertRelative("value", scalar(dir, "loss"), r.value(), 1e-4);
    assertClose("gradient", npy(dir, "gradient"), r.gradient(), 1e-4);
  }

  @ParameterizedTest
  @ValueSource(strings = {"n8_m2_t0.1", "n48_m6_t0.1", "uneven_singletons_t0.1", "n24_m3_t0.05", "n24_m3_t0.5"})
  void graphMatchesReference(String name) {
    Path dir = Goldens.dir("loss/" + name);
    SameDiff sd = SameDiff.create();
    SDVariable emb = sd.var("emb", npy(dir, "embeddings"));
    SDVariable ids = sd.placeHolder("ids", DataType.INT64, -1);
    SDVariable l = loss(dir).define(sd, "loss", emb, ids);
    sd.setLossVariables(l);
    Map<String, INDArray> ph = Map.of("ids", npy(dir, "ids"));
    double value = sd.output(ph, "loss").get("loss").getDouble(0);
    assertRelativeOrZero(name + " graph value", scalar(dir, "loss"), value);
    INDArray grad = sd.calculateGradients(ph, "emb").get("emb");
    assertClose(name + " graph gradient", npy(dir, "gradient"), grad, FP32_TOLERANCE);
  }

  /** With two views per caption the loss is SimCLR's NT-Xent, computed the classic way. */
  @Test
  void twoViewsPerIdIsNtXent() {
    Path dir = Goldens.dir("loss/nt_xent_pairs16_t0.2");
    LossResult r = loss(dir).compute(npy(dir, "embeddings"), npy(dir, "ids"));
    assertRelative("NT-Xent value", scalar(dir, "nt_xent_loss"), r.value(), FP32_TOLERANCE);
    assertClose("NT-Xent gradient", npy(dir, "nt_xent_gradient"), r.gradient(), FP32_TOLERANCE);
  }

  @ParameterizedTest
  @ValueSource(strings = {"dist_3ranks_t0.1", "dist_3ranks_shared_t0.2"})
  void distributedRanksMatchReference(String name) {
    Path dir = Goldens.dir("loss/" + name);
    INDArray emb = npy(dir, "embeddings");
    INDArray ids = npy(dir, "ids");
    int ranks = (int) scalar(dir, "ranks");
    long local = emb.rows() / ranks;
    MultiPositiveContrastiveLoss loss = loss(dir);
    INDArray jobGradient = emb.like().castTo(DataType.FLOAT);
    INDArray rankLoss = npy(dir, "rank_loss");
    double meanLoss = 0;
    LossResult[] results = new LossResult[ranks];
    for (int r = 0; r < ranks; r++) {
      INDArray rows = emb.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(r * local, (r + 1) * local));
      INDArray rowIds = ids.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(r * local, (r + 1) * local));
      results[r] = loss.compute(rows, rowIds, emb, ids, r * local);
      assertRelative("rank " + r + " loss", rankLoss.getDouble(r), results[r].value(), FP32_TOLERANCE);
      assertClose("rank " + r + " row gradient", npy(dir, "rank" + r + "_row_gradient"), results[r].gradient(), FP32_TOLERANCE);
      assertClose("rank " + r + " column gradient", npy(dir, "rank" + r + "_column_gradient"),
          results[r].columnGradient().orElseThrow(), FP32_TOLERANCE);
      meanLoss += results[r].value() / ranks;
    }
    // the reduce-scatter of column gradients plus DDP's mean, as documented on compute(...)
    for (int r = 0; r < ranks; r++) {
      INDArray own = jobGradient.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(r * local, (r + 1) * local));
      own.addi(results[r].gradient());
      for (LossResult k : results) {
        own.addi(k.columnGradient().orElseThrow()
            .get(org.nd4j.linalg.indexing.NDArrayIndex.interval(r * local, (r + 1) * local)));
      }
    }
    jobGradient.divi(ranks);
    assertRelative("job loss", scalar(dir, "job_loss"), meanLoss, FP32_TOLERANCE);
    assertClose("job gradient", npy(dir, "job_gradient"), jobGradient, FP32_TOLERANCE);
  }

  private static void assertRelativeOrZero(String what, double expected, double actual) {
    if (expected == 0) {
      assertEquals(0.0, actual, 0.0, what);
    } else {
      assertRelative(what, expected, actual, FP32_TOLERANCE);
    }
  }
}
