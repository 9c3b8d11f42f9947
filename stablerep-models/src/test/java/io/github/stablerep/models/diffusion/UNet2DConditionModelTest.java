package io.github.stablerep.models.diffusion;

import io.github.stablerep.models.WeightReport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.models.internal.GraphKernels;
import io.github.stablerep.core.io.SafeTensors;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Parity with diffusers' UNet2DConditionModel on two tiny random configs
 * (tools/reference/unet_vae_reference.py): unet_a is SD v1.x's layout in miniature; unet_b has
 * three levels, two layers per block, per-block heads, linear projections, the other sinusoid
 * convention, a non-square latent and different in/out channels.
 */
class UNet2DConditionModelTest {
  /** The bound for module parity. */
  static final double REL_L2 = 1e-4;

  static Path dir(String name) {
    return Goldens.dir("diffusion/" + name);
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"unet_a, FLOAT", "unet_b, FLOAT", "unet_a, DOUBLE", "unet_b, DOUBLE"})
  void noisePredictionMatchesDiffusers(String config, DataType type) throws Exception {
    Path d = dir(config);
    UNet2DConditionModel unet =
        UNet2DConditionModel.builderFrom(DiffusersConfig.read(d.resolve("config.json"))).dataType(type).build();
    SameDiff sd = SameDiff.create();
    SDVariable out = unet.define(sd, sd.placeHolder("sample", DataType.DOUBLE, -1, unet.inChannels(), -1, -1),
        sd.placeHolder("timestep", DataType.DOUBLE, -1),
        sd.placeHolder("context", DataType.DOUBLE, -1, -1, unet.crossAttentionDim().get(0)));
    WeightReport r = unet.loadWeights(sd, SafeTensors.read(d.resolve("diffusion_pytorch_model.safetensors")));
    assertThat(r.unexpected()).isEmpty();
    assertThat(r.loaded()).hasSize(unet.parameterShapes().size());
    INDArray actual = sd.output(Map.of("sample", Goldens.npy(d, "sample"), "timestep", Goldens.npy(d, "timestep"),
        "context", Goldens.npy(d, "encoder_hidden_states")), out.name()).get(out.name());
    // in double, the sinusoid is float32 on both sides (diffusers computes it so), hence 1e-6
    double rel = Goldens.assertClose(config + " " + type, Goldens.npy(d, "noise_pred"), actual,
        type == DataType.FLOAT ? REL_L2 : 1e-6);
    System.out.printf("unet parity %s %s: relative L2 %.3g%n", config, type, rel);
  }

  /**
   * The inference graph with every Java kernel (the latent-size hint claims enough positions at
   * every level, so attention uses FusedAttention too) against the same diffusers goldens.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"unet_a", "unet_b"})
  void inferenceGraphWithJavaKernelsMatchesDiffusers(String config) throws Exception {
    Path d = dir(config);
    UNet2DConditionModel unet = UNet2DConditionModel.builderFrom(DiffusersConfig.read(d.resolve("config.json")))
        .dataType(DataType.FLOAT).build();
    INDArray context = Goldens.npy(d, "encoder_hidden_states").castTo(DataType.FLOAT);
    SameDiff sd = SameDiff.create();
    SDVariable out = unet.defineForInference(sd,
        sd.placeHolder("sample", DataType.FLOAT, -1, unet.inChannels(), -1, -1),
        sd.placeHolder("timestep", DataType.FLOAT, -1),
        sd.placeHolder("context", DataType.FLOAT, -1, context.size(1), context.size(2)), 64, 64);
    unet.loadWeights(sd, SafeTensors.read(d.resolve("diffusion_pytorch_model.safetensors")));
    int blocks = unet.blockOutChannels().size();
    assertThat(GraphKernels.installedOn(sd)).isTrue();
    assertThat(GraphKernels.kernelCount(sd)).as("stand-ins").isGreaterThan(2 * blocks);
    INDArray actual = sd.output(Map.of("sample", Goldens.npy(d, "sample").castTo(DataType.FLOAT), "timestep",
        Goldens.npy(d, "timestep").castTo(DataType.FLOAT), "context", context), out.name()).get(out.name());
    double rel = Goldens.assertClose(config + " with Java kernels", Goldens.npy(d, "noise_pred"), actual, REL_L2);
    System.out.printf("unet parity %s FLOAT, Java kernels: relative L2 %.3g%n", config, rel);
  }

  @Test
  void inferenceGraphNeedsTheLatentSize() {
    UNet2DConditionModel unet = UNet2DConditionModel.builder().build();
    SameDiff sd = SameDiff.create();
    assertThatThrownBy(() -> unet.defineForInference(sd, sd.placeHolder("s", DataType.FLOAT, -1, 4, -1, -1),
        sd.placeHolder("t", DataType.FLOAT, -1), sd.placeHolder("c", DataType.FLOAT, -1, 77, 768), 0, 64))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("height, width: expected the latent size (>= 1), found 0, 64");
  }

  @Test
  void fromPretrainedReadsConfigAndWeights() throws Exception {
    Path d = dir("unet_b");
    UNet2DConditionModel unet = UNet2DConditionModel.fromPretrained(d);
    assertThat(unet.hasPretrainedWeights()).isTrue();
    assertThat(unet.attentionHeads()).containsExactly(2, 4, 4);
    assertThat(unet.useLinearProjection()).isTrue();
    assertThat(unet.flipSinToCos()).isFalse();
    SameDiff sd = SameDiff.create();
    SDVariable out = unet.define(sd, sd.placeHolder("sample", DataType.FLOAT, 2, 3, 8, 12),
        sd.placeHolder("timestep", DataType.FLOAT, 2), sd.placeHolder("context", DataType.FLOAT, 2, 3, 6));
    INDArray actual = sd.output(Map.of("sample", Goldens.npy(d, "sample").castTo(DataType.FLOAT),
        "timestep", Goldens.npy(d, "timestep").castTo(DataType.FLOAT),
        "context", Goldens.npy(d, "encoder_hidden_states").castTo(DataType.FLOAT)), out.name()).get(out.name());
    Goldens.assertClose("fromPretrained unet_b", Goldens.npy(d, "noise_pred"), actual, REL_L2);
  }

  @Test
  void parameterShapesAreDiffusersStateDictShapes() throws Exception {
    Path d = dir("unet_a");
    Map<String, INDArray> file = SafeTensors.read(d.resolve("diffusion_pytorch_model.safetensors"));
    Map<String, long[]> shapes = UNet2DConditionModel.fromConfig(DiffusersConfig.read(d.resolve("config.json")))
        .parameterShapes();
    assertThat(shapes.keySet()).containsExactlyInAnyOrderElementsOf(file.keySet());
    shapes.forEach((k, s) -> assertThat(s).as(k).containsExactly(file.get(k).shape()));
  }

  @Test
  void sdV15ConfigGivesDiffusersParameterCount() throws Exception {
    Path d = dir("sd15");
    UNet2DConditionModel unet = UNet2DConditionModel.fromConfig(DiffusersConfig.read(d.resolve("unet_config.json")));
    long expected = Goldens.npy(d, "unet_parameters").getLong(0);
    assertThat(unet.parameterCount()).isEqualTo(expected);
    assertThat(unet.toString()).isEqualTo(UNet2DConditionModel.builder().build().toString());
    System.out.printf("SD v1.5 UNet: %d parameters%n", expected);
  }

  @Test
  void unsupportedOptionsAreRejectedByKey() {
    String base = "\"block_out_channels\":[8,16],\"down_block_types\":[\"CrossAttnDownBlock2D\",\"DownBlock2D\"],"
        + "\"up_block_types\":[\"UpBlock2D\",\"CrossAttnUpBlock2D\"],\"norm_num_groups\":4,\"attention_head_dim\":2";
    assertThat(UNet2DConditionModel.fromConfig(DiffusersConfig.parse("{" + base + "}", "inline")).blockOutChannels())
        .containsExactly(8, 16);
    for (String[] bad : new String[][] {
        {"\"class_embed_type\":\"timestep\"", "'class_embed_type'"},
        {"\"addition_embed_type\":\"text_time\"", "'addition_embed_type'"},
        {"\"resnet_time_scale_shift\":\"scale_shift\"", "scale_shift"},
        {"\"mid_block_type\":\"UNetMidBlock2DSimpleCrossAttn\"", "'mid_block_type'"},
        {"\"time_embedding_type\":\"fourier\"", "'time_embedding_type'"},
        {"\"only_cross_attention\":true", "'only_cross_attention'"},
        {"\"num_attention_heads\":8", "'num_attention_heads'"},
        {"\"act_fn\":\"mish\"", "'act_fn'"}}) {
      assertThatThrownBy(() -> UNet2DConditionModel.fromConfig(DiffusersConfig.parse("{" + base + "," + bad[0] + "}",
          "inline"))).as(bad[0]).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(bad[1]);
    }
    assertThatThrownBy(() -> UNet2DConditionModel.fromConfig(DiffusersConfig.parse(
        "{" + base.replace("\"DownBlock2D\"]", "\"AttnDownBlock2D\"]") + "}", "inline")))
        .hasMessageContaining("downBlockTypes").hasMessageContaining("AttnDownBlock2D");
    assertThatThrownBy(() -> UNet2DConditionModel.builder().blockOutChannels(32, 48).attentionHeads(5)
        .downBlockTypes("DownBlock2D", "DownBlock2D").upBlockTypes("UpBlock2D", "UpBlock2D").normNumGroups(16).build())
        .hasMessageContaining("attentionHeads").hasMessageContaining("32 channels");
    assertThatThrownBy(() -> UNet2DConditionModel.builder().layersPerBlock(1, 2).build())
        .hasMessageContaining("layersPerBlock").hasMessageContaining("one value or 4");
  }

  @Test
  void sampleSizesThatCannotBeDownsampledAreRejected() {
    UNet2DConditionModel unet = UNet2DConditionModel.fromConfig(DiffusersConfig.parse(
        "{\"block_out_channels\":[8,16,16],\"down_block_types\":[\"DownBlock2D\",\"DownBlock2D\",\"DownBlock2D\"],"
            + "\"up_block_types\":[\"UpBlock2D\",\"UpBlock2D\",\"UpBlock2D\"],\"norm_num_groups\":4,"
            + "\"attention_head_dim\":2,\"cross_attention_dim\":6}", "inline"));
    SameDiff sd = SameDiff.create();
    assertThatThrownBy(() -> unet.define(sd, sd.placeHolder("s", DataType.FLOAT, 1, 4, 8, 6),
        sd.placeHolder("t", DataType.FLOAT, 1), sd.placeHolder("c", DataType.FLOAT, 1, 3, 6)))
        .hasMessageContaining("multiples of 4").hasMessageContaining("[1, 4, 8, 6]");
  }
}
