package io.github.stablerep.models.diffusion;

import io.github.stablerep.core.io.SafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Writes a tiny random Stable Diffusion folder in diffusers' layout, for pipeline and job tests:
 * the small BPE vocabulary of the tokenizer goldens, a 1-layer width-12 CLIP text encoder, a
 * 2-level UNet (8, 16 channels, cross-attention 12) and a 2-level VAE (factor 2), and SD v1.5's
 * scheduler config. Latents are 8x8 for a 16x16 image. Weights are seeded Gaussians scaled by
 * 1/sqrt(fan-in) (norm scales near 1), so activations stay O(1) and guidance visibly matters.
 */
public final class TinyPipelineFolder {
  /** Image size in pixels of the default pipeline (sample_size 8 × VAE factor 2). */
  public static final int SIZE = 16;

  private TinyPipelineFolder() {}

  public static Path write(Path dir, long seed) {
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\","
          + " \"_diffusers_version\": \"0.21.4\", \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"],"
          + " \"text_encoder\": [\"transformers\", \"CLIPTextModel\"], \"unet\": [\"diffusers\","
          + " \"UNet2DConditionModel\"], \"vae\": [\"diffusers\", \"AutoencoderKL\"],"
          + " \"scheduler\": [\"diffusers\", \"DDIMScheduler\"]}");
      Path tok = Files.createDirectories(dir.resolve("tokenizer"));
      copyResource("/golden/clip_tokenizer/small/vocab.json", tok.resolve("vocab.json"));
      copyResource("/golden/clip_tokenizer/small/merges.txt", tok.resolve("merges.txt"));

      Path text = Files.createDirectories(dir.resolve("text_encoder"));
      Files.writeString(text.resolve("config.json"), "{\"architectures\": [\"CLIPTextModel\"], \"hidden_act\":"
          + " \"quick_gelu\", \"hidden_size\": 12, \"intermediate_size\": 24, \"num_hidden_layers\": 1,"
          + " \"num_attention_heads\": 2, \"max_position_embeddings\": 77, \"vocab_size\": 1877,"
          + " \"layer_norm_eps\": 1e-05, \"eos_token_id\": 2}");
      ClipTextEncoder enc = ClipTextEncoder.fromConfig(text.resolve("config.json")).toBuilder().seed(seed).build();
      SameDiff sd = SameDiff.create();
      enc.define(sd, sd.placeHolder("ids", DataType.INT, -1, 77));
      SafeTensors.write(text.resolve("model.safetensors"), enc.exportWeights(sd));

      Path unet = Files.createDirectories(dir.resolve("unet"));
      Files.writeString(unet.resolve("config.json"), "{\"_class_name\": \"UNet2DConditionModel\","
          + " \"attention_head_dim\": 2, \"block_out_channels\": [8, 16], \"cross_attention_dim\": 12,"
          + " \"down_block_types\": [\"CrossAttnDownBlock2D\", \"DownBlock2D\"], \"up_block_types\":"
          + " [\"UpBlock2D\", \"CrossAttnUpBlock2D\"], \"in_channels\": 4, \"out_channels\": 4,"
          + " \"layers_per_block\": 1, \"norm_num_groups\": 4, \"sample_size\": 8}");
      Map<String, long[]> unetShapes = UNet2DConditionModel.fromConfig(DiffusersConfig.read(unet.resolve("config.json")))
          .parameterShapes();
      SafeTensors.write(unet.resolve(ModuleWeights.WEIGHTS), random(unetShapes, seed + 1));

      Path vae = Files.createDirectories(dir.resolve("vae"));
      Files.writeString(vae.resolve("config.json"), "{\"_class_name\": \"AutoencoderKL\", \"block_out_channels\":"
          + " [8, 16], \"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"], \"up_block_types\":"
          + " [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"], \"latent_channels\": 4, \"layers_per_block\": 1,"
          + " \"norm_num_groups\": 4, \"sample_size\": 16, \"scaling_factor\": 0.18215}");
      Map<String, long[]> vaeShapes = AutoencoderKL.fromConfig(DiffusersConfig.read(vae.resolve("config.json")))
          .parameterShapes();
      SafeTensors.write(vae.resolve(ModuleWeights.WEIGHTS), random(vaeShapes, seed + 2));

      Path sched = Files.createDirectories(dir.resolve("scheduler"));
      // SD v1.5's scheduler/scheduler_config.json (a PNDM config; from_config drives any sampler)
      Files.writeString(sched.resolve("scheduler_config.json"), "{\"_class_name\": \"PNDMScheduler\","
          + " \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085,"
          + " \"num_train_timesteps\": 1000, \"set_alpha_to_one\": false, \"skip_prk_steps\": true,"
          + " \"steps_offset\": 1, \"trained_betas\": null, \"clip_sample\": false}");
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Seeded weights in diffusers' keys and PyTorch shapes. */
  static Map<String, INDArray> random(Map<String, long[]> shapes, long seed) {
    Random rng = new Random(seed);
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long[] s = e.getValue();
      int n = (int) java.util.Arrays.stream(s).reduce(1, Math::multiplyExact);
      boolean norm = e.getKey().contains("norm") && e.getKey().endsWith(".weight");
      double scale = s.length >= 2 ? 1.0 / Math.sqrt(n / (double) s[0]) : 0.1;
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = (float) ((norm ? 1.0 : 0.0) + scale * rng.nextGaussian());
      }
      out.put(e.getKey(), Nd4j.create(v, s, 'c'));
    }
    return out;
  }

  private static void copyResource(String resource, Path target) throws IOException {
    try (InputStream in = TinyPipelineFolder.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("test resource " + resource + " not found");
      }
      Files.copy(in, target);
    }
  }
}
