package io.github.stablerep.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.models.diffusion.TinyPipelineFolder;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The main job at its reduced size (what CI runs): the shipped Stable Diffusion really generates
 * the training images, StableRep on them beats the random-init encoder, the table and every
 * picture are written, and a run killed mid-phase resumes to the same table.
 */
class StableRepDemoTest {

  /**
   * Linear-probe top-1 that StableRep on the generated images must gain over the same ViT at its
   * random initialisation, at the reduced size with seed 0 (measured on this machine: see the
   * README's "Reduced size (CI)"). The bound leaves room for another CPU's arithmetic.
   */
  static final double MARGIN = 0.05;

  @TempDir
  static Path tmp;

  static DemoReport whole;
  static String printed;

  @BeforeAll
  static void runUninterrupted() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    long t0 = System.nanoTime();
    whole = StableRepDemo.run(reduced(tmp.resolve("whole")), new PrintStream(bytes, true, StandardCharsets.UTF_8));
    printed = bytes.toString(StandardCharsets.UTF_8);
    System.out.printf("reduced main job: %.1f s%n%s", (System.nanoTime() - t0) / 1e9, whole.table());
  }

  static DemoOptions reduced(Path out) {
    return DemoOptions.defaults().withOut(out).withSize(DemoOptions.Size.REDUCED).withSeed(0);
  }

  @Test
  void stableRepOnSyntheticImagesBeatsRandomInitOnTheProbe() throws Exception {
    DemoReport.Row stableRep = whole.row(StableRepDemo.STABLEREP_SYNTHETIC);
    DemoReport.Row random = whole.row(StableRepDemo.RANDOM_INIT);
    assertThat(stableRep.probeTop1() - random.probeTop1()).as(whole.table()).isGreaterThan(MARGIN);
    assertThat(whole.rows()).extracting(DemoReport.Row::method).containsExactly(StableRepDemo.STABLEREP_SYNTHETIC,
        StableRepDemo.SIMCLR_SYNTHETIC, StableRepDemo.SIMCLR_REAL, StableRepDemo.STABLEREP_REAL,
        StableRepDemo.RANDOM_INIT, StableRepDemo.RAW_PIXELS);
    assertThat(whole.rows()).extracting(DemoReport.Row::data).containsExactly("synthetic (80)", "synthetic (80)",
        "real (80)", "real (80)", "none", "none");
    assertThat(whole.rows()).extracting(DemoReport.Row::imagesSeen).containsExactly(120L * 64, 120L * 64, 120L * 64,
        120L * 64, 0L, 0L);
    assertThat(printed).contains(whole.table()).contains("pre-train SimCLR (real)");
    assertThat(Files.readString(tmp.resolve("whole").resolve("results.md"))).isEqualTo(whole.markdown())
        .startsWith(whole.table());
    // the judge is FidelityJudgeTest's (which holds the 90 % bar on DDIM 15 steps); here a
    // sanity bound on 80 images at the reduced sampler settings
    assertThat(whole.fidelity().images()).isEqualTo(80);
    assertThat(whole.fidelity().agreement()).as(whole.fidelity().line()).isGreaterThan(0.8);
    assertThat(printed).contains(whole.fidelity().line());
  }

  /** The training images are the pipeline's: 20 captions of the model's vocabulary, 4 PNGs each. */
  @Test
  void theShippedPipelineGeneratedTheTrainingImages() throws Exception {
    Path images = tmp.resolve("whole").resolve("generated").resolve("images");
    CaptionDataset generated = CaptionDataset.fromManifest(images.resolve("manifest.tsv"));
    assertThat(generated.size()).isEqualTo(20);
    assertThat(generated.imageCount()).isEqualTo(80);
    assertThat(generated.captions()).extracting(CaptionGroup::caption)
        .allMatch(c -> c.matches("a (photo|product photo|picture) of a (small|medium|large) (dark|grey|light) .+"));
    assertThat(printed).contains("generated 80 images (0 kept from before)")
        .contains("captions: 20 (e.g. \"" + generated.captions().get(0).caption() + "\", 4 images)");
    for (CaptionGroup g : generated.captions()) {
      for (Path p : g.images()) {
        assertThat(p).startsWith(images);
        INDArray im = Images.read(p);
        assertThat(im.shape()).containsExactly(3, 28, 28);
        assertThat(im.maxNumber().doubleValue()).as(p.toString()).isGreaterThan(im.minNumber().doubleValue());
      }
    }
  }

  @Test
  void everyPictureIsWrittenAndDecodes() throws Exception {
    assertThat(whole.pictures()).extracting(p -> p.getFileName().toString())
        .containsExactly("generated-samples.png", "augmented-views.png", "loss-curves.png", "pca-test-features.png");
    for (Path p : whole.pictures()) {
      INDArray image = Images.read(p);
      assertThat(image.size(0)).isEqualTo(3);
      assertThat(image.size(1)).as(p.toString()).isGreaterThan(100);
      assertThat(image.size(2)).as(p.toString()).isGreaterThan(100);
      assertThat(image.maxNumber().doubleValue()).isGreaterThan(image.minNumber().doubleValue());
    }
  }

  /**
   * A child JVM runs the job and is killed (SIGKILL) as soon as the first pre-training phase has
   * written a checkpoint; the job resumed with --resume prints the uninterrupted run's table.
   */
  @Test
  void resumeAfterAKillMidPhaseGivesTheSameTable() throws Exception {
    Path out = tmp.resolve("killed");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-D") || a.startsWith("-X")) {
        cmd.add(a);
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), StableRepDemo.class.getName(), "--size",
        "reduced", "--seed", "0", "--out", out.toString()));
    Path log = tmp.resolve("child.log");
    Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Path checkpoint = out.resolve("checkpoints").resolve("stablerep-synthetic.safetensors");
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    try {
      while (!Files.exists(checkpoint) && child.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    } finally {
      child.destroyForcibly();
      child.waitFor(1, TimeUnit.MINUTES);
    }
    assertThat(checkpoint).as("child log:%n%s", Files.exists(log) ? Files.readString(log) : "").exists();
    long step = TrainingCheckpoint.read(checkpoint).step();
    assertThat(step).as("killed mid-phase").isGreaterThan(0).isLessThan(120);
    assertThat(out.resolve("results.md")).doesNotExist();

    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DemoReport resumed = StableRepDemo.run(reduced(out).withResume(true),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertThat(text).contains("resumed at step").contains("generated 0 images (80 kept from before)");
    assertThat(resumed.table()).isEqualTo(whole.table());
    assertThat(resumed.rows()).isEqualTo(whole.rows());
    assertThat(Files.readString(out.resolve("results.md"))).isEqualTo(whole.markdown());
    assertThat(resumed.fidelity()).isEqualTo(whole.fidelity());
  }

  /**
   * {@code --generator DIR} takes another diffusers folder (a tiny random one here): it draws
   * templated class captions; the probes still run on the real test images.
   */
  @Test
  void anotherGeneratorFolderIsUsedForTheTrainingImages() throws Exception {
    Path model = TinyPipelineFolder.write(tmp.resolve("tiny-sd"), 3);
    Path out = tmp.resolve("generated");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DemoReport r = StableRepDemo.run(reduced(out).withGenerator(model).withGeneratorSteps(2).withSteps(3),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String text = bytes.toString(StandardCharsets.UTF_8);
    System.out.print(r.times());
    assertThat(text).contains("guidance 2").contains(model.toString());
    Path manifest = out.resolve("generated").resolve("images").resolve("manifest.tsv");
    List<String> lines = Files.readAllLines(manifest);
    assertThat(lines).hasSize(1 + 10 * 2 * 4); // header + 10 classes x 2 templates x m = 4
    assertThat(lines.get(1)).startsWith("c0-t0\ta photo of a t-shirt/top\t");
    INDArray first = Images.read(manifest.resolveSibling(lines.get(1).split("\t")[2].replace('/', File.separatorChar)));
    assertThat(first.shape()).containsExactly(3, 28, 28);
    assertThat(r.phases()).containsKey("generate");
    assertThat(r.rows()).hasSize(6);
  }

  /**
   * {@code --data MANIFEST}: the job trains on the manifest's captions (16 captions of 4 toy
   * images here) and still probes on the embedded test images.
   */
  @Test
  void captionManifestIsUsedForTheTrainingImages() throws Exception {
    Path folder = Files.createDirectories(tmp.resolve("manifest-data"));
    StringBuilder manifest = new StringBuilder(io.github.stablerep.augment.data.CaptionManifest.HEADER_TEXT).append('\n');
    for (int c = 0; c < 16; c++) {
      for (int i = 0; i < 4; i++) {
        String name = "c" + c + "_" + i + ".png";
        Images.writePng(folder.resolve(name), org.nd4j.linalg.factory.Nd4j.rand(
            org.nd4j.linalg.api.buffer.DataType.FLOAT, 3, 28, 28));
        manifest.append(io.github.stablerep.augment.data.CaptionManifest.line("cap" + c, "caption number " + c, name));
      }
    }
    Path file = Files.writeString(folder.resolve("manifest.tsv"), manifest.toString());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DemoReport r = StableRepDemo.run(reduced(tmp.resolve("from-manifest")).withData(file).withSteps(3),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertThat(text).contains("data: caption manifest " + file)
        .contains("captions: 16 (e.g. \"caption number 0\", 4 images)").doesNotContain("generating");
    assertThat(r.rows()).hasSize(6);
    assertThat(r.row(StableRepDemo.STABLEREP_SYNTHETIC).data()).isEqualTo("manifest (64)");
  }
}
