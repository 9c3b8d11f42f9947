package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile diffusers configs fail at once with a message naming the key and the bound (issue 13
 * §6): 2^31 - 1 training timesteps threw OutOfMemoryError, 1000 layers per block built a graph
 * for 30 s, and a 100 000-layer text encoder allocated 10.7 GB before failing.
 */
class ModelConfigBoundsTest {

  @TempDir Path tmp;

  private static void refusedQuickly(Runnable r, String... fragments) {
    assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
      var a = assertThatThrownBy(r::run).isInstanceOf(IllegalArgumentException.class);
      for (String f : fragments) {
        a.hasMessageContaining(f);
      }
    });
  }

  @Test
  void schedulerTimesteps() {
    DiffusersConfig c = DiffusersConfig.parse("{\"num_train_timesteps\": 2147483647}", "scheduler_config.json");
    refusedQuickly(() -> DdimScheduler.fromConfig(c), "numTrainTimesteps: expected a value in [1, 1000000]");
    refusedQuickly(() -> EulerDiscreteScheduler.fromConfig(c), "numTrainTimesteps");
    refusedQuickly(() -> DpmSolverMultistepScheduler.fromConfig(c), "numTrainTimesteps");
    refusedQuickly(() -> PndmScheduler.fromConfig(c), "numTrainTimesteps");
  }

  @Test
  void unetAndVaeLayers() {
    DiffusersConfig unet = DiffusersConfig.parse("{\"block_out_channels\": [8, 16], \"down_block_types\":"
        + " [\"CrossAttnDownBlock2D\", \"DownBlock2D\"], \"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\"],"
        + " \"layers_per_block\": 1000, \"norm_num_groups\": 4, \"cross_attention_dim\": 12,"
        + " \"attention_head_dim\": 2}", "unet/config.json");
    refusedQuickly(() -> UNet2DConditionModel.fromConfig(unet), "layersPerBlock: expected values in [1, 64]");
    DiffusersConfig vae = DiffusersConfig.parse("{\"block_out_channels\": [8, 16], \"down_block_types\":"
        + " [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"], \"up_block_types\": [\"UpDecoderBlock2D\","
        + " \"UpDecoderBlock2D\"], \"layers_per_block\": 1000, \"norm_num_groups\": 4}", "vae/config.json");
    refusedQuickly(() -> AutoencoderKL.fromConfig(vae), "layersPerBlock: expected a value in [1, 64]");
  }

  @Test
  void textEncoderLayersAndWidth() {
    refusedQuickly(() -> ClipTextEncoder.fromConfig(DiffusersConfig.parse("{\"num_hidden_layers\": 100000}",
        "text_encoder/config.json")), "text_encoder/config.json", "layers: expected a value in [1, 256]");
    refusedQuickly(() -> ClipTextEncoder.fromConfig(DiffusersConfig.parse("{\"hidden_size\": 1048576,"
        + " \"num_attention_heads\": 1}", "text_encoder/config.json")), "hiddenSize");
  }

  /** A tiny pipeline folder whose {@code component/config.json} has {@code from} replaced by {@code to}. */
  private Path lyingConfig(String component, String from, String to) throws Exception {
    Path dir = TinyPipelineFolder.write(tmp.resolve(component + to.hashCode()), 3);
    Path config = dir.resolve(component).resolve("config.json");
    String json = Files.readString(config);
    org.assertj.core.api.Assertions.assertThat(json).contains(from);
    Files.writeString(config, json.replace(from, to));
    return dir;
  }

  /**
   * Configs within the sane ranges that disagree with the weights file fail before a graph is
   * built, naming the key, the weights file and what it holds (the config is checked against
   * the safetensors header, not against a built model).
   */
  @Test
  void configsThatDisagreeWithTheWeightsFileFailBeforeBuilding() throws Exception {
    Path unet = lyingConfig("unet", "\"layers_per_block\": 1", "\"layers_per_block\": 64");
    refusedQuickly(() -> UNet2DConditionModel.fromPretrained(unet.resolve("unet")), "unet/config.json",
        "key 'layers_per_block': expected 1 (resnets in down_blocks.0 in ", "diffusion_pytorch_model", "found 64");
    Path vae = lyingConfig("vae", "\"layers_per_block\": 1", "\"layers_per_block\": 64");
    refusedQuickly(() -> AutoencoderKL.fromPretrained(vae.resolve("vae")), "vae/config.json",
        "key 'layers_per_block': expected 1", "found 64");
    Path text = lyingConfig("text_encoder", "\"num_hidden_layers\": 1", "\"num_hidden_layers\": 200");
    refusedQuickly(() -> StableDiffusionPipeline.builder().modelDirectory(text).steps(2).build(),
        "text_encoder/config.json", "key 'num_hidden_layers': expected 1", "found 200");
  }
}
