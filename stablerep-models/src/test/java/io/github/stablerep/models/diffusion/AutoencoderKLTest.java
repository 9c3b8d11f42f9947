package io.github.stablerep.models.diffusion;

import io.github.stablerep.models.WeightReport;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.SafeTensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Parity with diffusers' AutoencoderKL on a tiny random config (block_out_channels (8, 16), one
 * layer per block, 4 groups, 16x16 images), goldens from tools/reference/unet_vae_reference.py.
 */
class AutoencoderKLTest {
  /** The bound for module parity. */
  static final double REL_L2 = 1e-4;

  static Path dir(String name) {
    return Goldens.dir("diffusion/" + name);
  }

  static void report(String what, double relL2) {
    System.out.printf("vae parity %s: relative L2 %.3g%n", what, relL2);
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void encoderAndDecoderMatchDiffusers(DataType type) throws Exception {
    Path d = dir("vae");
    AutoencoderKL vae = AutoencoderKL.builderFrom(DiffusersConfig.read(d.resolve("config.json"))).dataType(type).build();
    assertThat(vae.blockOutChannels()).containsExactly(8, 16);
    assertThat(vae.scalingFactor()).isEqualTo(0.18215);
    SameDiff sd = SameDiff.create();
    AutoencoderKL.LatentDistribution dist = vae.defineEncoder(sd, sd.placeHolder("image", DataType.DOUBLE, -1, 3, -1, -1));
    SDVariable noise = sd.placeHolder("noise", type, -1, 4, -1, -1);
    SDVariable sample = dist.sample(noise);
    SDVariable decoded = vae.defineDecoder(sd, sd.placeHolder("z", DataType.DOUBLE, -1, 4, -1, -1));
    WeightReport r = vae.loadWeights(sd, SafeTensors.read(d.resolve("diffusion_pytorch_model.safetensors")));
    assertThat(r.isComplete()).isTrue();
    assertThat(r.unexpected()).isEmpty();
    assertThat(r.loaded()).hasSize(vae.parameterShapes().size());

    INDArray eps = AutoencoderKL.noise(3, type, 2, 4, 8, 8);
    Map<String, INDArray> out = sd.output(Map.of("image", Goldens.npy(d, "image"), "z", Goldens.npy(d, "latents"),
        "noise", eps), dist.mean().name(), dist.logVar().name(), sample.name(), decoded.name());
    // In double, 1e-7 rather than rounding: diffusers' VAE attention has upcast_softmax, which casts the
    // scores to float32 even in a float64 model, so the goldens carry one float32 softmax.
    double tol = type == DataType.FLOAT ? REL_L2 : 1e-7;
    report("mean " + type, Goldens.assertClose("mean", Goldens.npy(d, "mean"), out.get(dist.mean().name()), tol));
    report("logvar " + type, Goldens.assertClose("logvar", Goldens.npy(d, "logvar"), out.get(dist.logVar().name()), tol));
    report("decoded " + type, Goldens.assertClose("decoded", Goldens.npy(d, "decoded"), out.get(decoded.name()), tol));
    INDArray expectedSample = Goldens.npy(d, "mean").add(Goldens.npy(d, "std").mul(eps.castTo(DataType.DOUBLE)));
    Goldens.assertClose("sample", expectedSample, out.get(sample.name()), tol);
  }

  @Test
  void fromPretrainedDecodesScaledLatents() throws Exception {
    Path d = dir("vae");
    AutoencoderKL vae = AutoencoderKL.fromPretrained(d);
    assertThat(vae.hasPretrainedWeights()).isTrue();
    SameDiff sd = SameDiff.create();
    SDVariable img = vae.defineDecodeScaled(sd, sd.placeHolder("latents", DataType.FLOAT, -1, 4, -1, -1));
    INDArray scaled = Goldens.npy(d, "latents").mul(vae.scalingFactor()).castTo(DataType.FLOAT);
    INDArray out = sd.output(Map.of("latents", scaled), img.name()).get(img.name());
    report("fromPretrained decodeScaled", Goldens.assertClose("decoded", Goldens.npy(d, "decoded"), out, REL_L2));
  }

  @Test
  void fromPretrainedReadsTheFp16VariantWithLegacyAttentionNames() throws Exception {
    Path d = dir("vae_legacy_fp16");
    Map<String, INDArray> raw = SafeTensors.read(d.resolve(ModuleWeights.WEIGHTS_FP16));
    assertThat(raw.keySet()).anyMatch(k -> k.endsWith("attentions.0.query.weight"))
        .noneMatch(k -> k.contains("to_q"));
    assertThat(raw.values()).allMatch(a -> a.dataType() == DataType.HALF);
    AutoencoderKL vae = AutoencoderKL.fromPretrained(d);
    SameDiff sd = SameDiff.create();
    SDVariable img = vae.defineDecoder(sd, sd.placeHolder("z", DataType.FLOAT, -1, 4, -1, -1));
    INDArray out = sd.output(Map.of("z", Goldens.npy(d, "latents").castTo(DataType.FLOAT)), img.name()).get(img.name());
    report("fp16 legacy decoded", Goldens.assertClose("decoded", Goldens.npy(d, "decoded"), out, REL_L2));
  }

  @Test
  void loaderListsEveryMissingMisshapedAndUnexpectedKey() throws Exception {
    Path d = dir("vae");
    AutoencoderKL vae = AutoencoderKL.fromConfig(DiffusersConfig.read(d.resolve("config.json")));
    SameDiff sd = SameDiff.create();
    SDVariable out = vae.defineDecoder(sd, sd.placeHolder("z", DataType.FLOAT, -1, 4, -1, -1));
    Map<String, INDArray> w = new LinkedHashMap<>(SafeTensors.read(d.resolve("diffusion_pytorch_model.safetensors")));
    INDArray before = sd.getVariable("vae/decoder.conv_in.weight").getArr().dup();
    w.remove("decoder.conv_out.bias");
    w.remove("post_quant_conv.weight");
    w.put("decoder.conv_in.weight", Nd4j.zeros(DataType.FLOAT, 16, 4, 3, 1));
    w.put("decoder.mid_block.attentions.0.to_q.weight", Nd4j.zeros(DataType.FLOAT, 16, 15));
    w.put("decoder.extra.weight", Nd4j.zeros(DataType.FLOAT, 2));
    assertThatThrownBy(() -> vae.loadWeights(sd, w))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2 missing, 2 mis-shaped, 1 unexpected")
        .hasMessageContaining("missing 'decoder.conv_out.bias': expected shape [3], found none")
        .hasMessageContaining("missing 'post_quant_conv.weight': expected shape [4, 4, 1, 1], found none")
        .hasMessageContaining("mis-shaped 'decoder.conv_in.weight': expected shape [16, 4, 3, 3] (floating point), found [16, 4, 3, 1]")
        .hasMessageContaining("mis-shaped 'decoder.mid_block.attentions.0.to_q.weight': expected shape [16, 16]")
        .hasMessageContaining("unexpected 'decoder.extra.weight'")
        // encoder keys are ignored (not unexpected) when only the decoder was defined
        .hasMessageNotContaining("unexpected 'encoder.conv_in.weight'");
    assertThat(sd.getVariable("vae/decoder.conv_in.weight").getArr()).as("nothing assigned").isEqualTo(before);
    assertThat(out).isNotNull();
  }

  @Test
  void fromPretrainedNamesTheFolderAndTheFilesItLooksFor(@org.junit.jupiter.api.io.TempDir Path tmp) {
    assertThatThrownBy(() -> AutoencoderKL.fromPretrained(tmp))
        .hasMessageContaining(tmp.toString())
        .hasMessageContaining("diffusion_pytorch_model.safetensors")
        .hasMessageContaining("diffusion_pytorch_model.fp16.safetensors");
    assertThatThrownBy(() -> AutoencoderKL.fromPretrained(tmp.resolve("nope"))).hasMessageContaining("missing");
  }

  @Test
  void unsupportedConfigsAreRejectedByKey() {
    assertThatThrownBy(() -> AutoencoderKL.fromConfig(DiffusersConfig.parse(
        "{\"block_out_channels\":[8,16],\"down_block_types\":[\"DownEncoderBlock2D\",\"AttnDownEncoderBlock2D\"],"
            + "\"up_block_types\":[\"UpDecoderBlock2D\",\"UpDecoderBlock2D\"]}", "inline")))
        .hasMessageContaining("'down_block_types'").hasMessageContaining("AttnDownEncoderBlock2D");
    assertThatThrownBy(() -> AutoencoderKL.fromConfig(DiffusersConfig.parse(
        "{\"block_out_channels\":[8],\"act_fn\":\"gelu\"}", "inline"))).hasMessageContaining("'act_fn'");
    assertThatThrownBy(() -> AutoencoderKL.builder().blockOutChannels(8, 12).normNumGroups(8).build())
        .hasMessageContaining("blockOutChannels").hasMessageContaining("normNumGroups 8");
  }

  @Test
  void sdV15ConfigGivesDiffusersParameterCountAndMatchesTheDefaults() throws Exception {
    Path d = dir("sd15");
    AutoencoderKL vae = AutoencoderKL.fromConfig(DiffusersConfig.read(d.resolve("vae_config.json")));
    assertThat(vae.parameterCount()).isEqualTo(Goldens.npy(d, "vae_parameters").getLong(0));
    assertThat(vae.toString()).isEqualTo(AutoencoderKL.builder().build().toString());
  }
}
