package io.github.stablerep.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.models.diffusion.ClipTokenizer;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The shipped trained tiny Stable Diffusion (tiny-sd-fmnist, float16 weights) end to end against
 * tools/reference/tiny_sd_reference.py: openai CLIP's tokenizer and text transformer, diffusers'
 * UNet, VAE and DDIM scheduler and StableDiffusionPipeline.__call__'s loop, all in float64. Three
 * prompts, two images each, DDIM 20 steps, guidance 2, negative prompt "".
 */
class TinySdGoldenTest {
  static final List<String> PROMPTS = List.of("a photo of a large dark coat",
      "a product photo of a small light sneaker", "a picture of a medium grey bag");

  static Path model;
  static Path golden;

  @BeforeAll
  static void setUp() throws Exception {
    model = Path.of(TinySdGoldenTest.class
        .getResource("/io/github/stablerep/examples/tiny-sd-fmnist/model_index.json").toURI()).getParent();
    golden = Goldens.dir("tiny-sd");
  }

  static double relativeL2(INDArray got, INDArray want) {
    INDArray w = want.castTo(DataType.DOUBLE);
    return got.castTo(DataType.DOUBLE).sub(w).norm2Number().doubleValue() / w.norm2Number().doubleValue();
  }

  static List<String> negativeThenPrompts() {
    List<String> texts = new ArrayList<>();
    texts.add("");
    texts.addAll(PROMPTS);
    return texts;
  }

  @Test
  void tokenIdsMatchOpenAiSimpleTokenizer() {
    INDArray ids = ClipTokenizer.fromDirectory(model.resolve("tokenizer")).tokenize(negativeThenPrompts());
    INDArray want = Goldens.npy(golden, "token_ids");
    assertThat(ids.castTo(DataType.LONG).toLongMatrix()).isDeepEqualTo(want.castTo(DataType.LONG).toLongMatrix());
  }

  @Test
  void textStatesMatchOpenAiTextTransformer() {
    StableDiffusionPipeline pipe = StableDiffusionPipeline.builder().modelDirectory(model).build();
    INDArray states = pipe.encodePrompts(negativeThenPrompts());
    INDArray want = Goldens.npy(golden, "text_states");
    assertThat(states.shape()).containsExactly(want.shape());
    double rel = relativeL2(states, want);
    // measured 1.8e-7 (float32 against float64 on the same float16 weights)
    System.out.printf("tiny-sd text states: relative L2 %.3g%n", rel);
    assertThat(rel).as("text states, relative L2 %.3g", rel).isLessThanOrEqualTo(1e-4);
  }

  @Test
  void finalImagesMatchDiffusersFloat64() {
    StableDiffusionPipeline pipe = StableDiffusionPipeline.builder().modelDirectory(model)
        .scheduler(SchedulerType.DDIM).steps(20).guidanceScale(2.0).height(0).width(0).build();
    INDArray latents = Goldens.npy(golden, "latents");
    INDArray want = Goldens.npy(golden, "images");
    // all six images in one guided batch: one prompt per image (the reference runs each prompt alone)
    int perPrompt = (int) latents.size(1);
    List<String> prompts = new ArrayList<>();
    for (String prompt : PROMPTS) {
      prompts.addAll(Collections.nCopies(perPrompt, prompt));
    }
    INDArray all = pipe.generate(prompts, latents.reshape(PROMPTS.size() * perPrompt, latents.size(2), latents.size(3),
        latents.size(4)).castTo(DataType.FLOAT), StableDiffusionPipeline.Progress.NONE);
    for (int p = 0; p < PROMPTS.size(); p++) {
      INDArray images = all.get(NDArrayIndex.interval(p * perPrompt, (p + 1) * perPrompt));
      INDArray expected = want.get(NDArrayIndex.point(p));
      assertThat(images.shape()).containsExactly(expected.shape());
      double rel = relativeL2(images, expected);
      // measured 1.3e-6, 8.8e-7 and 9.8e-7 for the three prompts run one by one (float32 pipeline
      // against float64, VAE scaling factor 0.5247)
      System.out.printf("tiny-sd images \"%s\": relative L2 %.3g%n", PROMPTS.get(p), rel);
      assertThat(rel).as("images of \"%s\", relative L2 %.3g", PROMPTS.get(p), rel).isLessThanOrEqualTo(1e-4);
    }
  }
}
