package io.github.stablerep.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.io.StrictJson;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.eval.KnnClassifier;
import io.github.stablerep.eval.LinearProbe;
import io.github.stablerep.eval.ProbeResult;
import io.github.stablerep.eval.data.ImageFolderDataset;
import io.github.stablerep.examples.demo.DemoOptions;
import io.github.stablerep.models.diffusion.TinyPipelineFolder;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Runs every subcommand of {@code stablerep} on tiny inputs, in-process, and checks its output
 * files. The fixture is built once: three classes of 16x16 PNGs in an ImageFolder (which is also
 * a folder-per-caption dataset), and a checkpoint made by {@code pretrain} itself.
 */
class StableRepCliTest {

  @TempDir static Path tmp;

  static Path train;
  static Path test;
  static Path checkpoint;
  static Run pretrain;

  /** A finished run: exit code and both streams. */
  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = StableRepCli.execute(o, e, args);
    }
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  static String p(Path path) {
    return path.toString();
  }

  /** Class c: a colour and a stripe orientation of its own, plus noise. */
  static void writeClasses(Path root, int perClass, Random rng) throws Exception {
    writeClasses(root, 3, perClass, rng);
  }

  static void writeClasses(Path root, int classes, int perClass, Random rng) throws Exception {
    for (int c = 0; c < classes; c++) {
      Path dir = Files.createDirectories(root.resolve("class" + c));
      for (int i = 0; i < perClass; i++) {
        float[] px = new float[3 * 16 * 16];
        for (int ch = 0; ch < 3; ch++) {
          for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
              double stripe = ((c == 0 ? x : c == 1 ? y : x + y) / 2) % 2;
              double base = ch == c % 3 ? 0.7 : 0.2;
              px[(ch * 16 + y) * 16 + x] = (float) Math.min(1, Math.max(0,
                  base + 0.2 * stripe + 0.08 * rng.nextGaussian()));
            }
          }
        }
        Images.writePng(dir.resolve(i + ".png"), Nd4j.createFromArray(px).reshape(3, 16, 16));
      }
    }
  }

  @BeforeAll
  static void fixture() throws Exception {
    Random rng = new Random(7);
    train = tmp.resolve("train");
    test = tmp.resolve("test");
    writeClasses(train, 6, rng);
    writeClasses(test, 3, rng);
    checkpoint = tmp.resolve("run/ckpt.safetensors");
    pretrain = run("pretrain", "--data", p(train), "--checkpoint", p(checkpoint), "--image-size", "16",
        "--patch-size", "8", "--width", "16", "--depth", "1", "--heads", "2", "--head-hidden", "32", "--head-dim", "8",
        "-n", "3", "-m", "2", "--steps", "3", "--lr", "1e-3", "--threads", "1", "--seed", "3");
  }

  @Test
  void pretrainWritesACheckpointAndShowsProgress() throws Exception {
    assertThat(pretrain.code()).as(pretrain.err()).isZero();
    TrainingCheckpoint ck = TrainingCheckpoint.read(checkpoint);
    assertThat(ck.step()).isEqualTo(3);
    assertThat(ck.model()).containsKey("vit.cls_token");
    assertThat(ck.model().get("vit.cls_token").shape()).containsExactly(1, 1, 16);
    assertThat(pretrain.out()).contains("3 steps (3 this run").contains(p(checkpoint));
    assertThat(pretrain.err()).contains("loss ").contains(" lr ").contains("img/s").contains("eta ");

    // the same command again resumes from the finished checkpoint and trains nothing more
    Run again = run("pretrain", "--data", p(train), "--checkpoint", p(checkpoint), "--image-size", "16",
        "--patch-size", "8", "--width", "16", "--depth", "1", "--heads", "2", "--head-hidden", "32", "--head-dim", "8",
        "-n", "3", "-m", "2", "--steps", "3", "--lr", "1e-3", "--threads", "1", "--seed", "3");
    assertThat(again.code()).as(again.err()).isZero();
    assertThat(again.out()).contains("3 steps (0 this run");
    assertThat(TrainingCheckpoint.read(checkpoint).model().get("vit.cls_token"))
        .isEqualTo(ck.model().get("vit.cls_token"));

    // another configuration on the same checkpoint is a usage error naming it
    Run other = run("pretrain", "--data", p(train), "--checkpoint", p(checkpoint), "--image-size", "16",
        "--patch-size", "8", "--width", "16", "--depth", "1", "--heads", "2", "--head-hidden", "32", "--head-dim", "8",
        "-n", "3", "-m", "2", "--steps", "4", "--lr", "1e-3", "--threads", "1", "--seed", "3");
    assertThat(other.code()).isEqualTo(2);
    assertThat(other.err()).contains("expected a run with configuration").doesNotContain("\tat ");

    // SimCLR: every image its own caption, two views
    Path simclr = tmp.resolve("run/simclr.safetensors");
    Run s = run("pretrain", "--data", p(train), "--checkpoint", p(simclr), "--simclr", "--image-size", "16",
        "--patch-size", "8", "--width", "16", "--depth", "1", "--heads", "2", "--head-hidden", "32", "--head-dim", "8",
        "-n", "3", "--steps", "1", "--threads", "1");
    assertThat(s.code()).as(s.err()).isZero();
    assertThat(s.err()).contains("18 captions, batch 3 x 2 = 6 images");
    assertThat(TrainingCheckpoint.read(simclr).step()).isEqualTo(1);
  }

  @Test
  void exportWritesTimmWeightsThatImportToTheCheckpointsWeights() throws Exception {
    Path out = tmp.resolve("export/vit.safetensors");
    Run r = run("export", "--checkpoint", p(checkpoint), "--out", p(out));
    assertThat(r.code()).as(r.err()).isZero();
    Map<String, String> meta = SafeTensors.metadata(out);
    assertThat(meta).containsEntry("format", "pt").containsEntry("architecture", "vision_transformer");
    // the checkpoint's config, renamed to "vit" as a timm-layout file's keys carry no prefix
    assertThat(VisionTransformer.fromConfig(meta.get("config.vit")))
        .isEqualTo(VisionTransformer.fromConfig(TrainingCheckpoint.read(checkpoint).modelConfig("vit").orElseThrow()));
    Map<?, ?> kwargs = (Map<?, ?>) StrictJson.parse(meta.get("timm_kwargs"), 4);
    assertThat(num(kwargs.get("img_size"))).isEqualTo(16);
    assertThat(num(kwargs.get("patch_size"))).isEqualTo(8);
    assertThat(num(kwargs.get("embed_dim"))).isEqualTo(16);
    assertThat(num(kwargs.get("depth"))).isEqualTo(1);
    assertThat(num(kwargs.get("num_heads"))).isEqualTo(2);
    assertThat(num(kwargs.get("mlp_ratio"))).isEqualTo(4.0);

    Map<String, INDArray> timm = SafeTensors.read(out);
    assertThat(timm.keySet()).contains("cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight",
        "blocks.0.mlp.fc2.bias", "norm.weight").noneMatch(k -> k.startsWith("image_mlp") || k.startsWith("head"));
    // PyTorch layouts: Linear [out, in], conv [out, in, kH, kW]
    assertThat(timm.get("blocks.0.attn.qkv.weight").shape()).containsExactly(48, 16);
    assertThat(timm.get("patch_embed.proj.weight").shape()).containsExactly(16, 3, 8, 8);

    // importing the export into a fresh ViT reproduces every checkpoint array exactly
    VisionTransformer vit = VisionTransformer.builder().imageSize(16).patchSize(8).width(16).depth(1).heads(2)
        .seed(99).build();
    SameDiff sd = SameDiff.create();
    vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 16, 16));
    vit.importWeights(sd, timm, WeightLayout.TIMM);
    Map<String, INDArray> model = TrainingCheckpoint.read(checkpoint).model();
    int compared = 0;
    for (SDVariable v : sd.variables()) {
      if (v.name().startsWith("vit.") && v.getArr() != null && !v.isPlaceHolder()) {
        assertThat(v.getArr()).as(v.name()).isEqualTo(model.get(v.name()));
        compared++;
      }
    }
    assertThat(compared).isEqualTo(timm.size());
  }

  @Test
  void embedWritesOneFeatureRowPerImageFromACheckpointOrExportedWeights() throws Exception {
    Path feats = tmp.resolve("embed/train.npy");
    Path labels = tmp.resolve("embed/train-labels.npy");
    Run r = run("embed", "--images", p(train), "--checkpoint", p(checkpoint), "--out", p(feats), "--labels-out",
        p(labels), "--batch", "5");
    assertThat(r.code()).as(r.err()).isZero();
    INDArray x = Npy.read(feats);
    assertThat(x.shape()).containsExactly(18, 16);
    assertThat(x.dataType()).isEqualTo(DataType.FLOAT);
    assertThat(Npy.read(labels).toLongVector()).containsExactly(
        java.util.Arrays.stream(ImageFolderDataset.open(train).labels()).asLongStream().toArray());
    assertThat(r.err()).contains("embed");

    // the exported timm file gives the same features
    Path exported = tmp.resolve("embed/vit.safetensors");
    assertThat(run("export", "--checkpoint", p(checkpoint), "--out", p(exported)).code()).isZero();
    Path feats2 = tmp.resolve("embed/train-timm.npy");
    Run r2 = run("embed", "--images", p(train), "--weights", p(exported), "--out", p(feats2));
    assertThat(r2.code()).as(r2.err()).isZero();
    assertThat(Npy.read(feats2)).isEqualTo(x);

    // a plain folder of images (no labels) works too, in file-name order
    Path flat = Files.createDirectories(tmp.resolve("flat"));
    Files.copy(train.resolve("class1/0.png"), flat.resolve("a.png"));
    Files.copy(train.resolve("class0/0.png"), flat.resolve("b.png"));
    Path feats3 = tmp.resolve("embed/flat.npy");
    Run r3 = run("embed", "--images", p(flat), "--checkpoint", p(checkpoint), "--out", p(feats3));
    assertThat(r3.code()).as(r3.err()).isZero();
    INDArray f = Npy.read(feats3);
    assertThat(f.getRow(0)).isEqualTo(x.getRow(6));   // class1/0.png is the 7th ImageFolder sample
    assertThat(f.getRow(1)).isEqualTo(x.getRow(0));
  }

  @Test
  void probeWritesJsonThatAgreesWithLinearProbeAndKnnDirectly() throws Exception {
    Path trX = tmp.resolve("probe/train.npy");
    Path trY = tmp.resolve("probe/train-labels.npy");
    Path teX = tmp.resolve("probe/test.npy");
    Path teY = tmp.resolve("probe/test-labels.npy");
    assertThat(run("embed", "--images", p(train), "--checkpoint", p(checkpoint), "--out", p(trX), "--labels-out",
        p(trY)).code()).isZero();
    assertThat(run("embed", "--images", p(test), "--checkpoint", p(checkpoint), "--out", p(teX), "--labels-out",
        p(teY)).code()).isZero();
    Path json = tmp.resolve("probe/result.json");
    Run r = run("probe", "--train", p(trX), "--train-labels", p(trY), "--test", p(teX), "--test-labels", p(teY),
        "--lambda-min", "1e-3", "--lambda-max", "10", "--lambdas", "5", "--validation-fraction", "0.34",
        "--knn", "--k", "5", "--out", p(json));
    assertThat(r.code()).as(r.err()).isZero();
    Map<?, ?> root = json(json);

    int[] ytr = intLabels(trY);
    int[] yte = intLabels(teY);
    ProbeResult expected = LinearProbe.builder().regularizationSweep(1e-3, 10, 5).validationFraction(0.34).build()
        .fit(Npy.read(trX), ytr).evaluate(Npy.read(teX), yte);
    Map<?, ?> lin = (Map<?, ?>) root.get("linear");
    assertThat(num(lin.get("top1"))).isEqualTo(expected.top1());
    assertThat(num(lin.get("mean_per_class_accuracy"))).isEqualTo(expected.meanPerClassAccuracy());
    assertThat(num(lin.get("lambda"))).isEqualTo(expected.lambda());
    assertThat((List<?>) lin.get("validation_curve")).hasSize(5);
    assertThat((List<?>) lin.get("confusion")).hasSize(3);
    assertThat(num(((Map<?, ?>) root.get("test")).get("samples"))).isEqualTo(9);
    assertThat(num(root.get("features"))).isEqualTo(16);
    ProbeResult knn = KnnClassifier.builder().k(5).build().fit(Npy.read(trX), ytr).evaluate(Npy.read(teX), yte);
    assertThat(num(((Map<?, ?>) root.get("knn")).get("top1"))).isEqualTo(knn.top1());
    assertThat(r.out()).contains("method").contains("linear").contains("knn")
        .contains(String.format(java.util.Locale.ROOT, "%.2f%%", 100 * expected.top1()));

    // images plus an encoder give the same result as their features
    Path json2 = tmp.resolve("probe/result-images.json");
    Run r2 = run("probe", "--train", p(train), "--test", p(test), "--checkpoint", p(checkpoint),
        "--lambda-min", "1e-3", "--lambda-max", "10", "--lambdas", "5", "--validation-fraction", "0.34",
        "--out", p(json2));
    assertThat(r2.code()).as(r2.err()).isZero();
    assertThat(num(((Map<?, ?>) json(json2).get("linear")).get("top1"))).isEqualTo(expected.top1());
  }

  static Map<?, ?> json(Path file) throws Exception {
    return (Map<?, ?>) StrictJson.parse(Files.readString(file), 16);
  }

  static double num(Object parsedJsonNumber) {
    return ((Number) parsedJsonNumber).doubleValue();
  }

  static int[] intLabels(Path file) throws Exception {
    return java.util.Arrays.stream(Npy.read(file).toLongVector()).mapToInt(v -> (int) v).toArray();
  }

  @Test
  void generateWritesImagesAndAManifestAndResumes() throws Exception {
    Path model = TinyPipelineFolder.write(tmp.resolve("sd"), 5);
    Path captions = tmp.resolve("captions.txt");
    Files.writeString(captions, "a photo of a cat\na photo of a dog\n");
    Path out = tmp.resolve("gen");
    String[] args = {"generate", "--model", p(model), "--captions", p(captions), "--out", p(out), "--images", "1",
        "--steps", "1", "--generated-size", String.valueOf(TinyPipelineFolder.SIZE), "--size", "8", "--seed", "1"};
    Run r = run(args);
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("2 images written, 0 already there");
    assertThat(r.err()).contains("wrote 1/0.png"); // progress goes to stderr
    CaptionDataset ds = CaptionDataset.fromManifest(out.resolve("manifest.tsv"));
    assertThat(ds.size()).isEqualTo(2);
    assertThat(ds.imageCount()).isEqualTo(2);
    assertThat(ds.captions().get(1).caption()).isEqualTo("a photo of a dog");
    assertThat(Images.read(out.resolve("1/0.png")).shape()).containsExactly(3, 8, 8);
    byte[] before = Files.readAllBytes(out.resolve("manifest.tsv"));

    Run again = run(args); // a finished job is resumed to completion without generating anything
    assertThat(again.code()).as(again.err()).isZero();
    assertThat(again.out()).contains("0 images written, 2 already there");
    assertThat(Files.readAllBytes(out.resolve("manifest.tsv"))).isEqualTo(before);
  }

  /**
   * {@code demo} hands every option to the main job's {@link DemoOptions}; the job itself, which
   * {@code StableRepDemo.run} runs with them, is tested by StableRepDemoTest (the full run through
   * the command line is {@link #demoRunsTheMainJobAndWritesItsFiles}, opt-in: about 40 s).
   */
  @Test
  void demoPassesEveryOptionToTheMainJob() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("demo-opts"));
    Path gen = Files.createDirectories(tmp.resolve("demo-gen"));
    CommandLine cl = StableRepCli.commandLine(System.out, System.err);
    CommandLine.ParseResult parsed = cl.parseArgs("demo", "--out", "o", "--size", "reduced", "--steps", "7",
        "--data", p(data), "--generator", p(gen), "--generator-steps", "3", "--resume", "--seed", "9");
    DemoCommand demo = (DemoCommand) parsed.subcommand().commandSpec().userObject();
    assertThat(demo.options()).isEqualTo(new DemoOptions(Path.of("o"), DemoOptions.Size.REDUCED, 7, data, gen, 3,
        true, 9));
    DemoCommand defaults = (DemoCommand) StableRepCli.commandLine(System.out, System.err).parseArgs("demo")
        .subcommand().commandSpec().userObject();
    assertThat(defaults.options()).isEqualTo(DemoOptions.defaults());
  }

  /**
   * The main job through the command line, at the CI size with 2 steps per phase, on a small
   * ImageFolder (4 classes of 40 train and 5 test images: the 16 captions of 10 images a batch
   * needs): its table and files are written. Opt-in (-Dslow=true): about 40 s.
   */
  @Test
  @EnabledIfSystemProperty(named = "slow", matches = "true")
  void demoRunsTheMainJobAndWritesItsFiles() throws Exception {
    Path data = tmp.resolve("demo-data");
    Random rng = new Random(11);
    writeClasses(data.resolve("train"), 4, 40, rng);
    writeClasses(data.resolve("test"), 4, 5, rng);
    Path out = tmp.resolve("demo");
    Run r = run("demo", "--size", "reduced", "--steps", "2", "--data", p(data), "--out", p(out), "--seed", "1");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("multi-positive").contains("SimCLR").contains("random init").contains("raw pixels");
    for (String f : List.of("results.md", "augmented-views.png", "loss-curves.png", "pca-test-features.png")) {
      assertThat(out.resolve(f)).as(f).isRegularFile();
    }
    assertThat(Images.read(out.resolve("loss-curves.png")).size(0)).isEqualTo(3);
    assertThat(Files.readString(out.resolve("results.md"))).contains("multi-positive");
  }

  @Test
  void badArgumentsGetOneLineAndExitCode2() throws Exception {
    Path png = train.resolve("class0/0.png");
    List<String[]> cases = new ArrayList<>();
    cases.add(new String[] {"nosuchcommand"});
    cases.add(new String[] {"probe", "--train", "a.npy"});                                   // --test missing
    cases.add(new String[] {"probe", "--train", "a.npy", "--test", "b.npy", "--lambdas", "x"});
    cases.add(new String[] {"probe", "--train", p(tmp.resolve("none.npy")), "--test", "b.npy", "--train-labels", "c"});
    cases.add(new String[] {"probe", "--train", p(train), "--test", p(test)});                 // no encoder
    cases.add(new String[] {"export", "--checkpoint", p(png), "--out", p(tmp.resolve("x.safetensors"))});
    cases.add(new String[] {"export", "--checkpoint", p(tmp.resolve("none")), "--out", "x"});
    cases.add(new String[] {"embed", "--images", p(tmp.resolve("none")), "--checkpoint", p(checkpoint), "--out", "x"});
    cases.add(new String[] {"embed", "--images", p(train), "--weights", p(checkpoint), "--out", "x.npy"});
    cases.add(new String[] {"pretrain", "--data", p(train), "--checkpoint", p(tmp.resolve("c")), "-m", "1"});
    cases.add(new String[] {"pretrain", "--data", p(train), "--checkpoint", p(tmp.resolve("c")), "--preset", "HUGE"});
    cases.add(new String[] {"generate", "--model", p(tmp), "--captions", p(tmp.resolve("none")), "--out", "x"});
    cases.add(new String[] {"demo", "--size", "huge"});
    cases.add(new String[] {"demo", "--data", p(tmp.resolve("none"))});
    for (String[] args : cases) {
      Run r = run(args);
      String all = String.join(" ", args);
      assertThat(r.code()).as(all + "\n" + r.err()).isEqualTo(2);
      assertThat(r.err().strip().lines().count()).as(all + "\n" + r.err()).isEqualTo(1);
      assertThat(r.err()).as(all).startsWith("stablerep").doesNotContain("\tat ").doesNotContain("Exception");
      assertThat(r.out()).as(all).isEmpty();
    }
    assertThat(run("export", "--checkpoint", p(png), "--out", "x").err()).contains("expected").contains(p(png));
  }

  @Test
  void helpOfEveryCommandListsEveryOptionWithItsDefault() {
    CommandLine cl = StableRepCli.commandLine(System.out, System.err);
    assertThat(cl.getSubcommands().keySet()).contains("demo", "generate", "pretrain", "embed", "probe", "export");
    Run top = run("--help");
    assertThat(top.code()).isZero();
    for (String name : List.of("demo", "generate", "pretrain", "embed", "probe", "export")) {
      assertThat(top.out()).contains(name);
      Run h = run(name, "--help");
      assertThat(h.code()).isZero();
      assertThat(h.out()).startsWith("Usage: stablerep " + name);
      for (OptionSpec o : cl.getSubcommands().get(name).getCommandSpec().options()) {
        assertThat(h.out()).as(name + " " + o.longestName()).contains(o.longestName());
        assertThat(o.description()).as(name + " " + o.longestName()).isNotEmpty();
        if (o.defaultValue() != null && !o.usageHelp() && !o.versionHelp() && o.arity().max() > 0) {
          assertThat(h.out()).as(name + " " + o.longestName()).contains("Default: " + o.defaultValue());
        }
      }
    }
  }
}
