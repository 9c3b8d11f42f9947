package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class VisionTransformerTest {

  @Test
  void defaultsAreVitB16At224() {
    VisionTransformer vit = VisionTransformer.builder().build();
    assertThat(vit.preset()).isEqualTo(VitPreset.B_16);
    assertThat(vit.width()).isEqualTo(768);
    assertThat(vit.depth()).isEqualTo(12);
    assertThat(vit.heads()).isEqualTo(12);
    assertThat(vit.patchSize()).isEqualTo(16);
    assertThat(vit.mlpDim()).isEqualTo(3072);
    assertThat(vit.tokenCount()).isEqualTo(197);
    assertThat(vit.qkvBias()).isTrue();
    assertThat(vit.layerNormEps()).isEqualTo(1e-6);
    assertThat(vit.pooling()).isEqualTo(Pooling.CLASS_TOKEN);
    long params = vit.parameters().stream()
        .mapToLong(p -> java.util.Arrays.stream(p.shape()).reduce(1, (a, b) -> a * b)).sum();
    // timm's vit_base_patch16_224 without its 1000-class head: 86,567,656 - 769,000
    assertThat(params).isEqualTo(85_798_656L);
  }

  @Test
  void presetsAndOverridesInAnyOrder() {
    assertThat(VisionTransformer.builder().preset(VitPreset.L_16).build().depth()).isEqualTo(24);
    VisionTransformer a = VisionTransformer.builder().width(96).preset(VitPreset.S_16).build();
    assertThat(a.width()).isEqualTo(96);
    assertThat(a.heads()).isEqualTo(6);
    VisionTransformer b = a.toBuilder().preset(VitPreset.TI_16).build();
    assertThat(b.width()).isEqualTo(96);
    assertThat(b.heads()).isEqualTo(3);
    assertThat(b.toString()).isEqualTo(b.toBuilder().build().toString());
  }

  @Test
  void buildNamesTheFieldTheRangeAndTheValue() {
    assertThatThrownBy(() -> VisionTransformer.builder().imageSize(100).build())
        .hasMessage("imageSize: expected a height that is a positive multiple of the patch size 16, found 100");
    assertThatThrownBy(() -> VisionTransformer.builder().imageSize(224, 232).patchSize(16).build())
        .hasMessageContaining("imageSize: expected a width").hasMessageContaining("found 232");
    assertThatThrownBy(() -> VisionTransformer.builder().heads(5).build())
        .hasMessage("heads: expected >= 1 and dividing width 768, found 5");
    assertThatThrownBy(() -> VisionTransformer.builder().depth(0).build())
        .hasMessage("depth: expected >= 1, found 0");
    assertThatThrownBy(() -> VisionTransformer.builder().layerNormEps(0).build())
        .hasMessageStartingWith("layerNormEps: expected a finite value > 0").hasMessageEndingWith("found 0.0");
    assertThatThrownBy(() -> VisionTransformer.builder().mlpRatio(Double.NaN).build())
        .hasMessageStartingWith("mlpRatio:");
    assertThatThrownBy(() -> VisionTransformer.builder().dataType(DataType.BFLOAT16).build())
        .hasMessage("dataType: expected FLOAT or DOUBLE, found BFLOAT16");
    assertThatThrownBy(() -> VisionTransformer.builder().pooling(null).build())
        .hasMessageStartingWith("pooling:");
  }

  static VisionTransformer tiny() {
    return VisionTransformer.builder().imageSize(8, 12).patchSize(4).width(8).depth(1).heads(2).mlpRatio(2).build();
  }

  static INDArray images(int n, int h, int w, long seed) {
    Random rng = new Random(seed);
    double[] d = new double[n * 3 * h * w];
    for (int i = 0; i < d.length; i++) {
      d[i] = rng.nextGaussian();
    }
    return Nd4j.createFromArray(d).reshape(n, 3, h, w).castTo(DataType.FLOAT);
  }

  @Test
  void outputsHaveTheDocumentedShapesAndTheClassTokenIsTokenZero() {
    VisionTransformer vit = tiny().toBuilder().pooling(Pooling.MEAN).build();
    SameDiff sd = SameDiff.create();
    VitGraph g = vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 8, 12));
    Map<String, INDArray> out = sd.output(
        Map.of("images", images(3, 8, 12, 1)), g.tokens().name(), g.classToken().name(), g.pooled().name());
    INDArray tokens = out.get(g.tokens().name());
    assertThat(tokens.shape()).containsExactly(3, 7, 8);
    assertThat(out.get(g.classToken().name()))
        .isEqualTo(tokens.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(0),
            org.nd4j.linalg.indexing.NDArrayIndex.all()));
    INDArray patchMean = tokens.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 7), org.nd4j.linalg.indexing.NDArrayIndex.all()).mean(1);
    assertThat(out.get(g.pooled().name()).sub(patchMean).amaxNumber().doubleValue()).isLessThan(1e-6);
    assertThat(g.variableNames()).hasSize(vit.parameters().size()).contains("vit.blocks.0.attn.qkv.weight");
  }

  @Test
  void initialisationIsSeededAndFollowsTimm() {
    SameDiff a = SameDiff.create();
    SameDiff b = SameDiff.create();
    VisionTransformer vit = VisionTransformer.builder().imageSize(32).patchSize(4).width(64).depth(2).heads(4).seed(9).build();
    vit.define(a, a.placeHolder("x", DataType.FLOAT, -1, 3, 32, 32));
    vit.define(b, b.placeHolder("x", DataType.FLOAT, -1, 3, 32, 32));
    assertThat(a.getVariable("vit.blocks.1.mlp.fc2.weight").getArr())
        .isEqualTo(b.getVariable("vit.blocks.1.mlp.fc2.weight").getArr());
    INDArray fc1 = a.getVariable("vit.blocks.0.mlp.fc1.weight").getArr();
    assertThat(fc1.stdNumber().doubleValue()).isBetween(0.019, 0.021);
    assertThat(a.getVariable("vit.blocks.0.mlp.fc1.bias").getArr().amaxNumber().doubleValue()).isZero();
    assertThat(a.getVariable("vit.norm.weight").getArr().minNumber().doubleValue()).isEqualTo(1.0);
    assertThat(a.getVariable("vit.cls_token").getArr().amaxNumber().doubleValue()).isLessThan(1e-5);
    SameDiff c = SameDiff.create();
    vit.toBuilder().seed(10).build().define(c, c.placeHolder("x", DataType.FLOAT, -1, 3, 32, 32));
    assertThat(c.getVariable("vit.blocks.1.mlp.fc2.weight").getArr())
        .isNotEqualTo(a.getVariable("vit.blocks.1.mlp.fc2.weight").getArr());
  }

  @Test
  void twoModelsShareAGraphUnderDifferentNamesButNotTheSameName() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 3, 8, 12);
    tiny().define(sd, x);
    tiny().toBuilder().name("teacher").build().define(sd, x);
    assertThat(sd.hasVariable("teacher.cls_token")).isTrue();
    assertThatThrownBy(() -> tiny().define(sd, x))
        .hasMessage("name: expected a prefix not yet used in sd, found variable 'vit.cls_token' already defined");
    assertThatThrownBy(() -> tiny().define(SameDiff.create(), SameDiff.create().placeHolder("y", DataType.FLOAT, -1, 3, 8, 8)))
        .hasMessage("images: expected shape [N, 3, 8, 12], found [-1, 3, 8, 8]");
  }

  @Test
  void imagesInABatchDoNotInteract() {
    VisionTransformer vit = tiny();
    SameDiff sd = SameDiff.create();
    VitGraph g = vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 8, 12));
    INDArray both = images(2, 8, 12, 4);
    String out = g.classToken().name();
    INDArray together = sd.output(Map.of("images", both), out).get(out);
    for (int i = 0; i < 2; i++) {
      INDArray one = both.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(i, i + 1)).dup();
      INDArray alone = sd.output(Map.of("images", one), out).get(out);
      assertThat(alone.sub(together.getRow(i).reshape(1, 8)).amaxNumber().doubleValue()).isLessThan(1e-6);
    }
  }

  @Test
  void withoutQkvBiasThereIsNoQkvBiasVariableOrKey() {
    VisionTransformer vit = tiny().toBuilder().qkvBias(false).build();
    SameDiff sd = SameDiff.create();
    VitGraph g = vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 8, 12));
    assertThat(g.variableNames()).doesNotContain("vit.blocks.0.attn.qkv.bias").contains("vit.blocks.0.attn.proj.bias");
    Map<String, INDArray> w = vit.exportWeights(sd, WeightLayout.TIMM);
    assertThat(w).doesNotContainKey("blocks.0.attn.qkv.bias");
    vit.importWeights(sd, w, WeightLayout.TIMM);
    String out = g.classToken().name();
    assertThat(sd.output(Map.of("images", images(2, 8, 12, 5)), out).get(out).shape()).containsExactly(2, 8);
  }
}
