package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import io.github.stablerep.core.optim.AdamW;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.validation.GradCheckUtil;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The graph trains: its gradients are right, and it can fit a fixed batch. */
class VitTrainingTest {


  /**
   * Adds N(0, 0.3²) noise (seeded) to every weight: larger weights than timm's init, so attention
   * and GELU are far from linear in a gradient check.
   */
  static void perturbWeights(SameDiff sd, VitGraph g, long seed) {
    Random rng = new Random(seed);
    for (String n : g.variableNames()) {
      INDArray a = sd.getVariable(n).getArr();
      double[] noise = new double[(int) a.length()];
      for (int i = 0; i < noise.length; i++) {
        noise[i] = 0.3 * rng.nextGaussian();
      }
      a.addi(Nd4j.createFromArray(noise).reshape(a.shape()));
    }
  }
  static INDArray images(int n, int h, int w, long seed, DataType type) {
    Random rng = new Random(seed);
    double[] d = new double[n * 3 * h * w];
    for (int i = 0; i < d.length; i++) {
      d[i] = rng.nextGaussian();
    }
    return Nd4j.createFromArray(d).reshape(n, 3, h, w).castTo(type);
  }

  static INDArray ids(long... ids) {
    return Nd4j.createFromArray(ids);
  }

  /**
   * Every parameter's gradient (a spread subset of its entries) (patch conv, class token, position embedding, attention, exact
   * GELU, composed LayerNorm) against central differences, in double, through StableRep's loss
   * on the class token. The LayerNorm weights are perturbed away from 1 and the class token away
   * from ~0 so that no path is degenerate.
   */
  @Test
  void gradientsPassFiniteDifferenceCheckInDouble() {
    DataType before = Nd4j.dataType();
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    boolean ok;
    try {
      VisionTransformer vit = VisionTransformer.builder().imageSize(8, 4).patchSize(4).width(8).depth(1).heads(2)
          .mlpRatio(2).dataType(DataType.DOUBLE).seed(3).build();
      SameDiff sd = SameDiff.create();
      // the images as a variable: GradCheckUtil needs an array for every floating input, and
      // this checks the gradient reaching the pixels through the patch convolution too
      SDVariable x = sd.var("images", images(4, 8, 4, 11, DataType.DOUBLE));
      SDVariable idv = sd.placeHolder("ids", DataType.INT64, -1);
      VitGraph g = vit.define(sd, x);
      perturbWeights(sd, g, 5);
      SDVariable loss = MultiPositiveContrastiveLoss.builder().temperature(0.5).build().define(sd, g.classToken(), idv);
      sd.setLossVariables(loss);
      ok = GradCheckUtil.checkGradients(
          sd, Map.of("ids", ids(0, 1, 0, 1)),
          1e-6, 1e-5, 1e-9, false, false, false, false, null, null,
          // each forward pass costs ~50 ms of SameDiff overhead: 5 evenly spread entries of
          // every array (all of q, k and v in the qkv weight) instead of all ~1,100
          5, GradCheckUtil.Subset.EVERY_N);
    } finally {
      Nd4j.setDefaultDataTypes(before, before);
    }
    assertThat(ok).isTrue();
  }

  /**
   * A tiny ViT memorises a fixed batch: 4 captions × 2 random "views", StableRep's loss on the
   * class token, AdamW in an own calculateGradients loop. With two views per caption the loss
   * floor is 0, so a 5x drop means the pairs really were pulled together.
   */
  @Test
  void overfitsAFixedBatchWithAdamW() {
    VisionTransformer vit = VisionTransformer.builder().imageSize(8).patchSize(4).width(16).depth(1).heads(2)
        .seed(1).build();
    SameDiff sd = SameDiff.create();
    VitGraph g = vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 8, 8));
    SDVariable idv = sd.placeHolder("ids", DataType.INT64, -1);
    SDVariable loss = MultiPositiveContrastiveLoss.builder().build().define(sd, "loss", g.classToken(), idv);
    sd.setLossVariables(loss);
    Map<String, INDArray> batch = Map.of(
        "images", images(8, 8, 8, 2, DataType.FLOAT), "ids", ids(0, 1, 2, 3, 0, 1, 2, 3));
    AdamW adamW = AdamW.builder().learningRate(1e-2).weightDecay(0.0).build();
    String[] params = g.variableNames().toArray(new String[0]);
    double first = sd.output(batch, "loss").get("loss").getDouble(0);
    for (int step = 0; step < 35; step++) {
      adamW.step(sd, sd.calculateGradients(batch, params));
    }
    double last = sd.output(batch, "loss").get("loss").getDouble(0);
    System.out.printf("vit overfit: loss %.4f -> %.4f%n", first, last);
    assertThat(last).isLessThan(first / 5);
  }

  /**
   * {@link io.github.stablerep.core.train.Gradients#calculate} (array reuse on) gives
   * sd.calculateGradients' gradients bit for bit on a ViT training graph with drop path and
   * dropout, over steps where the cache is warm and the weights change in between.
   */
  @Test
  void gradientsWithArrayReuseEqualCalculateGradients() {
    VisionTransformer vit = VisionTransformer.builder().imageSize(8).patchSize(4).width(8).depth(2).heads(2)
        .mlpRatio(2).dropPathRate(0.2).dropout(0.1).attentionDropout(0.1).seed(4).build();
    SameDiff[] sds = new SameDiff[2];
    VitGraph g = null;
    for (int k = 0; k < 2; k++) {
      sds[k] = SameDiff.create();
      g = vit.define(sds[k], sds[k].placeHolder("images", DataType.FLOAT, -1, 3, 8, 8), true);
      SDVariable idv = sds[k].placeHolder("ids", DataType.INT64, -1);
      sds[k].setLossVariables(MultiPositiveContrastiveLoss.builder().build().define(sds[k], g.classToken(), idv));
    }
    for (int step = 0; step < 3; step++) {
      Map<String, INDArray> feed = new java.util.HashMap<>(g.noiseFeed(4, step));
      feed.put("images", images(4, 8, 8, 20 + step, DataType.FLOAT));
      feed.put("ids", ids(0, 1, 0, 1));
      Map<String, INDArray> expected = sds[0].calculateGradients(feed, g.variableNames());
      Map<String, INDArray> actual = io.github.stablerep.core.train.Gradients.calculate(sds[1], feed, g.variableNames());
      assertThat(actual.keySet()).isEqualTo(expected.keySet());
      for (String n : g.variableNames()) {
        assertThat(actual.get(n).dup().data().asFloat()).as("%s, step %s", n, step)
            .containsExactly(expected.get(n).dup().data().asFloat());
        sds[0].getArrForVarName(n).subi(expected.get(n).mul(0.5));
        sds[1].getArrForVarName(n).subi(actual.get(n).mul(0.5));
      }
    }
  }
}
