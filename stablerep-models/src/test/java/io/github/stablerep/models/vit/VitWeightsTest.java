package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class VitWeightsTest {

  static VisionTransformer tiny(long seed) {
    return VisionTransformer.builder().imageSize(8, 12).patchSize(4).width(8).depth(2).heads(2)
        .mlpRatio(2).seed(seed).build();
  }

  static SameDiff defined(VisionTransformer vit) {
    SameDiff sd = SameDiff.create();
    vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, vit.imageHeight(), vit.imageWidth()));
    return sd;
  }

  static Map<String, INDArray> copies(SameDiff sd, VitGraph g) {
    Map<String, INDArray> m = new LinkedHashMap<>();
    for (String n : g.variableNames()) {
      m.put(n, sd.getVariable(n).getArr().dup());
    }
    return m;
  }

  @ParameterizedTest
  @EnumSource(WeightLayout.class)
  void exportThenImportIsTheIdentity(WeightLayout layout) {
    VisionTransformer a = tiny(1);
    SameDiff sdA = defined(a);
    VisionTransformer b = tiny(2);
    SameDiff sdB = SameDiff.create();
    VitGraph gB = b.define(sdB, sdB.placeHolder("images", DataType.FLOAT, -1, 3, 8, 12));
    Map<String, INDArray> exported = a.exportWeights(sdA, layout);
    b.importWeights(sdB, exported, layout);
    for (String n : gB.variableNames()) {
      assertThat(sdB.getVariable(n).getArr()).as(n).isEqualTo(sdA.getVariable(n).getArr());
    }
    assertThat(b.exportWeights(sdB, layout)).isEqualTo(exported);
  }

  @Test
  void layoutsUsePyTorchShapesAndNames() {
    VisionTransformer vit = tiny(3);
    SameDiff sd = defined(vit);
    Map<String, INDArray> timm = vit.exportWeights(sd, WeightLayout.TIMM);
    Map<String, INDArray> tv = vit.exportWeights(sd, WeightLayout.TORCHVISION);
    assertThat(timm.get("patch_embed.proj.weight").shape()).containsExactly(8, 3, 4, 4);
    assertThat(timm.get("blocks.1.attn.qkv.weight").shape()).containsExactly(24, 8);
    assertThat(timm.get("blocks.0.mlp.fc1.weight").shape()).containsExactly(16, 8);
    assertThat(timm.get("pos_embed").shape()).containsExactly(1, 7, 8);
    assertThat(tv.get("conv_proj.weight")).isEqualTo(timm.get("patch_embed.proj.weight"));
    assertThat(tv.get("encoder.layers.encoder_layer_1.self_attention.in_proj_weight"))
        .isEqualTo(timm.get("blocks.1.attn.qkv.weight"));
    assertThat(tv.get("encoder.layers.encoder_layer_0.mlp.3.weight")).isEqualTo(timm.get("blocks.0.mlp.fc2.weight"));
    assertThat(tv.get("encoder.ln.bias")).isEqualTo(timm.get("norm.bias"));
    assertThat(tv).hasSameSizeAs(timm);
    // a Linear weight is our [in, out] transposed; the conv is YXIO permuted to OIYX
    INDArray ours = sd.getVariable("vit.blocks.0.mlp.fc1.weight").getArr();
    assertThat(timm.get("blocks.0.mlp.fc1.weight").getDouble(5, 3)).isEqualTo(ours.getDouble(3, 5));
    INDArray conv = sd.getVariable("vit.patch_embed.proj.weight").getArr();
    assertThat(timm.get("patch_embed.proj.weight").getDouble(6, 2, 1, 3)).isEqualTo(conv.getDouble(1, 3, 2, 6));
  }

  @Test
  void laterTorchvisionMlpNamesAreAccepted() {
    VisionTransformer vit = tiny(4);
    SameDiff sd = defined(vit);
    Map<String, INDArray> renamed = new LinkedHashMap<>();
    vit.exportWeights(sd, WeightLayout.TORCHVISION).forEach((k, v) ->
        renamed.put(k.replace(".mlp.0.", ".mlp.linear_1.").replace(".mlp.3.", ".mlp.linear_2."), v.mul(2)));
    vit.importWeights(sd, renamed, WeightLayout.TORCHVISION);
    assertThat(vit.exportWeights(sd, WeightLayout.TORCHVISION).get("encoder.layers.encoder_layer_1.mlp.3.bias"))
        .isEqualTo(renamed.get("encoder.layers.encoder_layer_1.mlp.linear_2.bias"));
  }

  @Test
  void everyOffendingKeyIsReportedAtOnceAndNothingChanges() {
    VisionTransformer vit = tiny(5);
    SameDiff sd = SameDiff.create();
    VitGraph g = vit.define(sd, sd.placeHolder("x", DataType.FLOAT, -1, 3, 8, 12));
    Map<String, INDArray> before = copies(sd, g);
    Map<String, INDArray> w = new LinkedHashMap<>(vit.exportWeights(sd, WeightLayout.TIMM));
    w.replaceAll((k, v) -> v.add(1));
    w.remove("blocks.0.norm2.bias");
    w.remove("cls_token");
    w.put("blocks.1.attn.qkv.weight", Nd4j.zeros(DataType.FLOAT, 8, 24));
    w.put("blocks.7.mlp.fc1.weight", Nd4j.zeros(DataType.FLOAT, 3));
    w.put("head.weight", Nd4j.zeros(DataType.FLOAT, 10, 8));

    assertThatThrownBy(() -> vit.importWeights(sd, w, WeightLayout.TIMM))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2 missing, 1 mis-shaped, 1 unexpected, 1 ignored")
        .hasMessageContaining("missing 'blocks.0.norm2.bias': expected shape [8], found none")
        .hasMessageContaining("missing 'cls_token': expected shape [1, 1, 8]")
        .hasMessageContaining("mis-shaped 'blocks.1.attn.qkv.weight': expected shape [24, 8] (floating point), found [8, 24]")
        .hasMessageContaining("unexpected 'blocks.7.mlp.fc1.weight'")
        .hasMessageNotContaining("head.weight");
    assertThat(copies(sd, g)).isEqualTo(before);
  }

  @Test
  void importNeedsTheModelDefinedInTheGraph() {
    VisionTransformer vit = tiny(6);
    Map<String, INDArray> w = vit.exportWeights(defined(vit), WeightLayout.TIMM);
    assertThatThrownBy(() -> vit.importWeights(SameDiff.create(), w, WeightLayout.TIMM))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'vit.cls_token'");
  }

  @Test
  void importCastsToTheVariableType() {
    VisionTransformer vit = tiny(7);
    SameDiff sd = defined(vit);
    Map<String, INDArray> w = new LinkedHashMap<>();
    Random rng = new Random(7);
    vit.exportWeights(sd, WeightLayout.TIMM).forEach((k, v) -> {
      double[] d = new double[(int) v.length()];
      for (int i = 0; i < d.length; i++) {
        d[i] = rng.nextGaussian();
      }
      w.put(k, Nd4j.createFromArray(d).reshape(v.shape()));
    });
    vit.importWeights(sd, w, WeightLayout.TIMM);
    INDArray norm = sd.getVariable("vit.norm.weight").getArr();
    assertThat(norm.dataType()).isEqualTo(DataType.FLOAT);
    assertThat(norm).isEqualTo(w.get("norm.weight").castTo(DataType.FLOAT));
  }
}
