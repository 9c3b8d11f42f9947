package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The whole sampling loop against tools/reference/pipeline_reference.py: diffusers' own UNet, VAE
 * and schedulers (float64) on the tiny unet_a / vae goldens' weights, with the same initial
 * latents and text-encoder states.
 */
class StableDiffusionPipelineGoldenTest {
  @TempDir
  static Path tmp;

  static Path folder;

  @BeforeAll
  static void setUp() throws Exception {
    // tokenizer and text encoder from the tiny folder (unused on the embeddings path, needed to build)
    folder = TinyPipelineFolder.write(tmp.resolve("sd"), 3);
    for (String[] c : new String[][] {{"unet", "diffusion/unet_a"}, {"vae", "diffusion/vae"}}) {
      for (String f : new String[] {"config.json", "diffusion_pytorch_model.safetensors"}) {
        Files.copy(Goldens.dir(c[1]).resolve(f), folder.resolve(c[0]).resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Files.copy(Goldens.dir("pipeline").resolve("scheduler_config.json"),
        folder.resolve("scheduler/scheduler_config.json"), StandardCopyOption.REPLACE_EXISTING);
  }

  @ParameterizedTest
  @CsvSource({"ddim, DDIM, 3, 2.0", "euler, EULER, 3, 3.5", "ddim_w1, DDIM, 2, 1.0"})
  void finalImagesMatchDiffusers(String name, SchedulerType type, int steps, double guidance) throws Exception {
    Path g = Goldens.dir("pipeline");
    StableDiffusionPipeline pipe = StableDiffusionPipeline.builder().modelDirectory(folder).scheduler(type)
        .steps(steps).guidanceScale(guidance).height(16).width(16).build();
    INDArray images = pipe.generateFromEmbeddings(
        Npy.read(g.resolve("negative_states.npy")).castTo(DataType.FLOAT),
        Npy.read(g.resolve("prompt_states.npy")).castTo(DataType.FLOAT),
        Npy.read(g.resolve("latents.npy")).castTo(DataType.FLOAT), StableDiffusionPipeline.Progress.NONE);
    INDArray want = Npy.read(g.resolve("images_" + name + ".npy"));
    double rel = images.castTo(DataType.DOUBLE).sub(want).norm2Number().doubleValue()
        / want.norm2Number().doubleValue();
    System.out.printf("pipeline golden %s: relative L2 %.3g%n", name, rel);
    assertThat(rel).as(name).isLessThan(1e-4);
  }
}
