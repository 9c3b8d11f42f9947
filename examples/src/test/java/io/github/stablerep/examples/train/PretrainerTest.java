package io.github.stablerep.examples.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.SimClrAugmentation;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.models.vit.ProjectionHead;
import io.github.stablerep.models.vit.VisionTransformer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class PretrainerTest {
  @TempDir
  static Path tmp;

  static CaptionDataset dataset;

  /**
   * 8 captions of 4 images, 8x8: each caption is a random prototype plus small noise, so images
   * of one caption really are alike and the loss has something to learn.
   */
  @BeforeAll
  static void writeImages() throws Exception {
    Random rng = new Random(5);
    List<CaptionGroup> groups = new ArrayList<>();
    for (int c = 0; c < 8; c++) {
      double[] proto = new double[3 * 8 * 8];
      for (int i = 0; i < proto.length; i++) {
        proto[i] = rng.nextDouble();
      }
      List<Path> files = new ArrayList<>();
      for (int k = 0; k < 4; k++) {
        double[] px = new double[proto.length];
        for (int i = 0; i < px.length; i++) {
          px[i] = Math.min(1, Math.max(0, proto[i] + 0.05 * rng.nextGaussian()));
        }
        Path f = tmp.resolve("img/" + c + "/" + k + ".png");
        Files.createDirectories(f.getParent());
        Images.writePng(f, Nd4j.createFromArray(px).reshape(3, 8, 8).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT));
        files.add(f.toAbsolutePath());
      }
      groups.add(new CaptionGroup("c" + c, "caption " + c, files));
    }
    dataset = CaptionDataset.of(groups);
  }

  static Pretrainer.Builder small() {
    return Pretrainer.builder()
        .vit(VisionTransformer.builder().imageSize(8).patchSize(4).width(16).depth(1).heads(2).seed(3).build())
        .dataset(dataset).captionsPerBatch(4).viewsPerCaption(2)
        .augmentation(SimClrAugmentation.builder().size(8).cropScale(0.6, 1).blurProbability(0).build())
        .learningRate(5e-3).weightDecay(0.05).seed(11).threads(1);
  }

  static List<float[]> state(SameDiff sd) {
    List<float[]> out = new ArrayList<>();
    for (SDVariable v : sd.variables()) {
      VariableType t = v.getVariableType();
      if ((t == VariableType.VARIABLE || t == VariableType.CONSTANT) && v.getArr() != null
          && v.getArr().dataType().isFPType()) {
        out.add(v.getArr().dup().data().asFloat());
      }
    }
    return out;
  }

  @Test
  void lossDecreases() throws Exception {
    Pretrainer.Result r = small().steps(40).build().train(null, null);
    double[] l = r.losses();
    assertThat(l).hasSize(40);
    double first = (l[0] + l[1] + l[2] + l[3] + l[4]) / 5;
    double last = (l[35] + l[36] + l[37] + l[38] + l[39]) / 5;
    System.out.printf("pretrainer: loss %.4f -> %.4f%n", first, last);
    assertThat(last).isLessThan(first * 0.7);
  }

  /**
   * A run cancelled mid-epoch (step 3 of 2 batches per epoch) and resumed from its checkpoint
   * ends with bit-for-bit the weights, BatchNorm statistics and loss history of an
   * uninterrupted run.
   */
  @Test
  void resumeMidRunIsBitwiseTheUninterruptedRun() throws Exception {
    Pretrainer whole = small().steps(6).checkpoint(tmp.resolve("whole.safetensors")).checkpointEvery(2).build();
    assertThat(whole.stepsPerEpoch()).isEqualTo(2);
    Pretrainer.Result a = whole.train(null, null);

    Path ck = tmp.resolve("cut.safetensors");
    AtomicInteger seen = new AtomicInteger();
    List<Pretrainer.Progress> progress = new ArrayList<>();
    Pretrainer cut = small().steps(6).checkpoint(ck).checkpointEvery(100).build();
    assertThatThrownBy(() -> cut.train(p -> {
      progress.add(p);
      seen.incrementAndGet();
    }, () -> seen.get() == 3)).isInstanceOf(CancellationException.class);
    assertThat(progress).hasSize(3);
    assertThat(progress.get(2).step()).isEqualTo(3);
    assertThat(progress.get(2).totalSteps()).isEqualTo(6);
    assertThat(progress.get(2).imagesPerSecond()).isPositive();
    Pretrainer.Result b = cut.train(null, null);

    assertThat(b.resumedFromStep()).isEqualTo(3);
    assertThat(b.losses()).containsExactly(a.losses());
    List<float[]> sa = state(a.graph());
    List<float[]> sb = state(b.graph());
    assertThat(sb).hasSameSizeAs(sa);
    for (int i = 0; i < sa.size(); i++) {
      assertThat(sb.get(i)).containsExactly(sa.get(i));
    }
    // a finished checkpoint is not trained again
    assertThat(cut.train(null, null).losses()).containsExactly(a.losses());
  }

  @Test
  void refusesACheckpointOfAnotherConfiguration() throws Exception {
    Path ck = tmp.resolve("other.safetensors");
    small().steps(1).checkpoint(ck).build().train(null, null);
    // the models' configs, for the CLI's embed and export
    Pretrainer p = small().steps(1).checkpoint(ck).build();
    TrainingCheckpoint read = TrainingCheckpoint.read(ck);
    assertThat(VisionTransformer.fromConfig(read.modelConfig("vit").orElseThrow())).isEqualTo(p.vit());
    assertThat(ProjectionHead.fromConfig(read.modelConfig("image_mlp").orElseThrow())).isEqualTo(p.head());
    assertThatThrownBy(() -> small().steps(1).learningRate(1e-3).checkpoint(ck).build().train(null, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected a run with configuration");
  }

  @Test
  void simClrCaptionsListEachImageTwice() throws Exception {
    CaptionDataset s = Pretrainer.singleImageCaptions(dataset);
    assertThat(s.captions()).hasSize(32);
    assertThat(s.captions().get(5).images()).hasSize(2).allMatch(p -> p.equals(dataset.captions().get(1).images().get(1)));
    Pretrainer.Result r = small().dataset(s).steps(2).build().train(null, null);
    assertThat(r.losses()).hasSize(2);
    assertThat(java.util.Arrays.stream(r.losses()).allMatch(Double::isFinite)).isTrue();
  }

  @Test
  void badSettingsAreNamed() {
    assertThatThrownBy(() -> small().viewsPerCaption(1).build()).hasMessageContaining("viewsPerCaption");
    assertThatThrownBy(() -> small().augmentation(SimClrAugmentation.builder().size(16).build()).build())
        .hasMessageContaining("augmentation: expected output size 8 x 8");
    assertThatThrownBy(() -> small().dataset(null).build()).hasMessageContaining("dataset");
  }

  /** build() resolves its defaults without writing them into the builder. */
  @Test
  void buildDoesNotMutateTheBuilder() {
    VisionTransformer narrow = VisionTransformer.builder().imageSize(8).patchSize(4).width(16).depth(1).heads(2).build();
    VisionTransformer wide = narrow.toBuilder().width(32).build();
    Pretrainer.Builder b = Pretrainer.builder().vit(narrow).dataset(dataset).captionsPerBatch(4).viewsPerCaption(2)
        .augmentation(SimClrAugmentation.builder().size(8).build());
    Pretrainer first = b.build();
    assertThat(first.head().inputDim()).isEqualTo(16);
    assertThat(first.learningRate()).isEqualTo(2e-4 * 8 / 256);
    // before the fix the first build's default head (width 16) and peak lr (batch 8) stuck
    Pretrainer second = b.vit(wide).captionsPerBatch(8).build();
    assertThat(second.head().inputDim()).isEqualTo(32);
    assertThat(second.learningRate()).isEqualTo(2e-4 * 16 / 256);
    assertThat(first.head().inputDim()).isEqualTo(16);
  }

  /**
   * The loss history lives in {@code <checkpoint>.losses}, appended at each checkpoint; a
   * checkpoint of the old format (history in the metadata) resumes to the same history, and
   * entries past the checkpoint's step (a crash between appending and saving) are dropped.
   */
  @Test
  void lossHistoryIsAppendedBesideTheCheckpointAndLegacyCheckpointsResume() throws Exception {
    Pretrainer.Result whole = small().steps(4).build().train(null, null);

    Path ck = tmp.resolve("history/ck.safetensors");
    AtomicInteger seen = new AtomicInteger();
    Pretrainer cut = small().steps(4).checkpoint(ck).checkpointEvery(1).build();
    assertThatThrownBy(() -> cut.train(p -> seen.incrementAndGet(), () -> seen.get() == 2))
        .isInstanceOf(CancellationException.class);
    Path history = LossHistory.fileOf(ck);
    assertThat(LossHistory.read(history)).containsExactly(whole.losses()[0], whole.losses()[1]);
    assertThat(TrainingCheckpoint.read(ck).metadata()).doesNotContainKey(Pretrainer.LEGACY_LOSSES);

    // an old checkpoint: the history as comma-joined text in the metadata, no history file
    TrainingCheckpoint old = TrainingCheckpoint.read(ck);
    java.util.Map<String, String> meta = new java.util.LinkedHashMap<>(old.metadata());
    meta.put(Pretrainer.LEGACY_LOSSES, whole.losses()[0] + "," + whole.losses()[1]);
    old.toBuilder().metadata(meta).build().write(ck);
    Files.delete(history);
    Pretrainer.Result resumed = cut.train(null, null);
    assertThat(resumed.resumedFromStep()).isEqualTo(2);
    assertThat(resumed.losses()).containsExactly(whole.losses());
    assertThat(LossHistory.read(history)).containsExactly(whole.losses());

    // a history longer than its checkpoint's step count: the extra entries are dropped on resume
    Path ck2 = tmp.resolve("history2/ck.safetensors");
    AtomicInteger seen2 = new AtomicInteger();
    Pretrainer cut2 = small().steps(4).checkpoint(ck2).checkpointEvery(1).build();
    assertThatThrownBy(() -> cut2.train(p -> seen2.incrementAndGet(), () -> seen2.get() == 2))
        .isInstanceOf(CancellationException.class);
    Files.write(LossHistory.fileOf(ck2), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, java.nio.file.StandardOpenOption.APPEND);
    assertThat(cut2.train(null, null).losses()).containsExactly(whole.losses());
    assertThat(LossHistory.read(LossHistory.fileOf(ck2))).containsExactly(whole.losses());

    // a history shorter than its checkpoint (deleted by hand) is refused, naming the file
    Files.delete(LossHistory.fileOf(ck2));
    assertThatThrownBy(() -> cut2.train(null, null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ck.safetensors.losses").hasMessageContaining("expected at least 4 losses");
  }
}
