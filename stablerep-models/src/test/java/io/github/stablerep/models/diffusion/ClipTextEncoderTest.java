package io.github.stablerep.models.diffusion;

import io.github.stablerep.models.WeightReport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Configuration, weight loading reports and the activation of {@link ClipTextEncoder}. */
class ClipTextEncoderTest {

  @TempDir Path tmp;

  static ClipTextEncoder tiny() {
    return ClipTextEncoder.builder().vocabSize(50).hiddenSize(8).intermediateSize(16).layers(1).heads(2).maxPositions(6).build();
  }

  @Test
  void defaultsAreStableDiffusion15() {
    ClipTextEncoder enc = ClipTextEncoder.builder().build();
    assertThat(enc.hiddenSize()).isEqualTo(768);
    assertThat(enc.layers()).isEqualTo(12);
    assertThat(enc.heads()).isEqualTo(12);
    assertThat(enc.maxPositions()).isEqualTo(77);
    assertThat(enc.activation()).isEqualTo(ClipTextEncoder.Activation.QUICK_GELU);
    // transformers' CLIPTextModel for openai/clip-vit-large-patch14 (SD v1.x's text encoder)
    assertThat(enc.parameterCount()).isEqualTo(123_060_480L);
  }

  @Test
  void configErrorsNameTheFileAndKey() throws Exception {
    Path cfg = tmp.resolve("config.json");
    Files.writeString(cfg, "{\"hidden_act\": \"relu\"}");
    assertThatThrownBy(() -> ClipTextEncoder.fromConfig(cfg)).hasMessageContaining(cfg.toString())
        .hasMessageContaining("hidden_act").hasMessageContaining("relu");
    Files.writeString(cfg, "{\"hidden_size\": 30, \"num_attention_heads\": 4}");
    assertThatThrownBy(() -> ClipTextEncoder.fromConfig(cfg)).hasMessageContaining(cfg.toString())
        .hasMessageContaining("heads").hasMessageContaining("30");
    Files.writeString(cfg, "{\"hidden_size\": \"wide\"}");
    assertThatThrownBy(() -> ClipTextEncoder.fromConfig(cfg)).hasMessageContaining("hidden_size");
  }

  @Test
  void idsAreChecked() {
    SameDiff sd = SameDiff.create();
    assertThatThrownBy(() -> tiny().define(sd, sd.placeHolder("f", DataType.FLOAT, -1, 6))).hasMessageContaining("integer");
    assertThatThrownBy(() -> tiny().define(sd, sd.placeHolder("long", DataType.INT, -1, 7)))
        .hasMessageContaining("at most maxPositions = 6").hasMessageContaining("7");
  }

  @Test
  void loadReportListsMissingMisShapedAndUnexpectedKeys() throws Exception {
    Path dir = Goldens.dir("clip_text/gelu16");
    ClipTextEncoder enc = ClipTextEncoder.fromConfig(dir.resolve("config.json"));
    SameDiff sd = SameDiff.create();
    enc.define(sd, sd.placeHolder("ids", DataType.INT, -1, 12));
    Map<String, INDArray> w = new HashMap<>(SafeTensors.read(dir.resolve("model.safetensors")));

    Map<String, INDArray> extra = new HashMap<>(w);
    extra.put("text_projection.weight", Nd4j.zeros(DataType.FLOAT, 16, 32));
    extra.put("text_model.embeddings.position_ids", Nd4j.arange(16).castTo(DataType.LONG).reshape(1, 16));
    WeightReport report = enc.importWeights(sd, extra);
    assertThat(report.unexpected()).containsExactly("text_projection.weight");
    assertThat(report.ignored()).containsExactly("text_model.embeddings.position_ids");

    Map<String, INDArray> bad = new HashMap<>(w);
    bad.remove("text_model.encoder.layers.1.mlp.fc2.bias");
    bad.put("text_model.encoder.layers.0.self_attn.q_proj.weight", Nd4j.zeros(DataType.FLOAT, 32, 31));
    bad.put("text_model.final_layer_norm.weight", Nd4j.zeros(DataType.INT, 32));
    bad.put("vision_model.post_layernorm.weight", Nd4j.zeros(DataType.FLOAT, 4));
    INDArray before = sd.getVariable("text_encoder.final_layer_norm.bias").getArr().dup();
    assertThatThrownBy(() -> enc.importWeights(sd, bad))
        .hasMessageContaining("1 missing, 2 mis-shaped, 1 unexpected")
        .hasMessageContaining("missing 'text_model.encoder.layers.1.mlp.fc2.bias': expected shape [32]")
        .hasMessageContaining("mis-shaped 'text_model.encoder.layers.0.self_attn.q_proj.weight': expected shape [32, 32] (floating point), found [32, 31]")
        .hasMessageContaining("mis-shaped 'text_model.final_layer_norm.weight'")
        .hasMessageContaining("unexpected 'vision_model.post_layernorm.weight'");
    assertThat(sd.getVariable("text_encoder.final_layer_norm.bias").getArr()).isEqualTo(before);
  }

  @Test
  void exportIsTheInverseOfImport() throws Exception {
    Path dir = Goldens.dir("clip_text/gelu16");
    ClipTextEncoder enc = ClipTextEncoder.fromConfig(dir.resolve("config.json"));
    SameDiff sd = SameDiff.create();
    enc.define(sd, sd.placeHolder("ids", DataType.INT, -1, 12));
    Map<String, INDArray> w = SafeTensors.read(dir.resolve("model.safetensors"));
    enc.importWeights(sd, w);
    Map<String, INDArray> back = enc.exportWeights(sd);
    assertThat(back.keySet()).containsExactlyInAnyOrderElementsOf(w.keySet());
    back.forEach((k, v) -> assertThat(v).as(k).isEqualTo(w.get(k)));
  }

  /** Defining with weights gives the same variables as defining and then importing, and checks them first. */
  @Test
  void defineWithWeightsEqualsDefineThenImport() throws Exception {
    Path dir = Goldens.dir("clip_text/gelu16");
    ClipTextEncoder enc = ClipTextEncoder.fromConfig(dir.resolve("config.json"));
    Map<String, INDArray> w = SafeTensors.read(dir.resolve("model.safetensors"));
    SameDiff imported = SameDiff.create();
    enc.define(imported, imported.placeHolder("ids", DataType.INT, -1, 12));
    enc.importWeights(imported, w);
    SameDiff direct = SameDiff.create();
    ClipTextEncoderGraph g = enc.define(direct, direct.placeHolder("ids", DataType.INT, -1, 12), w);
    for (String name : g.variableNames()) {
      assertThat(direct.getVariable(name).getArr()).as(name).isEqualTo(imported.getVariable(name).getArr());
      assertThat(direct.getVariable(name).getArr().ordering()).as(name).isEqualTo('c');
    }
    Map<String, INDArray> bad = new java.util.HashMap<>(w);
    bad.remove("text_model.final_layer_norm.bias");
    SameDiff untouched = SameDiff.create();
    assertThatThrownBy(() -> enc.define(untouched, untouched.placeHolder("ids", DataType.INT, -1, 12), bad))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("missing 'text_model.final_layer_norm.bias'");
    assertThat(untouched.variables()).hasSize(1);
  }

  /** Batch rows are independent, and INT ids (what ClipTokenizer gives) work as LONG ones do. */
  @Test
  void rowsAreIndependentAndIntIdsWork() {
    ClipTextEncoder enc = tiny().toBuilder().seed(3).build();
    SameDiff sd = SameDiff.create();
    ClipTextEncoderGraph g = enc.define(sd, sd.placeHolder("ids", DataType.INT, -1, 6));
    INDArray both = Nd4j.createFromArray(new int[][] {{48, 3, 4, 49, 49, 49}, {48, 7, 8, 9, 10, 49}});
    INDArray all = sd.output(Map.of("ids", both), g.pooled().name()).get(g.pooled().name());
    INDArray one = sd.output(Map.of("ids", both.getRow(1, true)), g.pooled().name()).get(g.pooled().name());
    assertThat(Transforms.abs(all.getRow(1, true).sub(one)).maxNumber().doubleValue()).isLessThan(1e-6);
    INDArray last = sd.output(Map.of("ids", both), g.lastHiddenState().name()).get(g.lastHiddenState().name());
    // pooled is the hidden state at the first end token (49, the largest id)
    assertThat(Transforms.abs(all.getRow(0).sub(last.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
        org.nd4j.linalg.indexing.NDArrayIndex.point(3), org.nd4j.linalg.indexing.NDArrayIndex.all()))).maxNumber().doubleValue())
        .isEqualTo(0.0);
    // causal: changing a later token leaves earlier positions unchanged
    INDArray changed = both.dup();
    changed.putScalar(0, 4, 11);
    INDArray last2 = sd.output(Map.of("ids", changed), g.lastHiddenState().name()).get(g.lastHiddenState().name());
    INDArray prefix = last.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4));
    INDArray prefix2 = last2.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4));
    assertThat(Transforms.abs(prefix.sub(prefix2)).maxNumber().doubleValue()).isEqualTo(0.0);
  }

  /**
   * ND4J's {@code sd.nn.gelu} is x·σ(1.702x) with 1.702 rounded to float (QuickGELU in float32;
   * in double it is not): the encoder composes QuickGELU instead.
   */
  @Test
  void nd4jGeluIsQuickGeluWithAFloatConstant() {
    double[] xs = new double[2001];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = -10 + i * 0.01;
    }
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.constant("x", Nd4j.createFromArray(xs));
    INDArray builtin = sd.nn.gelu("builtin", x).eval();
    INDArray composed = io.github.stablerep.models.internal.GraphLayers.quickGelu(sd, x).eval();
    double maxExact = 0;
    double maxFloatConstant = 0;
    for (int i = 0; i < xs.length; i++) {
      double exact = xs[i] / (1 + Math.exp(-1.702 * xs[i]));
      double floatConstant = xs[i] / (1 + Math.exp(-(double) 1.702f * xs[i]));
      maxExact = Math.max(maxExact, Math.abs(composed.getDouble(i) - exact));
      maxFloatConstant = Math.max(maxFloatConstant, Math.abs(builtin.getDouble(i) - floatConstant));
    }
    double builtinVsExact = Transforms.abs(builtin.sub(composed)).maxNumber().doubleValue();
    System.out.printf("sd.nn.gelu vs x*sigmoid(1.702x) in double: max abs %.3g; vs 1.702f: %.3g%n",
        builtinVsExact, maxFloatConstant);
    assertThat(maxExact).isLessThan(1e-14);
    assertThat(maxFloatConstant).isLessThan(1e-14);
    assertThat(builtinVsExact).isGreaterThan(1e-10);
  }
}
