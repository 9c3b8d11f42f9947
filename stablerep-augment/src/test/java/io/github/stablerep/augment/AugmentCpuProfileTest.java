package io.github.stablerep.augment;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.SimClrAugmentation.SampleParameters;
import io.github.stablerep.augment.SimClrAugmentation.Stage;
import io.github.stablerep.augment.SimClrAugmentation.StageTimer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The profiler times the pipeline's own stages: what {@code augmentOne} reports through its
 * {@link StageTimer} is exactly the stages the sample's parameters call for, and timing does not
 * change a pixel.
 */
class AugmentCpuProfileTest {

  /** Every optional stage on about half the samples, so all of them show up in a small batch. */
  private static final SimClrAugmentation EVERY_STAGE = SimClrAugmentation.builder().size(24)
      .downsample(0.5, 12, 16).solarize(0.5, 0.5).jitterProbability(0.8).build();

  private static List<Stage> expected(SimClrAugmentation aug, SampleParameters p) {
    List<Stage> want = new ArrayList<>();
    want.add(Stage.LOAD);
    if (p.downsampleResolution() > 0) {
      want.add(Stage.DOWNSAMPLE);
    }
    want.add(Stage.CROP_RESIZE);
    if (p.jitter()) {
      double[] strengths = aug.jitterStrengths();
      Stage[] jitter = {Stage.BRIGHTNESS, Stage.CONTRAST, Stage.SATURATION, Stage.HUE};
      for (int op : p.jitterOrder()) {
        if (strengths[op] > 0) {
          want.add(jitter[op]);
        }
      }
    }
    if (p.grayscale()) {
      want.add(Stage.GRAYSCALE);
    }
    if (p.blur()) {
      want.add(Stage.BLUR);
    }
    if (p.flip()) {
      want.add(Stage.FLIP);
    }
    if (p.solarize()) {
      want.add(Stage.SOLARIZE);
    }
    if (aug.normalizeEnabled()) {
      want.add(Stage.NORMALIZE);
    }
    return want;
  }

  @Test
  void theTimerSeesExactlyTheStagesEachSampleRunsAndChangesNoPixel() {
    for (SimClrAugmentation aug : new SimClrAugmentation[] {EVERY_STAGE,
        EVERY_STAGE.toBuilder().colorJitter(0.4, 0, 0.4, 0).normalize(false).build()}) {
      INDArray x = SimClrAugmentationTest.batch(5, 32, 40, 36);
      ImageOps.Batch in = ImageOps.Batch.of("batch", x);
      int[] reflect = ImageKernels.reflectIndex(aug.size(), aug.blurKernelSize() / 2);
      List<SampleParameters> ps = aug.sampleParameters(in.n, in.h, in.w, 77L);
      boolean[] seen = new boolean[Stage.values().length];
      for (int i = 0; i < in.n; i++) {
        List<Stage> got = new ArrayList<>();
        float[][] timed = copy(aug.augmentOne(in, i, ps.get(i), reflect, new StageTimer() {
          @Override
          public long mark() {
            return 0;
          }

          @Override
          public void done(Stage stage, long mark) {
            got.add(stage);
          }
        }));
        assertThat(got).as("sample %d", i).isEqualTo(expected(aug, ps.get(i)));
        got.forEach(st -> seen[st.ordinal()] = true);
        float[][] plain = aug.augmentOne(in, i, ps.get(i), reflect);
        for (int ch = 0; ch < 3; ch++) {
          assertThat(timed[ch]).as("sample %d channel %d", i, ch).containsExactly(
              java.util.Arrays.copyOf(plain[ch], aug.size() * aug.size()));
        }
      }
      if (aug == EVERY_STAGE) {
        for (Stage st : Stage.values()) {
          assertThat(seen[st.ordinal()]).as("stage %s ran on some sample", st).isTrue();
        }
      }
    }
  }

  private static float[][] copy(float[][] planes) {
    float[][] out = new float[planes.length][];
    for (int c = 0; c < planes.length; c++) {
      out[c] = java.util.Arrays.copyOf(planes[c], 24 * 24);
    }
    return out;
  }

  @Test
  void theProfileCountsEveryMeasuredSampleAndPrintsEveryStage() {
    INDArray x = SimClrAugmentationTest.batch(6, 8, 40, 36);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    AugmentCpuProfile.Totals t = AugmentCpuProfile.profile(EVERY_STAGE, x, 1, 3,
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertThat(t.count[Stage.LOAD.ordinal()]).isEqualTo(3 * 8);
    assertThat(t.count[Stage.CROP_RESIZE.ordinal()]).isEqualTo(3 * 8);
    assertThat(t.count[Stage.NORMALIZE.ordinal()]).isEqualTo(3 * 8);
    assertThat(text).contains("24 samples (3 batches of 8), 24x24 output");
    for (Stage st : Stage.values()) {
      assertThat(text).contains(st.name().toLowerCase(Locale.ROOT) + " ");
    }
    assertThat(text).contains("augmentOne").contains("apply into a reused output");
  }

  @Test
  void mainReadsAFolderOfPngs(@TempDir Path dir) throws IOException {
    for (int i = 0; i < 2; i++) {
      Images.writePng(dir.resolve(i + ".png"), SimClrAugmentationTest.batch(7 + i, 1, 30, 40)
          .get(org.nd4j.linalg.indexing.NDArrayIndex.point(0)));
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    AugmentCpuProfile.run(new String[] {dir.toString(), "1"},
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .contains("2 samples (1 batches of 2), 224x224 output");
  }
}
