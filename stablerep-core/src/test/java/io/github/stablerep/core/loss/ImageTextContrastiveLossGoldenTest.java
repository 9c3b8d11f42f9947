package io.github.stablerep.core.loss;

import static io.github.stablerep.core.Goldens.assertClose;
import static io.github.stablerep.core.Goldens.assertRelative;
import static io.github.stablerep.core.Goldens.npy;
import static io.github.stablerep.core.Goldens.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.stablerep.core.Goldens;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** StableRep++ against the float64 PyTorch reference of MultiPosConLossMM (fp32 tolerance 1e-5). */
class ImageTextContrastiveLossGoldenTest {

  static final double TOL = 1e-5;

  private static ImageTextContrastiveLoss loss(Path dir) {
    return ImageTextContrastiveLoss.builder()
        .temperature(scalar(dir, "temperature"))
        .imageWeight(scalar(dir, "image_weight"))
        .imageTextWeight(scalar(dir, "image_text_weight"))
        .initialLogScale(scalar(dir, "log_scale"))
        .build();
  }

  @ParameterizedTest
  @ValueSource(strings = {"image_text_n6_m3", "image_text_n5_m2_weighted"})
  void eagerMatchesReference(String name) {
    Path dir = Goldens.dir("loss/" + name);
    ImageTextLossResult r = loss(dir).compute(npy(dir, "image_feats"), npy(dir, "image_emb"),
        npy(dir, "text_emb"), npy(dir, "image_ids"), npy(dir, "text_ids"), scalar(dir, "log_scale"));
    assertRelative("loss", scalar(dir, "loss"), r.value(), TOL);
    assertRelative("image loss", scalar(dir, "image_loss"), r.imageLoss(), TOL);
    assertRelative("image-text loss", scalar(dir, "image_text_loss"), r.imageTextLoss(), TOL);
    assertClose("d image feats", npy(dir, "grad_image_feats"), r.gradImageFeatures(), TOL);
    assertClose("d image emb", npy(dir, "grad_image_emb"), r.gradImageEmbeddings(), TOL);
    assertClose("d text emb", npy(dir, "grad_text_emb"), r.gradTextEmbeddings(), TOL);
    assertRelative("d log scale", scalar(dir, "grad_log_scale"), r.gradLogScale(), 1e-4);
  }

  @ParameterizedTest
  @ValueSource(strings = {"image_text_n6_m3", "image_text_n5_m2_weighted"})
  void graphMatchesReference(String name) {
    Path dir = Goldens.dir("loss/" + name);
    SameDiff sd = SameDiff.create();
    ImageTextContrastiveLoss.Graph g = loss(dir).define(sd, "logit_scale",
        sd.var("feats", npy(dir, "image_feats")), sd.var("v", npy(dir, "image_emb")),
        sd.var("t", npy(dir, "text_emb")), sd.constant("vids", npy(dir, "image_ids")),
        sd.constant("tids", npy(dir, "text_ids")));
    sd.setLossVariables(g.loss());
    double value = sd.output(Map.<String, INDArray>of(), g.loss().name()).get(g.loss().name()).getDouble(0);
    assertRelative("graph loss", scalar(dir, "loss"), value, TOL);
    Map<String, INDArray> grads = sd.calculateGradients(Map.of(), "feats", "v", "t", "logit_scale");
    assertClose("graph d feats", npy(dir, "grad_image_feats"), grads.get("feats"), TOL);
    assertClose("graph d image emb", npy(dir, "grad_image_emb"), grads.get("v"), TOL);
    assertClose("graph d text emb", npy(dir, "grad_text_emb"), grads.get("t"), TOL);
    assertRelative("graph d log scale", scalar(dir, "grad_log_scale"), grads.get("logit_scale").getDouble(0), 1e-4);
  }

  @Test
  void logScaleIsClampedToZeroAndLn100() {
    ImageTextContrastiveLoss loss = ImageTextContrastiveLoss.builder().build();
    assertEquals(Math.log(100), loss.clampLogScale(9.0), 0.0);
    assertEquals(0.0, loss.clampLogScale(-3.0), 0.0);
    assertEquals(Math.log(1 / 0.07), loss.initialLogScale(), 0.0);
    SameDiff sd = SameDiff.create();
    ImageTextContrastiveLoss.Graph g = loss.define(sd, "s", sd.var("f", DataType.FLOAT, 4, 3),
        sd.var("v", DataType.FLOAT, 4, 3), sd.var("t", DataType.FLOAT, 2, 3),
        sd.placeHolder("vi", DataType.INT64, -1), sd.placeHolder("ti", DataType.INT64, -1));
    g.logScale().getArr().assign(7.5);
    loss.clampLogScale(g);
    assertEquals(Math.log(100), g.logScale().getArr().getDouble(0), 1e-6);
  }

  @Test
  void builderRejectsAnInitialScaleOutsideTheClamp() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ImageTextContrastiveLoss.builder().initialLogScale(5.0).build());
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("initialLogScale"), e.getMessage());
  }
}
