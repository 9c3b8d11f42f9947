package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.validation.GradCheckUtil;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** timm's dropout ({@code drop_rate}, {@code attn_drop_rate}) in training graphs. */
class DropoutTest {

  static final String[] SITES = {
    "vit_pos_drop", "vit_blocks.0.attn_drop", "vit_blocks.0.attn.proj_drop", "vit_blocks.0.mlp.drop1",
    "vit_blocks.0.mlp.drop2"
  };

  static VisionTransformer.Builder tiny() {
    return DropPathTest.tiny().depth(1);
  }

  static Map<String, INDArray> feeds(VitGraph g, INDArray x, long seed) {
    Map<String, INDArray> m = new HashMap<>(g.noiseFeed((int) x.size(0), seed));
    m.put("images", x);
    return m;
  }

  @Test
  void builderValidatesAndKeepsTheRates() {
    for (double bad : new double[] {-0.1, 1.0, Double.NaN}) {
      assertThatThrownBy(() -> tiny().dropout(bad).build()).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("dropout").hasMessageContaining("[0, 1)").hasMessageContaining(String.valueOf(bad));
      assertThatThrownBy(() -> tiny().attentionDropout(bad).build()).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("attentionDropout").hasMessageContaining("[0, 1)")
          .hasMessageContaining(String.valueOf(bad));
    }
    VisionTransformer vit = tiny().dropout(0.1).attentionDropout(0.2).build();
    assertThat(vit.toBuilder().build().dropout()).isEqualTo(0.1);
    assertThat(vit.toBuilder().build().attentionDropout()).isEqualTo(0.2);
    assertThat(VisionTransformer.builder().build().dropout()).isZero();
    assertThat(VisionTransformer.builder().build().attentionDropout()).isZero();
  }

  @Test
  void rateZeroAndInferenceAreTheIdentity() {
    INDArray x = DropPathTest.images(3, 1);
    DropPathTest.Run base = DropPathTest.define(tiny().build(), false);
    INDArray expected = DropPathTest.tokens(base, x);
    int ops = base.sd().getOps().size();
    for (DropPathTest.Run r : List.of(
        DropPathTest.define(tiny().dropout(0.5).attentionDropout(0.5).build(), false),
        DropPathTest.define(tiny().dropout(0).attentionDropout(0).build(), true))) {
      assertThat(r.g().noisePlaceholders()).isEmpty();
      assertThat(r.g().noiseFeed(3, 1)).isEmpty();
      assertThat(r.sd().getOps()).hasSize(ops);
      assertThat(DropPathTest.tokens(r, x)).isEqualTo(expected);
    }
  }

  /**
   * Every site's mask is 0 or 1/keep elementwise, drops a fraction close to its rate, and has
   * mean 1 (so the expectation of the activation is unchanged). With identical images in the
   * batch, each element's kept values all equal one clean value times 1/keep and the dropped
   * ones are exactly 0.
   */
  @Test
  void masksDropEachElementWithItsRateAndKeepTheExpectation() {
    int n = 64;
    double rate = 0.3;
    double attnRate = 0.6;
    VisionTransformer vit = tiny().dropout(rate).attentionDropout(attnRate).build();
    DropPathTest.Run r = DropPathTest.define(vit, true);
    assertThat(r.g().noisePlaceholders()).hasSize(SITES.length);
    INDArray one = DropPathTest.images(1, 3);
    INDArray x = Nd4j.concat(0, java.util.Collections.nCopies(n, one).toArray(new INDArray[0]));
    String[] names = new String[2 * SITES.length];
    for (int s = 0; s < SITES.length; s++) {
      names[2 * s] = SITES[s];
      names[2 * s + 1] = SITES[s] + ".mask";
    }
    Map<String, INDArray> out = r.sd().output(feeds(r.g(), x, 9), names);
    int t = vit.tokenCount();
    long[][] shapes = {{n * t, 8}, {n, 2, t, t}, {n * t, 8}, {n * t, 16}, {n * t, 8}};
    for (int s = 0; s < SITES.length; s++) {
      double p = s == 1 ? attnRate : rate;
      INDArray mask = out.get(SITES[s] + ".mask");
      assertThat(mask.shape()).as(SITES[s]).containsExactly(shapes[s]);
      double[] m = mask.castTo(DataType.DOUBLE).data().asDouble();
      int dropped = 0;
      double sum = 0;
      for (double e : m) {
        if (e == 0.0) {
          dropped++;
        } else {
          assertThat(e).as(SITES[s]).isCloseTo(1.0 / (1.0 - p), Offset.offset(1e-6));
        }
        sum += e;
      }
      double sdDropped = Math.sqrt(m.length * p * (1 - p));
      assertThat((double) dropped).as("dropped in %s (rate %s)", SITES[s], p)
          .isBetween(m.length * p - 5 * sdDropped, m.length * p + 5 * sdDropped);
      double sdMean = Math.sqrt(p / (1 - p) / m.length);  // std of the mean of Bernoulli(keep)/keep
      assertThat(sum / m.length).as("mean mask of %s", SITES[s]).isCloseTo(1.0, Offset.offset(5 * sdMean));
    }
    // pos_drop sees the same clean tokens for every (identical) image
    INDArray posOut = out.get(SITES[0]).reshape(n, (long) t * 8);
    INDArray posMask = out.get(SITES[0] + ".mask").reshape(n, (long) t * 8);
    for (int e = 0; e < t * 8; e++) {
      double clean = Double.NaN;
      for (int i = 0; i < n; i++) {
        double mi = posMask.getDouble(i, e);
        double yi = posOut.getDouble(i, e);
        if (mi == 0.0) {
          assertThat(yi).isEqualTo(0.0);
        } else if (Double.isNaN(clean)) {
          clean = yi / mi;
        } else {
          assertThat(yi / mi).as("element %s of image %s", e, i).isCloseTo(clean, Offset.offset(1e-5 * (1 + Math.abs(clean))));
        }
      }
    }
  }

  @Test
  void theSameSeedGivesTheSameOutputAndDropPathDrawsAreUnchanged() {
    INDArray x = DropPathTest.images(4, 5);
    DropPathTest.Run r = DropPathTest.define(tiny().dropout(0.2).attentionDropout(0.2).build(), true);
    String tok = r.g().tokens().name();
    INDArray a = r.sd().output(feeds(r.g(), x, 1), tok).get(tok);
    INDArray b = r.sd().output(feeds(r.g(), x, 1), tok).get(tok);
    INDArray c = r.sd().output(feeds(r.g(), x, 2), tok).get(tok);
    assertThat(b).isEqualTo(a);
    assertThat(c).isNotEqualTo(a);
    // adding dropout to a drop-path graph leaves its drop-path noise for a seed as it was
    VitGraph pathOnly = DropPathTest.define(DropPathTest.tiny().dropPathRate(0.3).build(), true).g();
    VitGraph both = DropPathTest.define(DropPathTest.tiny().dropPathRate(0.3).dropout(0.1).build(), true).g();
    assertThat(both.noiseFeed(4, 8).get("vit_drop_path_noise")).isEqualTo(pathOnly.noiseFeed(4, 8).get("vit_drop_path_noise"));
    assertThat(both.noisePlaceholders()).hasSize(1 + 1 + 4 * 3);  // drop path, pos_drop, 3 per block
  }

  /** Central differences in double through every dropout site, the noise fixed by the feed. */
  @Test
  void gradientsPassFiniteDifferenceCheckInDouble() {
    DataType before = Nd4j.dataType();
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    boolean ok;
    try {
      VisionTransformer vit = VisionTransformer.builder().imageSize(8, 4).patchSize(4).width(8).depth(1).heads(2)
          .mlpRatio(2).dataType(DataType.DOUBLE).dropout(0.3).attentionDropout(0.3).seed(3).build();
      SameDiff sd = SameDiff.create();
      SDVariable x = sd.var("images", VitTrainingTest.images(4, 8, 4, 11, DataType.DOUBLE));
      SDVariable idv = sd.placeHolder("ids", DataType.INT64, -1);
      VitGraph g = vit.define(sd, x, true);
      VitTrainingTest.perturbWeights(sd, g, 5);
      SDVariable loss = MultiPositiveContrastiveLoss.builder().temperature(0.5).build().define(sd, g.classToken(), idv);
      sd.setLossVariables(loss);
      // GradCheckUtil differentiates every floating placeholder, so the fixed noise becomes constants
      List<SDVariable> noise = new java.util.ArrayList<>();
      for (Map.Entry<String, INDArray> e : g.noiseFeed(4, 17).entrySet()) {
        SDVariable p = sd.getVariable(e.getKey());
        p.setArray(e.getValue());
        noise.add(p);
      }
      assertThat(noise).hasSize(SITES.length);
      sd.convertToConstants(noise);
      ok = GradCheckUtil.checkGradients(
          sd, Map.of("ids", VitTrainingTest.ids(0, 1, 0, 1)), 1e-6, 1e-5, 1e-9, false, false, false, false, null, null, 5, GradCheckUtil.Subset.EVERY_N);
    } finally {
      Nd4j.setDefaultDataTypes(before, before);
    }
    assertThat(ok).isTrue();
  }
}
