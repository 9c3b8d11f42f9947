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
   * {@code TrainStep} (gradients with array reuse, the ViT's noise fed by the step) gives bit
   * for bit the weights of a loop of sd.calculateGradients and AdamW fed with {@code
   * noiseFeed(n, step)}, on a training graph with drop path and dropout, over steps where the
   * cache is warm and the weights change in between.
   */
  @Test
  void trainStepEqualsCalculateGradientsLoop() {
    VisionTransformer vit = VisionTransformer.builder().imageSize(8).patchSize(4).width(8).depth(2).heads(2)
        .mlpRatio(2).dropPathRate(0.2).dropout(0.1).attentionDropout(0.1).seed(4).build();
    SameDiff[] sds = new SameDiff[2];
    VitGraph[] gs = new VitGraph[2];
    for (int k = 0; k < 2; k++) {
      sds[k] = SameDiff.create();
      gs[k] = vit.define(sds[k], sds[k].placeHolder("images", DataType.FLOAT, -1, 3, 8, 8), true);
      SDVariable idv = sds[k].placeHolder("ids", DataType.INT64, -1);
      sds[k].setLossVariables(MultiPositiveContrastiveLoss.builder().build().define(sds[k], gs[k].classToken(), idv));
    }
    AdamW reference = AdamW.builder().learningRate(0.01).build();
    io.github.stablerep.core.train.TrainStep step = io.github.stablerep.core.train.TrainStep.builder()
        .graph(sds[1]).parts(gs[1]).optimizer(AdamW.builder().learningRate(0.01).build()).build();
    for (int s = 0; s < 3; s++) {
      Map<String, INDArray> batch = Map.of("images", images(4, 8, 8, 20 + s, DataType.FLOAT), "ids", ids(0, 1, 0, 1));
      Map<String, INDArray> feed = new java.util.HashMap<>(gs[0].noiseFeed(4, s));
      feed.putAll(batch);
      reference.step(sds[0], sds[0].calculateGradients(feed, gs[0].variableNames()));
      step.run(batch);
      for (String n : gs[0].variableNames()) {
        assertThat(sds[1].getArrForVarName(n).dup().data().asFloat()).as("%s, step %s", n, s)
            .containsExactly(sds[0].getArrForVarName(n).dup().data().asFloat());
      }
    }
  }
}
