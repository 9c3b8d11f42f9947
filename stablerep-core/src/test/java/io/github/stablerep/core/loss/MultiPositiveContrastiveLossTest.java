package io.github.stablerep.core.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.validation.GradCheckUtil;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Robustness, validation and training behaviour of the loss. */
class MultiPositiveContrastiveLossTest {

  private final MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().build();

  private static INDArray ids(long... ids) {
    return Nd4j.createFromArray(ids);
  }

  @Test
  void halfPrecisionInputsAreComputedInFp32() {
    INDArray emb = Nd4j.randn(7L, new long[] {12, 8}).castTo(DataType.FLOAT);
    INDArray labels = ids(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
    for (DataType half : new DataType[] {DataType.HALF, DataType.BFLOAT16}) {
      INDArray h = emb.castTo(half);
      LossResult low = loss.compute(h, labels);
      LossResult upcast = loss.compute(h.castTo(DataType.FLOAT), labels);
      assertThat(low.value()).as(half + " value").isEqualTo(upcast.value());
      assertThat(low.gradient().dataType()).isEqualTo(half);
      assertThat(low.gradient()).isEqualTo(upcast.gradient().castTo(half));
    }
  }

  @Test
  void singletonCaptionsContributeZeroNotNaN() {
    INDArray emb = Nd4j.randn(3L, new long[] {3, 4}).castTo(DataType.FLOAT);
    LossResult r = loss.compute(emb, ids(5, 6, 7));
    assertThat(r.value()).isEqualTo(0.0);
    assertThat(r.gradient().amaxNumber().doubleValue()).isEqualTo(0.0);
    LossResult one = loss.compute(emb.getRows(0), ids(5));
    assertThat(one.value()).isEqualTo(0.0);
  }

  @Test
  void zeroEmbeddingRowsFollowTheReferenceEpsilon() {
    INDArray emb = Nd4j.randn(4L, new long[] {4, 3}).castTo(DataType.FLOAT);
    emb.getRow(1).assign(0);
    LossResult r = loss.compute(emb, ids(0, 0, 1, 1));
    assertThat(r.value()).isFinite();
    assertThat(r.gradient().isNaN().any()).isFalse();
  }

  @Test
  void nanEmbeddingIsRejectedWithItsPosition() {
    INDArray emb = Nd4j.randn(4L, new long[] {4, 3}).castTo(DataType.FLOAT);
    emb.putScalar(2, 1, Float.NaN);
    assertThatThrownBy(() -> loss.compute(emb, ids(0, 0, 1, 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("embeddings")
        .hasMessageContaining("row 2, column 1");
  }

  @Test
  void mismatchedIdsAreRejectedNamingBothShapes() {
    INDArray emb = Nd4j.randn(4L, new long[] {4, 3}).castTo(DataType.FLOAT);
    assertThatThrownBy(() -> loss.compute(emb, ids(0, 0, 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("captionIds")
        .hasMessageContaining("length 4")
        .hasMessageContaining("[3]");
    assertThatThrownBy(() -> loss.compute(emb.reshape(2, 2, 3), ids(0, 1)))
        .hasMessageContaining("embeddings: expected a matrix");
    assertThatThrownBy(() -> loss.compute(emb, Nd4j.createFromArray(0.0, 0.5, 1.0, 1.0)))
        .hasMessageContaining("expected integer ids, found 0.5 at index 1");
  }

  @Test
  void builderRejectsNonPositiveTemperature() {
    assertThatThrownBy(() -> MultiPositiveContrastiveLoss.builder().temperature(0).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("temperature")
        .hasMessageContaining("found 0.0");
    assertThatThrownBy(() -> MultiPositiveContrastiveLoss.builder().temperature(Double.NaN).build())
        .hasMessageContaining("temperature");
    assertThat(loss.toBuilder().temperature(0.2).build().temperature()).isEqualTo(0.2);
  }

  @Test
  void distributedFormValidatesOffsetAndIds() {
    INDArray global = Nd4j.randn(5L, new long[] {6, 3}).castTo(DataType.FLOAT);
    INDArray globalIds = ids(0, 1, 2, 0, 1, 2);
    INDArray local = global.getRows(3, 4, 5);
    assertThatThrownBy(() -> loss.compute(local, ids(0, 1, 2), global, globalIds, 4))
        .hasMessageContaining("localOffset").hasMessageContaining("found 4");
    assertThatThrownBy(() -> loss.compute(local, ids(0, 2, 1), global, globalIds, 3))
        .hasMessageContaining("globalIds").hasMessageContaining("global row 4");
    LossResult ok = loss.compute(local, ids(0, 1, 2), global, globalIds, 3);
    assertThat(ok.columnGradient()).isPresent();
  }

  /** Finite differences in float64 over the whole graph, through the normalisation and the mask. */
  @Test
  void graphGradientPassesFiniteDifferenceCheck() {
    SameDiff sd = SameDiff.create();
    SDVariable emb = sd.var("emb", Nd4j.randn(11L, new long[] {8, 5}).castTo(DataType.DOUBLE));
    SDVariable ids = sd.placeHolder("ids", DataType.INT64, -1);
    SDVariable l = MultiPositiveContrastiveLoss.builder().temperature(0.3).build().define(sd, emb, ids);
    sd.setLossVariables(l);
    DataType before = Nd4j.dataType();
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    boolean ok;
    try {
      ok = GradCheckUtil.checkGradients(sd, Map.of("ids", ids(0, 1, 2, 0, 1, 2, 3, 3)), 1e-6, 1e-5, 1e-9, false, false);
    } finally {
      Nd4j.setDefaultDataTypes(before, before);
    }
    assertThat(ok).isTrue();
  }

  /**
   * The graph form trains: a linear encoder fed noisy copies of a few prototypes learns to map
   * same-caption inputs together, so the loss falls well below its starting value.
   */
  @Test
  void graphFormTrainsAnEncoder() {
    int captions = 6;
    int views = 4;
    int inDim = 16;
    INDArray prototypes = Nd4j.randn(1L, new long[] {captions, inDim}).castTo(DataType.FLOAT);
    long[] labels = new long[captions * views];
    INDArray x = Nd4j.create(DataType.FLOAT, captions * views, inDim);
    INDArray noise = Nd4j.randn(2L, new long[] {captions * views, inDim}).castTo(DataType.FLOAT).muli(0.5);
    for (int i = 0; i < labels.length; i++) {
      labels[i] = i % captions;
      x.putRow(i, prototypes.getRow(i % captions).add(noise.getRow(i)));
    }
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("x", DataType.FLOAT, -1, inDim);
    SDVariable w = sd.var("w", Nd4j.randn(3L, new long[] {inDim, 8}).castTo(DataType.FLOAT).muli(0.3));
    SDVariable ids = sd.placeHolder("ids", DataType.INT64, -1);
    SDVariable l = loss.define(sd, "loss", in.mmul(w), ids);
    sd.setLossVariables(l);
    Map<String, INDArray> ph = Map.of("x", x, "ids", Nd4j.createFromArray(labels));
    double first = sd.output(ph, "loss").get("loss").getDouble(0);
    for (int step = 0; step < 60; step++) {
      INDArray g = sd.calculateGradients(ph, "w").get("w");
      w.getArr().subi(g.mul(0.5));
    }
    double last = sd.output(ph, "loss").get("loss").getDouble(0);
    // ln(views - 1) is the floor: mass spread evenly over the other views of each caption
    double floor = Math.log(views - 1);
    assertThat(last - floor).isLessThan(0.25 * (first - floor));
  }
}
