package io.github.stablerep.examples.programs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.models.diffusion.TinyPipelineFolder;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitPreset;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Runs each example program on tiny inputs and checks what it writes. */
class ExampleProgramsTest {

  interface Body {
    void run() throws Exception;
  }

  /** What {@code body} prints to stdout. */
  static String stdout(Body body) throws Exception {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream saved = System.out;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.setOut(saved);
    }
    String text = captured.toString(StandardCharsets.UTF_8);
    saved.print(text);
    return text;
  }

  @Test
  void ownTrainingLoopTrainsOnAToyDatasetAndWritesCheckpoints(@TempDir Path dir) throws Exception {
    String out = stdout(() -> OwnTrainingLoop.main(new String[] {"--out", dir.toString(), "--steps", "4", "--seed", "3"}));

    Matcher m = Pattern.compile("step +(\\d+) +epoch (\\d+) +loss (\\S+) ").matcher(out);
    int steps = 0;
    while (m.find()) {
      assertThat(Integer.parseInt(m.group(1))).isEqualTo(steps++);
      double loss = Double.parseDouble(m.group(3));
      // 12 rows, 2 positives each: a loss between 0 and well above ln(11) (~2.4) at the start
      assertThat(loss).isFinite().isPositive().isLessThan(10);
    }
    assertThat(steps).isEqualTo(4);
    assertThat(out).contains("epoch 1"); // 8 captions / 4 per batch: the loop crossed an epoch

    TrainingCheckpoint ckpt = TrainingCheckpoint.read(dir.resolve("checkpoint.safetensors"));
    assertThat(ckpt.step()).isEqualTo(4);
    assertThat(ckpt.rngSeed()).isEqualTo(3);
    assertThat(ckpt.epoch()).isEqualTo(1);
    assertThat(ckpt.model()).containsKeys("vit.pos_embed", "image_mlp.layer1.weight", "image_mlp.bn1.running_mean");
    assertThat(ckpt.optimizerState()).isNotEmpty();
    // four steps moved the BatchNorm running mean away from its initial zeros
    assertThat(ckpt.model().get("image_mlp.bn1.running_mean").norm2Number().doubleValue()).isPositive();

    Map<String, INDArray> timm = SafeTensors.read(dir.resolve("vit-timm.safetensors"));
    assertThat(timm).containsKeys("cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.1.mlp.fc2.bias");
    assertThat(timm.get("pos_embed").shape()).containsExactly(1, 17, 32);
    assertThat(CaptionDataset.fromCaptionFolders(dir.resolve("toy-captions")).imageCount()).isEqualTo(32);
  }

  @Test
  void ownTrainingLoopRejectsAnUnknownOption() {
    assertThatThrownBy(() -> OwnTrainingLoop.main(new String[] {"--epochs", "3"}))
        .hasMessageContaining("unknown argument '--epochs'").hasMessageContaining("--steps");
  }

  @Test
  void augmentOnlyWritesAGridOfViews(@TempDir Path dir) throws Exception {
    Path photo = dir.resolve("photo.png");
    Images.writePng(photo, AugmentOnly.testPicture(60, 40));
    Path grid = dir.resolve("out/grid.png");
    stdout(() -> AugmentOnly.main(new String[] {"--out", grid.toString(), "--size", "24", "--views", "3", photo.toString(),
        photo.toString()}));

    INDArray g = Images.read(grid);
    assertThat(g.shape()).containsExactly(3, 2 * 24, 7 * 24);
    INDArray whole = tile(g, 0, 0);
    INDArray firstView = tile(g, 0, 1);
    assertThat(firstView.equalsWithEps(tile(g, 0, 2), 1e-3)).as("two views of one image differ").isFalse();
    assertThat(firstView.equalsWithEps(whole, 1e-3)).isFalse();
    // both rows come from the same picture with the same first column, but other seeds
    assertThat(tile(g, 1, 0).equalsWithEps(whole, 1e-6)).isTrue();
    assertThat(tile(g, 1, 1).equalsWithEps(firstView, 1e-3)).isFalse();
  }

  @Test
  void augmentOnlyRunsWithoutImages(@TempDir Path dir) throws Exception {
    Path grid = dir.resolve("grid.png");
    // as mvn exec:exec passes -Ddemo.args: one argument
    String out = stdout(() -> AugmentOnly.main(new String[] {" --out " + grid + "  --size 16 --views 2 "}));
    assertThat(out).contains("drew a test picture");
    assertThat(Images.read(grid).shape()).containsExactly(3, 16, 5 * 16);
  }

  private static INDArray tile(INDArray grid, int row, int column) {
    return grid.get(NDArrayIndex.all(), NDArrayIndex.interval(row * 24, row * 24 + 24),
        NDArrayIndex.interval(column * 24, column * 24 + 24)).dup();
  }

  @Test
  void probeTimmCheckpointRunsOnARandomViTAndSaysSo(@TempDir Path dir) throws Exception {
    String out = stdout(() -> ProbeTimmCheckpoint.main(new String[] {"--out", dir.toString()}));

    assertThat(out).contains("RANDOM, UNTRAINED").contains("load it at 32x32");
    assertThat(out).containsPattern("linear probe: ProbeResult\\{top1=0\\.\\d{4}, meanPerClass=");
    assertThat(out).containsPattern("kNN: +ProbeResult\\{top1=0\\.\\d{4}");
    assertThat(Npy.read(dir.resolve("features-train.npy")).shape()).containsExactly(48, 32);
    assertThat(Npy.read(dir.resolve("features-test.npy")).shape()).containsExactly(24, 32);
    // the exported checkpoint has the 48x48 grid (6x6 patches + class token); the model read it at 4x4
    assertThat(SafeTensors.read(dir.resolve("random-vit-48px-timm.safetensors")).get("pos_embed").shape())
        .containsExactly(1, 37, 32);
  }

  @Test
  void probeTimmCheckpointLoadsAGivenPresetCheckpointAndFolders(@TempDir Path dir) throws Exception {
    // a timm-layout ViT-Ti/16 saved at 48x48 (3x3 patches), probed at 32x32 (2x2) on given folders
    VisionTransformer at48 = VisionTransformer.builder().preset(VitPreset.TI_16).imageSize(48).seed(5).build();
    SameDiff sd = SameDiff.create();
    at48.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 48, 48));
    Path weights = dir.resolve("ti16.safetensors");
    SafeTensors.write(weights, at48.exportWeights(sd, WeightLayout.TIMM));
    Path train = ProbeTimmCheckpoint.writeToyImageFolder(dir.resolve("train"), 4, 1);
    Path test = ProbeTimmCheckpoint.writeToyImageFolder(dir.resolve("test"), 2, 2);

    String out = stdout(() -> ProbeTimmCheckpoint.main(new String[] {"--weights", weights.toString(), "--preset", "TI_16",
        "--image-size", "32", "--train", train.toString(), "--test", test.toString(), "--out",
        dir.resolve("out").toString()}));
    assertThat(out).doesNotContain("RANDOM").contains("loaded " + weights).contains("width=192");
    assertThat(Npy.read(dir.resolve("out/features-train.npy")).shape()).containsExactly(12, 192);
    assertThat(out).containsPattern("kNN: +ProbeResult\\{top1=");

  }

  @Test
  void generateDatasetWithoutAModelSaysWhatItNeedsAndExits2() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = GenerateDataset.run(new String[] {"--images 2"}, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("needs --model SD_FOLDER").contains("model_index.json")
        .contains("does not download");
  }

  @Test
  void generateDatasetRejectsAnUnknownOptionWithStatus2() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = GenerateDataset.run(new String[] {"--model", "m", "--prompt", "x"}, System.out,
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(status).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("found '--prompt'");
  }

  @Test
  void generateDatasetWritesPngsAndAManifest(@TempDir Path dir) throws Exception {
    Path model = TinyPipelineFolder.write(dir.resolve("model"), 11);
    Path out = dir.resolve("synth");
    Path captions = dir.resolve("captions.txt");
    Files.writeString(captions, "a photo of a cat\n\n  a dog \n");
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    int status = GenerateDataset.run(new String[] {"--model", model.toString(), "--captions", captions.toString(), "--out",
        out.toString(), "--images", "2", "--steps", "2", "--size", String.valueOf(TinyPipelineFolder.SIZE)},
        new PrintStream(stdout, true, StandardCharsets.UTF_8), System.err);
    assertThat(status).isZero();
    assertThat(stdout.toString(StandardCharsets.UTF_8)).contains("step 2/2").contains("wrote 4 images");

    CaptionDataset ds = CaptionDataset.fromManifest(out.resolve("manifest.tsv"));
    assertThat(ds.captions()).extracting(c -> c.caption()).containsExactly("a photo of a cat", "a dog");
    List<Path> images = ds.captions().get(1).images();
    assertThat(images).hasSize(2);
    INDArray a = Images.read(images.get(0));
    assertThat(a.shape()).containsExactly(3, TinyPipelineFolder.SIZE, TinyPipelineFolder.SIZE);
    assertThat(a.equalsWithEps(Images.read(images.get(1)), 1e-3)).as("two seeds, two images").isFalse();
    assertThat(Files.list(out.resolve("00000")).count()).isEqualTo(2);
  }
}
