package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class DropPathTest {

  static VisionTransformer.Builder tiny() {
    return VisionTransformer.builder().imageSize(8).patchSize(4).width(8).depth(4).heads(2).mlpRatio(2).seed(7);
  }

  /** Images from java.util.Random (Nd4j.randn(seed, ...) is not repeatable). */
  static INDArray images(int n, long seed) {
    Random rng = new Random(seed);
    double[] v = new double[n * 3 * 8 * 8];
    for (int i = 0; i < v.length; i++) {
      v[i] = rng.nextGaussian();
    }
    return Nd4j.createFromArray(v).reshape(n, 3, 8, 8).castTo(DataType.FLOAT);
  }

  record Run(SameDiff sd, VitGraph g) {}

  static Run define(VisionTransformer vit, boolean training) {
    SameDiff sd = SameDiff.create();
    VitGraph g = vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 8, 8), training);
    return new Run(sd, g);
  }

  static INDArray tokens(Run r, INDArray x) {
    return r.sd().output(Map.of("images", x), r.g().tokens().name()).get(r.g().tokens().name());
  }

  static Map<String, INDArray> feeds(Run r, INDArray x, long seed) {
    Map<String, INDArray> m = new java.util.HashMap<>(r.g().noiseFeed((int) x.size(0), seed));
    m.put("images", x);
    return m;
  }

  @Test
  void blockRatesAreLinearlySpacedFromZero() {
    VisionTransformer vit = tiny().dropPathRate(0.3).build();
    assertThat(new double[] {vit.blockDropPathRate(0), vit.blockDropPathRate(1), vit.blockDropPathRate(2),
        vit.blockDropPathRate(3)}).containsExactly(new double[] {0.0, 0.1, 0.2, 0.3}, org.assertj.core.data.Offset.offset(1e-15));
    assertThat(tiny().depth(1).dropPathRate(0.5).build().blockDropPathRate(0)).isZero();
    assertThat(vit.toBuilder().build().dropPathRate()).isEqualTo(0.3);
  }

  @Test
  void builderRejectsRatesOutsideZeroToOne() {
    for (double bad : new double[] {-0.1, 1.0, Double.NaN}) {
      assertThatThrownBy(() -> tiny().dropPathRate(bad).build())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("dropPathRate").hasMessageContaining("[0, 1)").hasMessageContaining(String.valueOf(bad));
    }
  }

  @Test
  void inferenceAndRateZeroAreTheCurrentGraphBitForBit() {
    INDArray x = images(3, 1);
    Run plain = new Run(SameDiff.create(), null);
    VisionTransformer base = tiny().build();
    VitGraph g = base.define(plain.sd(), plain.sd().placeHolder("images", DataType.FLOAT, -1, 3, 8, 8));
    INDArray expected = tokens(new Run(plain.sd(), g), x);
    int ops = plain.sd().getOps().size();

    List<Run> same = new ArrayList<>();
    same.add(define(tiny().dropPathRate(0.5).build(), false));   // inference with a rate
    same.add(define(tiny().build(), true));                       // training with rate 0
    for (Run r : same) {
      assertThat(r.g().dropPathMasks()).isEmpty();
      assertThat(r.g().noiseFeed(3, 1)).isEmpty();
      assertThat(r.sd().getOps()).hasSize(ops);
      assertThat(tokens(r, x)).isEqualTo(expected);
    }
  }

  @Test
  void trainingDropsEachSampleWithItsBlockRate() {
    int n = 4000;
    VisionTransformer vit = tiny().dropPathRate(0.6).build();  // block rates 0, 0.2, 0.4, 0.6
    Run r = define(vit, true);
    List<SDVariable> masks = r.g().dropPathMasks();
    assertThat(masks).hasSize(6);  // blocks 1..3, two branches each; block 0's rate is 0
    String[] names = masks.stream().map(SDVariable::name).toArray(String[]::new);
    Map<String, INDArray> out = r.sd().output(feeds(r, images(n, 2), 42), names);
    for (int m = 0; m < masks.size(); m++) {
      double rate = vit.blockDropPathRate(1 + m / 2);
      INDArray mask = out.get(names[m]);
      assertThat(mask.shape()).containsExactly(n, 1, 1);
      double[] v = mask.castTo(DataType.DOUBLE).data().asDouble();
      int dropped = 0;
      for (double e : v) {
        if (e == 0.0) {
          dropped++;
        } else {
          assertThat(e).as(names[m]).isCloseTo(1.0 / (1.0 - rate), org.assertj.core.data.Offset.offset(1e-6));
        }
      }
      // binomial bounds: 5 standard deviations around n·rate
      double sd = Math.sqrt(n * rate * (1 - rate));
      assertThat((double) dropped).as("dropped samples of %s (rate %s)", names[m], rate)
          .isBetween(n * rate - 5 * sd, n * rate + 5 * sd);
    }
    // the same seed gives the same masks, another seed others; the branches draw independently
    assertThat(r.sd().output(feeds(r, images(n, 2), 42), names[0]).get(names[0])).isEqualTo(out.get(names[0]));
    assertThat(r.sd().output(feeds(r, images(n, 2), 43), names[0]).get(names[0])).isNotEqualTo(out.get(names[0]));
    assertThat(out.get(names[0])).isNotEqualTo(out.get(names[1]));
  }

  @Test
  void aDroppedBranchContributesExactlyZeroForThatSample() {
    int n = 16;
    VisionTransformer vit = tiny().dropPathRate(0.5).build();
    Run r = define(vit, true);
    String key = "vit_blocks.3.drop_path2";
    Map<String, INDArray> out = r.sd().output(feeds(r, images(n, 4), 3), key, key + ".mask");
    INDArray mask = out.get(key + ".mask").reshape(n);
    INDArray branch = out.get(key).reshape(n, -1);  // [N·T, D] -> one row per sample
    int dropped = 0;
    for (int i = 0; i < n; i++) {
      INDArray row = branch.getRow(i);
      if (mask.getDouble(i) == 0.0) {
        dropped++;
        assertThat(row.amaxNumber().doubleValue()).as("sample %s", i).isEqualTo(0.0);
      } else {
        assertThat(row.amaxNumber().doubleValue()).as("sample %s", i).isGreaterThan(0.0);
      }
    }
    assertThat(dropped).as("both outcomes occur at rate 0.5 over %s samples", n).isBetween(1, n - 1);
  }

  @Test
  void trainingGraphHasGradients() {
    VisionTransformer vit = tiny().dropPathRate(0.3).build();
    Run r = define(vit, true);
    SDVariable loss = r.g().classToken().mul(r.g().classToken()).sum();
    r.sd().setLossVariables(loss);
    Map<String, INDArray> grads = r.sd().calculateGradients(feeds(r, images(4, 6), 5), r.g().variableNames());
    assertThat(grads).hasSize(r.g().variableNames().size());
    for (INDArray gr : grads.values()) {
      assertThat(gr.isInfinite().any() || gr.isNaN().any()).isFalse();
    }
  }
}
