package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.io.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class StableDiffusionPipelineTest {
  private static final String PROMPT = "a photo of a cat";

  @TempDir
  static Path tmp;

  static Path folder;
  static StableDiffusionPipeline pipe;

  @BeforeAll
  static void setUp() {
    folder = TinyPipelineFolder.write(tmp.resolve("tiny"), 11);
    pipe = tiny().build();
  }

  static StableDiffusionPipeline.Builder tiny() {
    return StableDiffusionPipeline.builder().modelDirectory(folder).steps(2).height(TinyPipelineFolder.SIZE)
        .width(TinyPipelineFolder.SIZE);
  }

  static double relL2(INDArray a, INDArray b) {
    INDArray x = a.castTo(DataType.DOUBLE);
    INDArray y = b.castTo(DataType.DOUBLE);
    return x.sub(y).norm2Number().doubleValue() / Math.max(1e-30, y.norm2Number().doubleValue());
  }

  /** Two lanes split each UNet batch in halves; the images are those of one lane within float rounding. */
  @Test
  void twoLanesGiveTheImagesOfOne() {
    StableDiffusionPipeline one = tiny().lanes(1).build();
    StableDiffusionPipeline two = tiny().lanes(2).build();
    List<String> prompts = List.of(PROMPT, "a photo of a small dark coat", PROMPT);
    INDArray latents = one.initialLatents(3, prompts.size());
    INDArray a = one.generate(prompts, latents.dup(), StableDiffusionPipeline.Progress.NONE);
    INDArray b = two.generate(prompts, latents.dup(), StableDiffusionPipeline.Progress.NONE);
    assertThat(relL2(b, a)).isLessThan(1e-5);
    // an odd batch without guidance splits unevenly
    INDArray states = one.encodePrompts(prompts);
    assertThat(relL2(two.predictNoise(latents, 300, states), one.predictNoise(latents, 300, states)))
        .isLessThan(1e-5);
    assertThatThrownBy(() -> tiny().lanes(3).build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lanes: expected 1 or 2, found 3");
  }

  @Test
  void sameSeedGivesIdenticalImagesAndDifferentSeedsDifferentOnes() {
    List<INDArray> a = pipe.generate(PROMPT, 2, 7);
    List<INDArray> b = pipe.generate(PROMPT, 2, 7);
    List<INDArray> c = pipe.generate(PROMPT, 2, 8);
    assertThat(a).hasSize(2);
    for (int i = 0; i < 2; i++) {
      assertThat(a.get(i).shape()).containsExactly(3, 16, 16);
      assertThat(a.get(i).minNumber().doubleValue()).isGreaterThanOrEqualTo(0.0);
      assertThat(a.get(i).maxNumber().doubleValue()).isLessThanOrEqualTo(1.0);
      assertThat(a.get(i)).isEqualTo(b.get(i));
      assertThat(relL2(a.get(i), c.get(i))).isGreaterThan(1e-3);
    }
    // the two images of one call come from different noise
    assertThat(relL2(a.get(0), a.get(1))).isGreaterThan(1e-3);
    // the seeded call is the explicit-latents call on the seed's latents
    INDArray explicit = pipe.generate(PROMPT, pipe.initialLatents(7, 2));
    assertThat(relL2(explicit.get(NDArrayIndex.point(1)), a.get(1))).isLessThan(1e-6);
  }

  /**
   * The batched, guided sampling loop against one written out here from the pipeline's pieces,
   * with the unconditional and conditional noise predicted by separate UNet calls.
   */
  @ParameterizedTest
  @CsvSource({"DDIM, 2.0, ''", "DDIM, 1.0, ''", "EULER, 4.5, 'blurry'"})
  void guidedLoopEqualsSeparateUnconditionalAndConditionalCalls(SchedulerType type, double w, String negative) {
    StableDiffusionPipeline p = type == SchedulerType.DDIM && negative.isEmpty() && w == 2.0 ? pipe
        : tiny().scheduler(type).guidanceScale(w).negativePrompt(negative).build();
    INDArray latents = p.initialLatents(3, 2);
    INDArray got = p.generate(PROMPT, negative, latents, StableDiffusionPipeline.Progress.NONE);

    INDArray states = p.encodePrompts(List.of(negative, PROMPT));
    Scheduler s = Scheduler.create(type, folder.resolve("scheduler/scheduler_config.json"));
    s.setTimesteps(2);
    List<INDArray> expected = new ArrayList<>();
    for (int img = 0; img < 2; img++) {
      INDArray x = latents.get(NDArrayIndex.interval(img, img + 1)).dup().mul(s.initNoiseSigma());
      s.setTimesteps(2);
      long[] ts = s.timesteps();
      double[] mt = s.modelTimesteps();
      for (int i = 0; i < ts.length; i++) {
        INDArray in = s.scaleModelInput(x, ts[i]);
        INDArray epsC = p.predictNoise(in, mt[i], states.get(NDArrayIndex.interval(1, 2)).dup());
        INDArray eps = epsC;
        if (w > 1.0) {
          INDArray epsU = p.predictNoise(in, mt[i], states.get(NDArrayIndex.interval(0, 1)).dup());
          eps = epsU.add(epsC.sub(epsU).mul(w));
        }
        x = s.step(eps, ts[i], x).prevSample();
      }
      expected.add(p.decode(x));
    }
    INDArray want = Nd4j.concat(0, expected.get(0), expected.get(1));
    assertThat(relL2(got, want)).as("%s w=%s", type, w).isLessThan(1e-5);
  }

  /** One batch of several prompts gives each image what a call with its prompt alone gives. */
  @ParameterizedTest
  @CsvSource({"2.0", "1.0"})
  void multiPromptBatchEqualsOneCallPerPrompt(double w) {
    StableDiffusionPipeline p = w == 2.0 ? pipe : tiny().guidanceScale(w).build();
    List<String> prompts = List.of(PROMPT, "a dog", PROMPT, "a red car");
    INDArray latents = p.initialLatents(9, prompts.size());
    INDArray got = p.generate(prompts, latents, StableDiffusionPipeline.Progress.NONE);
    assertThat(got.shape()).containsExactly(4, 3, 16, 16);
    for (int i = 0; i < prompts.size(); i++) {
      INDArray one = p.generate(prompts.get(i), latents.get(NDArrayIndex.interval(i, i + 1)).dup());
      assertThat(relL2(got.get(NDArrayIndex.interval(i, i + 1)), one)).as("image %s, w=%s", i, w).isLessThan(1e-5);
    }
    // per-image states given directly are the same batch
    INDArray states = p.encodePrompts(prompts);
    INDArray negative = p.encodePrompts(List.of(""));
    INDArray fromStates = p.generateFromEmbeddings(negative, states, latents, StableDiffusionPipeline.Progress.NONE);
    assertThat(relL2(fromStates, got)).isLessThan(1e-5);
    assertThat(relL2(got.get(NDArrayIndex.point(0)), got.get(NDArrayIndex.point(2)))).isGreaterThan(1e-3);
  }

  /** The graphs reuse released buffers between calls; what a call returned must survive later calls. */
  @Test
  void resultsStayIntactAcrossLaterCalls() {
    INDArray states = pipe.encodePrompts(List.of("", PROMPT, "a dog"));
    INDArray statesCopy = states.dup();
    INDArray a = pipe.predictNoise(pipe.initialLatents(1, 3), 500, states);
    INDArray aCopy = a.dup();
    INDArray b = pipe.predictNoise(pipe.initialLatents(2, 3), 300, states);
    INDArray bCopy = b.dup();
    INDArray c = pipe.predictNoise(pipe.initialLatents(3, 3), 100, pipe.encodePrompts(List.of("x", "y", "z")));
    INDArray d1 = pipe.decode(pipe.initialLatents(4, 3));
    INDArray d1Copy = d1.dup();
    pipe.decode(pipe.initialLatents(5, 3));
    pipe.predictNoise(pipe.initialLatents(6, 3), 900, states);
    assertThat(a).isEqualTo(aCopy);
    assertThat(b).isEqualTo(bCopy);
    assertThat(d1).isEqualTo(d1Copy);
    assertThat(states).isEqualTo(statesCopy);
    assertThat(relL2(a, b)).isGreaterThan(1e-3);
    assertThat(relL2(b, c)).isGreaterThan(1e-3);
    // and a repeated call gives the same values from reused buffers
    assertThat(pipe.predictNoise(pipe.initialLatents(1, 3), 500, states)).isEqualTo(aCopy);
  }

  @Test
  void multiPromptInputsAreChecked() {
    INDArray latents = pipe.initialLatents(1, 2);
    assertThatThrownBy(() -> pipe.generate(List.of(PROMPT), latents, StableDiffusionPipeline.Progress.NONE))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 prompts and 2 images");
    assertThatThrownBy(() -> pipe.generate(java.util.Arrays.asList(PROMPT, null), latents,
        StableDiffusionPipeline.Progress.NONE)).hasMessageContaining("null at index 1");
    assertThatThrownBy(() -> pipe.generate(List.<String>of(), latents, StableDiffusionPipeline.Progress.NONE))
        .hasMessageContaining("prompts: expected one prompt per image");
    assertThatThrownBy(() -> pipe.generateFromEmbeddings(pipe.encodePrompts(List.of("")),
        pipe.encodePrompts(List.of("a", "b", "c")), latents, StableDiffusionPipeline.Progress.NONE))
        .hasMessageContaining("promptStates: expected shape [1, 77, D] or [2, 77, D]");
  }

  @Test
  void guidanceChangesTheImageAndTheNegativePromptMatters() {
    INDArray latents = pipe.initialLatents(5, 1);
    INDArray w2 = pipe.generate(PROMPT, latents);
    INDArray w1 = tiny().guidanceScale(1.0).build().generate(PROMPT, latents);
    INDArray neg = pipe.generate(PROMPT, "a dog", latents, StableDiffusionPipeline.Progress.NONE);
    assertThat(relL2(w2, w1)).isGreaterThan(1e-3);
    assertThat(relL2(w2, neg)).isGreaterThan(1e-3);
  }

  @Test
  void progressIsReportedOncePerStepWithTheSchedulersTimesteps() {
    List<Long> seen = new ArrayList<>();
    List<Integer> totals = new ArrayList<>();
    pipe.generate(PROMPT, 1, 1, new StableDiffusionPipeline.Progress() {
      @Override
      public void onStep(int completed, int total, long timestep) {
        assertThat(completed).isEqualTo(seen.size() + 1);
        seen.add(timestep);
        totals.add(total);
      }
    });
    Scheduler s = Scheduler.create(SchedulerType.DDIM, folder.resolve("scheduler/scheduler_config.json"));
    s.setTimesteps(2);
    assertThat(seen).containsExactly(java.util.Arrays.stream(s.timesteps()).boxed().toArray(Long[]::new));
    assertThat(totals).containsOnly(2);
  }

  @Test
  void cancellationStopsBeforeTheNextStepAndLeavesThePipelineUsable() {
    int[] steps = {0};
    StableDiffusionPipeline.Progress cancelAfterOne = new StableDiffusionPipeline.Progress() {
      @Override
      public void onStep(int completed, int total, long timestep) {
        steps[0]++;
      }

      @Override
      public boolean isCancelled() {
        return steps[0] >= 1;
      }
    };
    assertThatThrownBy(() -> pipe.generate(PROMPT, 1, 2, cancelAfterOne))
        .isInstanceOf(CancellationException.class).hasMessageContaining("after 1 of 2 steps");
    assertThat(steps[0]).isEqualTo(1);
    assertThat(pipe.generate(PROMPT, 1, 2)).hasSize(1);
  }

  @Test
  void ddimWithEtaIsSeededAndDiffersFromEtaZero() {
    StableDiffusionPipeline noisy = tiny().eta(1.0).build();
    INDArray a = noisy.generate(PROMPT, 1, 6).get(0);
    assertThat(noisy.generate(PROMPT, 1, 6).get(0)).isEqualTo(a);
    assertThat(relL2(a, pipe.generate(PROMPT, 1, 6).get(0))).isGreaterThan(1e-3);
  }

  @Test
  void missingFilesAreAllNamed() throws Exception {
    Path broken = TinyPipelineFolder.write(tmp.resolve("broken"), 11);
    Files.delete(broken.resolve("unet/diffusion_pytorch_model.safetensors"));
    Files.delete(broken.resolve("tokenizer/merges.txt"));
    Files.delete(broken.resolve("model_index.json"));
    assertThatThrownBy(() -> tiny().modelDirectory(broken).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("model_index.json")
        .hasMessageContaining("tokenizer/merges.txt")
        .hasMessageContaining("unet/diffusion_pytorch_model.safetensors (or diffusion_pytorch_model.fp16.safetensors)")
        .hasMessageNotContaining("vae/");
    assertThatThrownBy(() -> tiny().modelDirectory(tmp.resolve("nowhere")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nowhere (missing)");
  }

  @Test
  void builderRejectsBadSettings() {
    assertThatThrownBy(() -> tiny().steps(0).build()).hasMessageContaining("steps");
    assertThatThrownBy(() -> tiny().guidanceScale(Double.NaN).build()).hasMessageContaining("guidanceScale");
    assertThatThrownBy(() -> tiny().scheduler(SchedulerType.EULER).eta(0.5).build()).hasMessageContaining("eta");
    assertThatThrownBy(() -> tiny().height(10).build()).hasMessageContaining("multiples of 4");
    assertThatThrownBy(() -> pipe.generate(PROMPT, Nd4j.zeros(DataType.FLOAT, 1, 4, 4, 4)))
        .hasMessageContaining("initialLatents: expected shape [N, 4, 8, 8]");
  }

  @Test
  void fp16WeightFilesAreUpcast() throws Exception {
    Path half = TinyPipelineFolder.write(tmp.resolve("half"), 11);
    for (String c : List.of("unet", "vae")) {
      Path f32 = half.resolve(c).resolve("diffusion_pytorch_model.safetensors");
      Map<String, INDArray> w = new LinkedHashMap<>();
      SafeTensors.read(f32).forEach((k, v) -> w.put(k, v.castTo(DataType.HALF)));
      SafeTensors.write(half.resolve(c).resolve("diffusion_pytorch_model.fp16.safetensors"), w);
      Files.delete(f32);
    }
    Path text = half.resolve("text_encoder/model.safetensors");
    Map<String, INDArray> w = new LinkedHashMap<>();
    SafeTensors.read(text).forEach((k, v) -> w.put(k, v.castTo(DataType.HALF)));
    SafeTensors.write(half.resolve("text_encoder/model.fp16.safetensors"), w);
    Files.delete(text);
    INDArray latents = pipe.initialLatents(4, 1);
    INDArray fromHalf = tiny().modelDirectory(half).build().generate(PROMPT, latents);
    // the same weights rounded to fp16: close to, not equal to, the fp32 images
    assertThat(relL2(fromHalf, pipe.generate(PROMPT, latents))).isLessThan(2e-2);
  }

  @Test
  void defaultSizeComesFromTheConfig() {
    StableDiffusionPipeline p = tiny().height(0).width(0).build();
    assertThat(p.height()).isEqualTo(16);
    assertThat(p.latentShape()).containsExactly(4, 8, 8);
    StableDiffusionPipeline d = StableDiffusionPipeline.builder().modelDirectory(folder).build();
    assertThat(d.height()).isEqualTo(512);
    assertThat(d.steps()).isEqualTo(50);
    assertThat(d.guidanceScale()).isEqualTo(2.0);
    assertThat(d.scheduler()).isEqualTo(SchedulerType.DDIM);
  }
}
