package io.github.stablerep.examples.demo;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.augment.SimClrAugmentation;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.augment.data.MultiViewBatch;
import io.github.stablerep.augment.data.MultiViewSampler;
import io.github.stablerep.core.io.AtomicFiles;
import io.github.stablerep.eval.FeatureExtractor;
import io.github.stablerep.eval.KnnClassifier;
import io.github.stablerep.eval.LinearProbe;
import io.github.stablerep.eval.ProbeResult;
import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.ImageDataset;
import io.github.stablerep.examples.ConsoleProgress;
import io.github.stablerep.examples.GenerationJob;
import io.github.stablerep.examples.Folders;
import io.github.stablerep.examples.LineChart;
import io.github.stablerep.examples.TinyStableDiffusion;
import io.github.stablerep.examples.train.Pretrainer;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import io.github.stablerep.models.vit.ProjectionHead;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The main job: StableRep's experiment in miniature, end to end on a CPU. A text-to-image model
 * generates the training images; the same small ViT is pre-trained on them with StableRep's
 * multi-positive loss and with SimCLR, and with SimCLR on as many real images; all are compared by
 * a linear probe and kNN on real test images.
 *
 * <ol>
 *   <li><b>data</b>: labelled real images (the embedded Fashion-MNIST subset unless {@code
 *       --data}), for the probes and for the real-image arm;
 *   <li><b>generate</b>: captions from the generator's vocabulary (for the shipped {@link
 *       TinyStableDiffusion}: class × size × brightness in its templates), m images per caption
 *       at guidance 2 ({@link GenerationJob}: cached in the output folder, resumable);
 *   <li><b>pre-train</b> the same ViT and projection head, the same steps and the same number of
 *       augmented images per step ({@link Pretrainer}) three times: StableRep's multi-positive loss
 *       on the synthetic images (n captions × m images, positives share a caption); SimCLR on the
 *       synthetic images (two views of one image, the loss's m = 2 case); SimCLR on as many real
 *       training images;
 *   <li><b>evaluate</b>: frozen features of the three encoders, of the same ViT at its random
 *       initialisation, and raw pixels, each linear-probed ({@link LinearProbe}) and classified by
 *       kNN ({@link KnnClassifier}) on the real test split.
 * </ol>
 *
 * <p>With {@code --data MANIFEST} the manifest's captions and images take the place of the
 * generated set; with {@code --generator DIR} another diffusers folder (real SD v1.5, say)
 * generates from templated class captions.
 *
 * <p>Every phase is checkpointed under {@code --out}; {@code --resume} continues a killed run
 * and ends with the same table as an uninterrupted one ({@link GenerationJob}'s resume, {@link
 * Pretrainer}'s bit-for-bit resume, cached features, stored results). Without {@code --resume}
 * the job starts over, but keeps generated images made with the same settings.
 */
public final class StableRepDemo {

  public static final String STABLEREP_SYNTHETIC = "StableRep (synthetic)";
  public static final String SIMCLR_SYNTHETIC = "SimCLR (synthetic)";
  public static final String SIMCLR_REAL = "SimCLR (real)";
  /** Optional arm: the multi-positive loss on real images grouped by the synthetic captions' content. */
  public static final String STABLEREP_REAL = "StableRep (real)";
  public static final String RANDOM_INIT = "random init";
  public static final String RAW_PIXELS = "raw pixels";
  static final double[] MEAN = {0.5, 0.5, 0.5};
  static final double[] STD = {0.5, 0.5, 0.5};
  static final double GUIDANCE = 2.0;

  /** Sizes of a run. */
  record Config(int image, int patch, int width, int depth, int heads, int headHidden, int headOut,
      int captionsPerClass, int imagesPerCaption, int generatorSteps, int generatorBatch, int captions, int views,
      int steps, int trainPerClass, int testPerClass, int checkpointEvery, double lr, int probeLambdas,
      int probeIterations, boolean realStableRep) {

    static Config of(DemoOptions o) {
      Config c = o.size() == DemoOptions.Size.FULL
          ? new Config(28, 7, 128, 4, 4, 256, 128, 9, 10, 10, 60, 16, 6, 400, 1200, 200, 25, 1e-3, 7, 1000, true)
          : new Config(28, 7, 64, 2, 2, 128, 64, 2, 4, 8, 40, 16, 4, 120, 200, 50, 10, 1e-3, 3, 60, true);
      return c.with(o.steps() > 0 ? o.steps() : c.steps, o.generatorSteps() > 0 ? o.generatorSteps()
          : c.generatorSteps);
    }

    Config with(int s, int g) {
      return new Config(image, patch, width, depth, heads, headHidden, headOut, captionsPerClass, imagesPerCaption,
          g, generatorBatch, captions, views, s, trainPerClass, testPerClass, checkpointEvery, lr, probeLambdas,
          probeIterations, realStableRep);
    }

    /** Augmented images through the encoder in one pre-training. */
    long imagesSeen() {
      return (long) steps * captions * views;
    }

    VisionTransformer vit(long seed) {
      return VisionTransformer.builder().imageSize(image).patchSize(patch).width(width).depth(depth).heads(heads)
          .mlpRatio(2).seed(seed).build();
    }

    ProjectionHead head(long seed) {
      return ProjectionHead.builder().inputDim(width).hiddenDim(headHidden).outputDim(headOut).seed(seed + 1).build();
    }

    SimClrAugmentation augmentation() {
      // StableRep's recipe at this size: a gentler crop (0.35-1 of the area) since 28 px leave
      // little to crop from, and normalisation to [-1, 1] as the data need not be ImageNet's
      return SimClrAugmentation.builder().size(image).cropScale(0.35, 1.0).normalization(MEAN, STD).build();
    }
  }

  /**
   * The pre-training images: caption groups, where they came from, the captions they were
   * generated from (with the class and attributes each names), which the real arms mirror, and
   * the generated pixels {@code [N, 3, S, S]} in the captions' order, read once for the sample
   * grid and the judge (null for a manifest).
   */
  record TrainingSet(CaptionDataset captions, String origin, List<TinyStableDiffusion.Caption> source,
      INDArray images) {

    /** The class each image's caption names, in the order of {@link #images()}. */
    int[] labels() {
      Map<String, Integer> labelOf = new LinkedHashMap<>();
      for (TinyStableDiffusion.Caption cap : source) {
        labelOf.put(cap.id(), cap.label());
      }
      return captions.captions().stream().flatMapToInt(g -> java.util.stream.IntStream.generate(
          () -> labelOf.get(g.id())).limit(g.size())).toArray();
    }
  }

  private StableRepDemo() {}

  public static void main(String[] args) {
    DemoOptions o;
    try {
      o = DemoOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("stablerep-demo: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (o == null) {
      System.out.println(DemoOptions.USAGE);
      return;
    }
    try {
      run(o, System.out);
    } catch (IllegalArgumentException e) {
      System.err.println("stablerep-demo: " + e.getMessage());
      System.exit(2);
    } catch (IOException | UncheckedIOException | IllegalStateException e) {
      System.err.println("stablerep-demo: " + e.getMessage());
      System.exit(1);
    }
  }

  /**
   * Runs (or with {@code options.resume()} continues) the job, printing progress and the table
   * to {@code out}.
   */
  public static DemoReport run(DemoOptions options, PrintStream out) throws IOException {
    Config c = Config.of(options);
    long seed = options.seed();
    Path dir = options.out();
    Files.createDirectories(dir);
    if (!options.resume()) {
      for (String sub : List.of("checkpoints", "features", "results")) {
        Folders.deleteTree(dir.resolve(sub));
      }
    }
    Map<String, Duration> phases = new LinkedHashMap<>();
    List<Path> pictures = new ArrayList<>();
    out.println("StableRep main job: " + c.steps() + " steps per pre-training, ViT " + c.image() + "px patch "
        + c.patch() + " width " + c.width() + " depth " + c.depth() + ", n=" + c.captions() + " captions x m="
        + c.views() + " images per batch, seed " + seed + (options.resume() ? ", resuming" : ""));

    // ---- data
    long t0 = System.nanoTime();
    DemoData data = DemoData.load(options.data(), dir.resolve("data"), c.image(), c.trainPerClass(),
        c.testPerClass());
    out.println("data: " + data.source() + ": " + data.train().size() + " train / " + data.test().size()
        + " test images, " + data.classes().size() + " classes");
    phases.put("data", elapsed(t0));

    // ---- the synthetic (or given) pre-training set
    t0 = System.nanoTime();
    TrainingSet synthetic;
    if (data.manifest() != null) {
      // the real arms mirror a manifest by class only: about 10 images per caption, and at least
      // the n captions of m images a batch needs
      int captions = (int) Math.max(c.captions(), Math.round(data.manifest().imageCount() / 10.0));
      int perClass = (captions + data.classes().size() - 1) / data.classes().size();
      List<TinyStableDiffusion.Caption> byClass = new ArrayList<>();
      for (int k = 0; k < data.classes().size(); k++) {
        for (int g = 0; g < perClass; g++) {
          byClass.add(new TinyStableDiffusion.Caption("c" + k + "-" + g, data.caption(k, g), k, -1, -1));
        }
      }
      synthetic = new TrainingSet(data.manifest(), "manifest", byClass, null);
    } else {
      synthetic = generate(options, c, data, dir.resolve("generated"), out);
      pictures.add(sampleGrid(synthetic, dir.resolve("generated-samples.png")));
      phases.put("generate", elapsed(t0));
    }
    DemoReport.Fidelity fidelity = null;
    if (synthetic.images() != null && data.classes().equals(DemoData.FASHION_MNIST)) {
      t0 = System.nanoTime();
      fidelity = judge(synthetic, data, seed, dir.resolve("results"), out);
      phases.put("judge fidelity", elapsed(t0));
      t0 = System.nanoTime();
      out.println(fidelity.line());
    }
    CaptionDataset training = synthetic.captions();
    out.println("captions: " + training.captions().size() + " (e.g. \"" + training.captions().get(0).caption()
        + "\", " + training.captions().get(0).size() + " images)");
    pictures.add(viewGrid(training, c, seed, dir.resolve("augmented-views.png")));

    // ---- as many real images, grouped by the same caption content, for the real arms
    int perCaption = (int) Math.max(c.views(), training.imageCount() / synthetic.source().size());
    ConsoleProgress exportBar = new ConsoleProgress("real", (long) perCaption * synthetic.source().size(), out);
    CaptionDataset real = data.realCaptionGroups(synthetic.source(), perCaption,
        dir.resolve("data").resolve("real-" + c.image()), done -> exportBar.update(done, "PNG"));
    phases.merge("data", elapsed(t0), Duration::plus);

    // ---- pre-training: same ViT, steps and images per step in each arm
    Path checkpoints = dir.resolve("checkpoints");
    int pairs = c.captions() * c.views() / 2;
    t0 = System.nanoTime();
    Pretrainer.Result stableRep = train(pretrainer(c, seed, training, c.captions(), c.views(),
        checkpoints.resolve("stablerep-synthetic.safetensors")), "StableRep", out);
    phases.put("pre-train StableRep (synthetic)", elapsed(t0));
    t0 = System.nanoTime();
    Pretrainer.Result simclrSynthetic = train(pretrainer(c, seed, Pretrainer.singleImageCaptions(training), pairs, 2,
        checkpoints.resolve("simclr-synthetic.safetensors")), "SimCLR syn", out);
    phases.put("pre-train SimCLR (synthetic)", elapsed(t0));
    t0 = System.nanoTime();
    Pretrainer.Result simclrReal = train(pretrainer(c, seed, Pretrainer.singleImageCaptions(real), pairs, 2,
        checkpoints.resolve("simclr-real.safetensors")), "SimCLR real", out);
    phases.put("pre-train SimCLR (real)", elapsed(t0));
    Pretrainer.Result stableRepReal = null;
    if (c.realStableRep()) {
      t0 = System.nanoTime();
      stableRepReal = train(pretrainer(c, seed, real, c.captions(), c.views(),
          checkpoints.resolve("stablerep-real.safetensors")), "StableRep real", out);
      phases.put("pre-train StableRep (real)", elapsed(t0));
    }
    List<Pretrainer.Result> trained = new ArrayList<>(List.of(stableRep, simclrSynthetic, simclrReal));
    if (stableRepReal != null) {
      trained.add(stableRepReal);
    }
    pictures.add(lossChart(trained, dir.resolve("loss-curves.png")));

    // ---- evaluation
    t0 = System.nanoTime();
    String syntheticData = synthetic.origin() + " (" + training.imageCount() + ")";
    String realData = "real (" + real.imageCount() + ")";
    String multiPositive = "multi-positive, m=" + c.views();
    String nt = "SimCLR, 2 views";
    List<Method> methods = new ArrayList<>();
    Path featureDir = dir.resolve("features");
    methods.add(new Method(STABLEREP_SYNTHETIC, syntheticData, multiPositive, c.imagesSeen(),
        extract(stableRep.graph(), stableRep.featureName(), data, featureDir, "stablerep-synthetic", out)));
    methods.add(new Method(SIMCLR_SYNTHETIC, syntheticData, nt, c.imagesSeen(),
        extract(simclrSynthetic.graph(), simclrSynthetic.featureName(), data, featureDir, "simclr-synthetic", out)));
    methods.add(new Method(SIMCLR_REAL, realData, nt, c.imagesSeen(),
        extract(simclrReal.graph(), simclrReal.featureName(), data, featureDir, "simclr-real", out)));
    if (stableRepReal != null) {
      methods.add(new Method(STABLEREP_REAL, realData, multiPositive, c.imagesSeen(),
          extract(stableRepReal.graph(), stableRepReal.featureName(), data, featureDir, "stablerep-real", out)));
    }
    SameDiff random = SameDiff.create();
    VitGraph rg = c.vit(seed).define(random, random.placeHolder(Pretrainer.IMAGES, DataType.FLOAT, -1, 3, c.image(),
        c.image()));
    methods.add(new Method(RANDOM_INIT, "none", "none", 0,
        extract(random, rg.classToken().name(), data, featureDir, "random", out)));
    methods.add(new Method(RAW_PIXELS, "none", "none", 0,
        new INDArray[] {DemoData.rawPixels(data.train()), DemoData.rawPixels(data.test())}));
    List<DemoReport.Row> rows = new ArrayList<>();
    ConsoleProgress probeBar = new ConsoleProgress("probe", methods.size(), out);
    List<Pictures.Panel> panels = new ArrayList<>();
    for (Method m : methods) {
      rows.add(evaluate(m, data, c, seed, dir.resolve("results")));
      probeBar.update(rows.size(), m.name());
      panels.add(new Pictures.Panel(m.name(), m.features()[1]));
    }
    Path scatter = dir.resolve("pca-test-features.png");
    Pictures.writePcaScatter(scatter, "Test features, first two principal components, coloured by class", panels,
        data.test().labels(), data.classes());
    pictures.add(scatter);
    phases.put("evaluate", elapsed(t0));

    DemoReport report = new DemoReport(rows, phases, pictures, fidelity);
    String table = report.table();
    writeText(dir.resolve("results.md"), report.markdown());
    out.println();
    out.println("Linear probe and kNN (k=20) on " + data.test().size() + " real test images, frozen features:");
    out.print(table);
    if (fidelity != null) {
      out.println(fidelity.line());
    }
    out.println("Phase wall times (this run):");
    out.print(report.times());
    out.println("Pictures: " + pictures.stream().map(p -> p.getFileName().toString()).toList() + " in "
        + dir.toAbsolutePath().normalize());
    return report;
  }

  /**
   * Trains {@link FidelityJudge} on the real training images and scores every generated image
   * against its caption's class; stored so that a resumed run prints the same figures.
   */
  private static DemoReport.Fidelity judge(TrainingSet synthetic, DemoData data, long seed, Path dir,
      PrintStream out) throws IOException {
    Path file = dir.resolve("fidelity.properties");
    if (Files.exists(file)) {
      Properties p = new Properties();
      try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(in);
      }
      return new DemoReport.Fidelity(Double.parseDouble(p.getProperty("agreement")),
          Integer.parseInt(p.getProperty("images")), Double.parseDouble(p.getProperty("judgeTestAccuracy")));
    }
    ConsoleProgress bar = new ConsoleProgress("judge", FidelityJudge.defaultSteps(data.train().size()), out);
    FidelityJudge judge = FidelityJudge.train(data.train(), seed, done -> bar.update(done, "CNN on real images"));
    DemoReport.Fidelity f = new DemoReport.Fidelity(judge.agreement(synthetic.images(), synthetic.labels()),
        (int) synthetic.images().size(0), judge.testAccuracy(data.test()));
    writeText(file, "agreement=" + f.agreement() + "\nimages=" + f.images() + "\njudgeTestAccuracy="
        + f.judgeTestAccuracy() + "\n");
    return f;
  }

  /** One row's method before evaluation: its train and test features. */
  private record Method(String name, String data, String loss, long imagesSeen, INDArray[] features) {}

  private static Duration elapsed(long t0) {
    return Duration.ofNanos(System.nanoTime() - t0);
  }

  private static Pretrainer pretrainer(Config c, long seed, CaptionDataset ds, int n, int m, Path checkpoint) {
    return Pretrainer.builder().vit(c.vit(seed)).head(c.head(seed)).dataset(ds).captionsPerBatch(n)
        .viewsPerCaption(m).augmentation(c.augmentation()).learningRate(c.lr()).warmupFraction(0.1).steps(c.steps())
        .seed(seed).checkpoint(checkpoint).checkpointEvery(c.checkpointEvery()).build();
  }

  private static Pretrainer.Result train(Pretrainer p, String label, PrintStream out) throws IOException {
    ConsoleProgress bar = new ConsoleProgress(label, p.totalSteps(), out);
    Pretrainer.Result r = p.train(s -> bar.update(s.step(), String.format("loss %.3f lr %.2e %.0f img/s", s.loss(),
        s.learningRate(), s.imagesPerSecond())), null);
    if (r.resumedFromStep() > 0) {
      out.println(label + ": resumed at step " + r.resumedFromStep());
    }
    return r;
  }

  /**
   * Generates m images per caption into {@code dir} and returns them as caption groups. The
   * shipped model ({@link TinyStableDiffusion}) draws captions of its own vocabulary, cropped
   * back to the 28×28 content it was trained on; another diffusers folder draws templated class
   * captions at its own size, resized. Made with the same settings, the images are kept for the
   * next run (also without {@code --resume}).
   */
  private static TrainingSet generate(DemoOptions o, Config c, DemoData data, Path dir, PrintStream out)
      throws IOException {
    boolean embedded = o.generator() == null;
    List<TinyStableDiffusion.Caption> captions = new ArrayList<>();
    if (embedded) {
      checkArgument(data.classes().equals(DemoData.FASHION_MNIST), "--data %s: the shipped generator draws "
          + "Fashion-MNIST's classes, found %s; give --generator DIR for a model of these classes", o.data(),
          data.classes());
      captions.addAll(TinyStableDiffusion.captions(c.captionsPerClass()));
    } else {
      int perClass = Math.min(c.captionsPerClass(), DemoData.TEMPLATES.size());
      for (int k = 0; k < data.classes().size(); k++) {
        for (int t = 0; t < perClass; t++) {
          captions.add(new TinyStableDiffusion.Caption("c" + k + "-t" + t, data.caption(k, t), k, -1, -1));
        }
      }
    }
    Path model = embedded ? TinyStableDiffusion.folder(dir) : o.generator();
    SchedulerType sampler = SchedulerType.DPM_SOLVER_MULTISTEP;
    String settings = model.toAbsolutePath().normalize() + "; " + sampler + " " + c.generatorSteps()
        + " steps; guidance " + GUIDANCE + "; " + c.imagesPerCaption() + " per caption; batch " + c.generatorBatch()
        + "; seed " + o.seed() + "; " + c.image() + " px\n";
    Path images = dir.resolve("images");
    Path marker = dir.resolve("SETTINGS");
    if (!Files.exists(marker) || !Files.readString(marker, StandardCharsets.UTF_8).equals(settings)) {
      Folders.deleteTree(images);
      writeText(marker, settings);
    }
    StringBuilder tsv = new StringBuilder("caption_id\tcaption\n");
    for (TinyStableDiffusion.Caption cap : captions) {
      tsv.append(cap.id()).append('\t').append(cap.text()).append('\n');
    }
    Path captionFile = dir.resolve("captions.tsv");
    writeText(captionFile, tsv.toString());
    StableDiffusionPipeline pipe = StableDiffusionPipeline.builder().modelDirectory(model).scheduler(sampler)
        .steps(c.generatorSteps()).guidanceScale(GUIDANCE).height(0).width(0).build();
    GenerationJob.Builder job = GenerationJob.builder().captions(captionFile).outputDirectory(images)
        .imagesPerCaption(c.imagesPerCaption()).outputSize(c.image()).seed(o.seed()).batchSize(c.generatorBatch());
    if (embedded) {
      job.centreCrop(TinyStableDiffusion.CONTENT_SIZE, TinyStableDiffusion.CONTENT_SIZE);
    }
    out.println("generating " + captions.size() + " captions x " + c.imagesPerCaption() + " images with "
        + (embedded ? "the shipped tiny Stable Diffusion (tiny-sd-fmnist)" : model) + ": " + sampler + " "
        + c.generatorSteps() + " steps, guidance " + GUIDANCE);
    ConsoleProgress[] bar = {null};
    GenerationJob.Result r = job.build().run(pipe, (done, total, image, skipped) -> {
      if (bar[0] == null) {
        bar[0] = new ConsoleProgress("generate", total, out);
      }
      bar[0].update(done, skipped ? "kept" : "generated");
    }, null);
    out.println("generated " + r.generated() + " images (" + r.skipped() + " kept from before), guidance "
        + GUIDANCE);
    CaptionDataset generated = CaptionDataset.fromManifest(r.manifest());
    INDArray pixels = Nd4j.create(DataType.FLOAT, generated.imageCount(), 3, c.image(), c.image());
    int i = 0;
    for (CaptionGroup g : generated.captions()) {
      for (Path p : g.images()) {
        pixels.get(NDArrayIndex.point(i++)).assign(Images.read(p));
      }
    }
    return new TrainingSet(generated, "synthetic", captions, pixels);
  }

  private static Path viewGrid(CaptionDataset ds, Config c, long seed, Path file) throws IOException {
    int rows = Math.min(8, ds.captions().size());
    try (MultiViewSampler s = MultiViewSampler.builder().dataset(ds).captionsPerBatch(rows)
        .viewsPerCaption(c.views()).augmentation(c.augmentation()).seed(seed).threads(1).build();
        MultiViewSampler.Epoch e = s.epoch(0)) {
      MultiViewBatch b = e.next();
      INDArray views = b.images().mul(STD[0]).addi(MEAN[0]); // undo the normalisation for display
      List<String> captions = new ArrayList<>();
      for (int i = 0; i < rows; i++) {
        CaptionGroup g = ds.captions().get(b.captionIndices()[i]);
        captions.add(g.caption());
      }
      Pictures.writeViewGrid(file, "Each row: one caption's " + c.views() + " images, each augmented once", views,
          captions, c.views());
    }
    return file;
  }

  private static Path lossChart(List<Pretrainer.Result> results, Path file) throws IOException {
    LineChart chart = new LineChart("Pre-training loss", "step", "loss");
    List<String> names = List.of("StableRep, synthetic", "SimCLR, synthetic", "SimCLR, real", "StableRep, real");
    for (int i = 0; i < results.size(); i++) {
      chart.add(names.get(i), steps(results.get(i).losses().length), results.get(i).losses());
    }
    chart.writePng(file);
    return file;
  }

  /** One row per caption with all of its generated images, as the generator made them. */
  private static Path sampleGrid(TrainingSet set, Path file) throws IOException {
    List<CaptionGroup> groups = set.captions().captions();
    int cols = groups.stream().mapToInt(CaptionGroup::size).max().orElse(1);
    INDArray images = set.images();
    INDArray grid = Nd4j.ones(DataType.FLOAT, (long) groups.size() * cols, images.size(1), images.size(2),
        images.size(3));
    List<String> captions = new ArrayList<>();
    int at = 0;
    for (int i = 0; i < groups.size(); i++) {
      CaptionGroup g = groups.get(i);
      captions.add(g.caption());
      for (int v = 0; v < g.size(); v++) {
        // view-major, as writeViewGrid lays out a grid
        grid.get(NDArrayIndex.point((long) v * groups.size() + i)).assign(images.get(NDArrayIndex.point(at++)));
      }
    }
    Pictures.writeViewGrid(file, "Generated training images: one row per caption, its " + cols + " images", grid,
        captions, cols, groups.size() > 24 ? 1 : 3);
    return file;
  }

  private static double[] steps(int n) {
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = i + 1;
    }
    return x;
  }

  /** Train and test features of one encoder, cached as .npy under {@code dir}. */
  private static INDArray[] extract(SameDiff graph, String output, DemoData data, Path dir, String key,
      PrintStream out) throws IOException {
    INDArray[] f = new INDArray[2];
    DemoData.Labelled[] splits = {data.train(), data.test()};
    String[] names = {"train", "test"};
    for (int i = 0; i < 2; i++) {
      DemoData.Labelled l = splits[i];
      String label = key + " " + names[i];
      ConsoleProgress bar = new ConsoleProgress("features", l.size(), out);
      FeatureExtractor fx = FeatureExtractor.builder().graph(graph).input(Pretrainer.IMAGES).output(output)
          .batchSize(250).progress((done, total) -> bar.update(done, label)).build();
      f[i] = fx.extractCached(new Normalised(l), dir.resolve(key + "-" + names[i] + ".npy"));
    }
    return f;
  }

  /** Linear probe and kNN of one method; the numbers are stored so a resumed run prints them again. */
  private static DemoReport.Row evaluate(Method m, DemoData data, Config c, long seed, Path dir) throws IOException {
    Path file = dir.resolve(m.name().replaceAll("[^A-Za-z0-9]+", "-") + ".properties");
    if (Files.exists(file)) {
      Properties p = new Properties();
      try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(in);
      }
      return new DemoReport.Row(m.name(), m.data(), m.loss(), m.imagesSeen(),
          Double.parseDouble(p.getProperty("probeTop1")), Double.parseDouble(p.getProperty("probeMeanPerClass")),
          Double.parseDouble(p.getProperty("knnTop1")), Double.parseDouble(p.getProperty("knnMeanPerClass")));
    }
    INDArray[] f = m.features();
    int k = data.classes().size();
    ProbeResult probe = LinearProbe.builder().regularizationSweep(1e-6, 1e1, c.probeLambdas())
        .maxIterations(c.probeIterations()).numClasses(k).seed(seed).dataType(DataType.FLOAT).build()
        .fit(f[0], data.train().labels()).evaluate(f[1], data.test().labels());
    ProbeResult knn = KnnClassifier.builder().k(20).temperature(0.07).build().fit(f[0], data.train().labels())
        .evaluate(f[1], data.test().labels());
    DemoReport.Row row = new DemoReport.Row(m.name(), m.data(), m.loss(), m.imagesSeen(), probe.top1(),
        probe.meanPerClassAccuracy(), knn.top1(), knn.meanPerClassAccuracy());
    writeText(file, "probeTop1=" + row.probeTop1() + "\nprobeMeanPerClass=" + row.probeMeanPerClass() + "\nknnTop1="
        + row.knnTop1() + "\nknnMeanPerClass=" + row.knnMeanPerClass() + "\nlambda=" + probe.lambda() + "\n");
    return row;
  }

  /** In-memory images, normalised as in training, read in order. */
  private static final class Normalised implements ImageDataset {
    private final DemoData.Labelled l;

    Normalised(DemoData.Labelled l) {
      this.l = l;
    }

    @Override
    public int size() {
      return l.size();
    }

    @Override
    public int[] labels() {
      return l.labels().clone();
    }

    @Override
    public Reader reader() {
      return new Reader() {
        int at;

        @Override
        public Batch next(int max) {
          int to = Math.min(l.size(), at + max);
          List<INDArray> images = new ArrayList<>();
          int[] labels = new int[to - at];
          for (int i = at; i < to; i++) {
            images.add(l.images().get(NDArrayIndex.point(i)).sub(MEAN[0]).divi(STD[0]));
            labels[i - at] = l.labels()[i];
          }
          Batch b = new Batch(at, images, labels);
          at = to;
          return b;
        }

        @Override
        public void close() {}
      };
    }
  }

  static void writeText(Path file, String text) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    AtomicFiles.writeString(file, text);
  }
}
