package io.github.stablerep.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.examples.TinyStableDiffusion;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The fidelity check of the shipped tiny Stable Diffusion, at a reduced size: a judge trained on
 * 200 real training images per class must score well on real test images, and at least 90 % of
 * generated images must be classified as their caption's class.
 */
class FidelityJudgeTest {

  /** The tiny model's class words, in Fashion-MNIST's label order. */
  static final int PER_CLASS = 3;

  @TempDir
  Path tmp;

  @Test
  void generatedImagesAreJudgedAsTheirCaptionsClass() throws Exception {
    long start = System.nanoTime();
    DemoData data = DemoData.load(null, tmp.resolve("work"), FidelityJudge.SIZE, 200, 100);
    long loaded = System.nanoTime();
    FidelityJudge judge = FidelityJudge.train(data.train(), 0, null);
    long trained = System.nanoTime();
    double accuracy = judge.testAccuracy(data.test());
    System.out.printf("fidelity judge: %s trained on %d real images in %.1f s; real test accuracy %.1f %% (%d images)%n",
        judge, data.train().size(), (trained - loaded) / 1e9, 100 * accuracy, data.test().size());
    assertThat(accuracy).as("the judge's accuracy on real test images").isGreaterThan(0.8);

    Path model = TinyStableDiffusion.folder(tmp);
    StableDiffusionPipeline pipe = StableDiffusionPipeline.builder().modelDirectory(model)
        .scheduler(SchedulerType.DDIM).steps(15).guidanceScale(2.0).height(0).width(0).build();
    List<String> captions = new ArrayList<>();
    int[] expected = new int[TinyStableDiffusion.CLASSES.size() * PER_CLASS];
    for (int c = 0; c < TinyStableDiffusion.CLASSES.size(); c++) {
      for (int j = 0; j < PER_CLASS; j++) {
        expected[captions.size()] = c;
        captions.add(caption(c, j));
      }
    }
    long generating = System.nanoTime();
    INDArray images = pipe.generate(captions, pipe.initialLatents(0, captions.size()),
        StableDiffusionPipeline.Progress.NONE);
    long generated = System.nanoTime();
    assertThat(images.shape()).containsExactly(captions.size(), 3, 32, 32);
    int[] predicted = judge.predict(FidelityJudge.cropGenerated(images));
    double agreement = judge.agreement(FidelityJudge.cropGenerated(images), expected);
    List<String> misses = new ArrayList<>();
    for (int i = 0; i < predicted.length; i++) {
      if (predicted[i] != expected[i]) {
        misses.add("'" + captions.get(i) + "' -> " + TinyStableDiffusion.CLASSES.get(predicted[i]));
      }
    }
    System.out.printf("fidelity: %.1f %% of %d generated images (DDIM 15 steps, guidance 2, %.1f s) judged as their "
        + "caption's class; misses %s; whole test %.1f s%n", 100 * agreement, predicted.length,
        (generated - generating) / 1e9, misses, (System.nanoTime() - start) / 1e9);
    assertThat(agreement).as("agreement; misses: %s", misses).isGreaterThanOrEqualTo(0.9);
  }

  /** Caption j of class c: templates, sizes and shades cycle so that the 30 captions vary all three. */
  static String caption(int c, int j) {
    return TinyStableDiffusion.TEMPLATES.get(j % 3) + " " + TinyStableDiffusion.SIZES.get((j + c) % 3) + " " + TinyStableDiffusion.BRIGHTNESS.get((j + 2 * c) % 3) + " "
        + TinyStableDiffusion.CLASSES.get(c);
  }

  @Test
  void cropRemovesTheGeneratorsTwoPixelBorder() {
    INDArray images = Nd4j.zeros(DataType.FLOAT, 2, 3, 32, 32);
    images.putScalar(new long[] {1, 0, 2, 2}, 1.0);
    images.putScalar(new long[] {1, 0, 29, 29}, 0.5);
    images.putScalar(new long[] {1, 0, 1, 1}, 7.0); // in the border: dropped
    INDArray crop = FidelityJudge.cropGenerated(images);
    assertThat(crop.shape()).containsExactly(2, 3, 28, 28);
    assertThat(crop.getDouble(1, 0, 0, 0)).isEqualTo(1.0);
    assertThat(crop.getDouble(1, 0, 27, 27)).isEqualTo(0.5);
    assertThat(crop.sumNumber().doubleValue()).isEqualTo(1.5);
    assertThat(FidelityJudge.cropGenerated(List.of(images.get(NDArrayIndex.point(0)), images.get(NDArrayIndex.point(1)))).shape())
        .containsExactly(2, 3, 28, 28);
    assertThatThrownBy(() -> FidelityJudge.cropGenerated(Nd4j.zeros(DataType.FLOAT, 1, 3, 28, 28)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("images32").hasMessageContaining("28");
  }

  @Test
  void rejectsMismatchedInputsNamingThem() throws Exception {
    DemoData data = DemoData.load(null, tmp.resolve("work"), FidelityJudge.SIZE, 5, 1);
    assertThatThrownBy(() -> FidelityJudge.train(new DemoData.Labelled(data.train().images(), new int[3]), 0, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels");
    FidelityJudge judge = FidelityJudge.train(data.train(), 0, 1, 25, null);
    assertThat(judge.steps()).isEqualTo(2);
    assertThat(Arrays.stream(judge.predict(data.test().images()))).hasSize(10).allMatch(p -> p >= 0 && p < 10);
    // one channel works as three
    INDArray grey = data.test().images().mean(true, 1);
    assertThat(judge.predict(grey)).containsExactly(judge.predict(data.test().images()));
    assertThatThrownBy(() -> judge.agreement(data.test().images(), new int[4]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expectedClasses");
    assertThatThrownBy(() -> judge.predict(Nd4j.zeros(DataType.FLOAT, 1, 3, 32, 32)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("images").hasMessageContaining("32");
    assertThat(Arrays.stream(new int[] {FidelityJudge.defaultEpochs(12_000), FidelityJudge.defaultEpochs(2_000)}))
        .allMatch(e -> e >= 1);
  }
}
