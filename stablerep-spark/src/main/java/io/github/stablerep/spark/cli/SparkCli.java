package io.github.stablerep.spark.cli;

import io.github.stablerep.augment.ImageDecodeException;
import io.github.stablerep.augment.data.CaptionDatasetException;
import io.github.stablerep.augment.data.CaptionList;
import io.github.stablerep.core.io.SafeTensorsException;
import io.github.stablerep.eval.EvalPreprocessing;
import io.github.stablerep.eval.KnnClassifier;
import io.github.stablerep.eval.LinearProbe;
import io.github.stablerep.eval.ProbeResult;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.spark.ParquetImages;
import io.github.stablerep.spark.SparkEmbedding;
import io.github.stablerep.spark.SparkGeneration;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * StableRep's Spark commands: {@code spark-generate}, {@code spark-embed}, {@code spark-probe}
 * and the Spark-free {@code spark-unpack}. They live in stablerep-spark, with their own main
 * class, because Spark is a provided dependency: only a launcher that puts Spark on the
 * classpath ({@code spark-submit}, or {@code exec:exec} with the module's test classpath) can run
 * them, and the examples' {@code stablerep} jar must stay free of Spark.
 *
 * <p>Exit codes as the {@code stablerep} command line: 0 success, 2 a usage error or bad input
 * (one line on stderr naming what was wrong), 1 any other failure.
 */
@Command(name = "stablerep", mixinStandardHelpOptions = true, version = "stablerep-spark 0.1.0",
    description = "StableRep on Apache Spark: generate a synthetic dataset, embed images, probe features.",
    subcommands = {SparkCli.Generate.class, SparkCli.Embed.class, SparkCli.Probe.class, SparkCli.Unpack.class,
        CommandLine.HelpCommand.class})
public final class SparkCli implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "expected a command: "
        + String.join(", ", spec.subcommands().keySet()));
  }

  public static void main(String[] args) {
    System.exit(execute(System.out, System.err, args));
  }

  /** Runs the command line with the given streams and returns the exit code (tests use it). */
  public static int execute(PrintStream out, PrintStream err, String... args) {
    CommandLine cl = new CommandLine(new SparkCli());
    cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.getCommandSpec().usageMessage().showDefaultValues(true).sortOptions(false).width(100);
    for (CommandLine sub : cl.getSubcommands().values()) {
      sub.getCommandSpec().usageMessage().showDefaultValues(true).sortOptions(false).width(100);
    }
    cl.setParameterExceptionHandler((ex, a) -> {
      CommandLine c = ex.getCommandLine();
      c.getErr().println(c.getCommandSpec().qualifiedName() + ": " + oneLine(ex.getMessage()));
      return 2;
    });
    cl.setExecutionExceptionHandler((ex, c, parsed) -> {
      String who = c.getCommandSpec().qualifiedName();
      Throwable cause = ex instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : ex;
      if (isUserError(cause)) {
        c.getErr().println(who + ": " + oneLine(ex.getMessage()));
        return 2;
      }
      c.getErr().println(who + ": failed: " + oneLine(String.valueOf(ex.getMessage())));
      return 1;
    });
    return cl.execute(args);
  }

  static boolean isUserError(Throwable ex) {
    return ex instanceof IllegalArgumentException || ex instanceof NoSuchFileException
        || ex instanceof SafeTensorsException || ex instanceof CaptionDatasetException
        || ex instanceof ImageDecodeException;
  }

  static String oneLine(String m) {
    return m == null ? "" : m.replace('\n', ' ').replace('\r', ' ');
  }

  /** Where Spark runs. */
  static final class SparkOptions {
    @Option(names = "--master", paramLabel = "URL",
        description = "Spark master (default: spark-submit's, else local[N] with N = this machine's cores).")
    String master;

    @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "Spark configuration, repeatable.")
    Map<String, String> conf;

    SparkSession session(String app) {
      SparkSession.Builder b = SparkSession.builder().appName(app);
      if (master != null) {
        b.master(master);
      } else if (System.getProperty("spark.master") == null) {
        b.master("local[" + Runtime.getRuntime().availableProcessors() + "]");
      }
      if (conf != null) {
        conf.forEach(b::config);
      }
      return b.getOrCreate();
    }
  }

  @Command(name = "spark-generate", mixinStandardHelpOptions = true,
      description = {"Generate m images per caption with Stable Diffusion on Spark, as Parquet rows"
          + " (caption_id, caption, index, seed, png). Rerunning over the same --out generates only what is missing."})
  static final class Generate implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin SparkOptions sparkOptions;

    @Option(names = "--model", required = true, paramLabel = "DIR",
        description = "Diffusers folder as the executors see it (a shared path), or spark-files:NAME for one shipped"
            + " with spark-submit --archives sd.zip#NAME.")
    String model;

    @Option(names = "--ship-model", description = "Ship --model from the driver to the executors with"
        + " SparkContext.addFile (local mode, or a folder on a Hadoop filesystem).")
    boolean shipModel;

    @Option(names = "--captions", required = true, paramLabel = "PATH",
        description = "Captions: a text file (one per line, ids 0, 1, ...), a TSV file of caption_id<TAB>caption,"
            + " or a Parquet folder with caption_id and caption columns.")
    Path captions;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output Parquet folder (URI or path).")
    String out;

    @Option(names = "--images", defaultValue = "10", paramLabel = "M", description = "Images per caption.")
    int images;

    @Option(names = "--size", defaultValue = "256", paramLabel = "PX", description = "Saved size.")
    int size;

    @Option(names = "--generated-size", defaultValue = "512", paramLabel = "PX", description = "Generated size.")
    int generatedSize;

    @Option(names = "--centre-crop", defaultValue = "0", paramLabel = "PX",
        description = "Keep the centre PX x PX of each generated image before resizing (0: all).")
    int centreCrop;

    @Option(names = "--seed", defaultValue = "0", description = "Base seed of every image's seed.")
    long seed;

    @Option(names = "--steps", defaultValue = "50", description = "Denoising steps.")
    int steps;

    @Option(names = "--guidance", defaultValue = "2.0", description = "Classifier-free guidance scale.")
    double guidance;

    @Option(names = "--scheduler", defaultValue = "DDIM", description = "${COMPLETION-CANDIDATES}")
    SchedulerType scheduler;

    @Option(names = "--batch", defaultValue = "2", paramLabel = "N",
        description = "Images per pipeline call (a divisor of --images gives GenerationJob's bytes exactly).")
    int batch;

    @Option(names = "--partitions", defaultValue = "0", paramLabel = "N",
        description = "Spark partitions of the pending captions (0: min(captions, 4 x default parallelism)).")
    int partitions;

    @Override
    public Integer call() throws Exception {
      PrintWriter o = spec.commandLine().getOut();
      SparkSession spark = sparkOptions.session("stablerep spark-generate");
      try {
        String location = model;
        if (shipModel) {
          Path dir = Path.of(model).toAbsolutePath();
          spark.sparkContext().addFile(dir.toString(), true);
          location = "spark-files:" + dir.getFileName();
        }
        SparkGeneration job = SparkGeneration.builder().model(location).scheduler(scheduler).steps(steps)
            .guidanceScale(guidance).generatedSize(generatedSize).outputSize(size)
            .centreCrop(centreCrop, centreCrop).imagesPerCaption(images).seed(seed).batchSize(batch)
            .partitions(partitions).build();
        long t0 = System.nanoTime();
        SparkGeneration.Result r = job.run(captionRows(spark, captions), out);
        double s = (System.nanoTime() - t0) / 1e9;
        o.printf(Locale.ROOT, "spark-generate: %d captions, %d needed images, %d images written in %.1f s"
            + " (%.3f images/s) -> %s%n", r.captions(), r.pendingCaptions(), r.generated(), s, r.generated() / s, out);
        return 0;
      } finally {
        spark.stop();
      }
    }
  }

  /** Captions from a text/TSV file (read on the driver) or a Parquet folder. */
  static Dataset<Row> captionRows(SparkSession spark, Path file) throws IOException {
    if (Files.isDirectory(file)) {
      return spark.read().parquet(file.toString());
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("--captions: expected a text/TSV file or a Parquet folder, found " + file
          + " (no such file)");
    }
    List<Row> rows = new ArrayList<>();
    for (CaptionList.Entry e : CaptionList.read(file)) {
      rows.add(RowFactory.create(e.id(), e.text()));
    }
    StructType schema = new StructType().add("caption_id", DataTypes.StringType, false)
        .add("caption", DataTypes.StringType, false);
    return spark.createDataFrame(rows, schema);
  }

  @Command(name = "spark-embed", mixinStandardHelpOptions = true,
      description = {"Encode images with a frozen ViT on Spark: Parquet rows (id, label, features).",
          "Images: a Parquet folder with id, label (optional) and png or path columns; spark-generate's output"
              + " (id = caption_id/index, label = none); or an ImageFolder root (class folders, read by path)."})
  static final class Embed implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin SparkOptions sparkOptions;

    @Option(names = "--images", required = true, paramLabel = "PATH", description = "Parquet folder or ImageFolder.")
    Path images;

    @Option(names = "--weights", required = true, paramLabel = "FILE",
        description = "timm-layout ViT safetensors ('stablerep export' writes one), a shared path or spark-files:NAME.")
    String weights;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output Parquet folder (must not exist).")
    String out;

    @Option(names = "--config", paramLabel = "FILE",
        description = "Weights that store no ViT config only (timm's own files): the ViT's config JSON"
            + " (VisionTransformer.toConfig(); {\"preset\": \"B_16\"} is vit_base_patch16_224).")
    java.nio.file.Path config;

    @Option(names = "--image-size", paramLabel = "PX", description = "Encoder input size (default: as trained).")
    Integer imageSize;

    @Option(names = "--resize", paramLabel = "PX", description = "Short side before the crop (default: size x 256/224).")
    Integer resize;

    @Option(names = "--interpolation", defaultValue = "BILINEAR", description = "${COMPLETION-CANDIDATES}")
    EvalPreprocessing.Interpolation interpolation;

    @Option(names = "--pooling", defaultValue = "token", description = "'token' (class token) or 'mean'.")
    String pooling;

    @Option(names = "--batch", defaultValue = "32", paramLabel = "N", description = "Images per forward pass.")
    int batch;

    @Override
    public Integer call() throws Exception {
      if (!"token".equals(pooling) && !"mean".equals(pooling)) {
        throw new ParameterException(spec.commandLine(), "--pooling: expected 'token' or 'mean', found '" + pooling + "'");
      }
      PrintWriter o = spec.commandLine().getOut();
      PrintWriter e = spec.commandLine().getErr();
      SparkSession spark = sparkOptions.session("stablerep spark-embed");
      try {
        if (config != null && !java.nio.file.Files.isRegularFile(config)) {
          throw new ParameterException(spec.commandLine(), "--config: expected an existing file, found " + config);
        }
        SparkEmbedding job = SparkEmbedding.builder().weights(weights)
            .config(config == null ? null : java.nio.file.Files.readString(config))
            .imageSize(imageSize).resizeShortSide(resize).interpolation(interpolation)
            .meanPooling("mean".equals(pooling)).batchSize(batch).build();
        SparkEmbedding.Result r = job.run(imageRows(spark, images), out);
        for (String f : r.failures()) {
          e.println("spark-embed: undecodable image " + oneLine(f));
        }
        o.printf("spark-embed: %d images embedded, %d undecodable -> %s%n", r.embedded(), r.failed(), out);
        return 0;
      } finally {
        spark.stop();
      }
    }
  }

  /** Image rows from a Parquet folder, a generation output or an ImageFolder root. */
  static Dataset<Row> imageRows(SparkSession spark, Path images) throws IOException {
    if (!Files.isDirectory(images)) {
      throw new IllegalArgumentException("--images: expected a Parquet folder or an ImageFolder root, found " + images
          + (Files.exists(images) ? " (a file)" : " (no such folder)"));
    }
    boolean parquet;
    try (Stream<Path> s = Files.list(images)) {
      parquet = s.anyMatch(p -> p.getFileName().toString().endsWith(".parquet"));
    }
    if (parquet) {
      Dataset<Row> d = spark.read().parquet(images.toString());
      List<String> cols = List.of(d.columns());
      if (!cols.contains("id") && cols.contains("caption_id") && cols.contains("index")) {
        return d.select(functions.concat_ws("/", d.col("caption_id").cast(DataTypes.StringType),
            d.col("index").cast(DataTypes.StringType)).as("id"), d.col("png"));
      }
      return d;
    }
    List<Path> classes = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(images, Files::isDirectory)) {
      s.forEach(classes::add);
    }
    classes.sort(null);
    if (classes.isEmpty()) {
      throw new IllegalArgumentException("--images " + images + ": expected *.parquet files or class folders, found"
          + " neither");
    }
    List<Row> rows = new ArrayList<>();
    for (int c = 0; c < classes.size(); c++) {
      List<Path> files = new ArrayList<>();
      try (DirectoryStream<Path> s = Files.newDirectoryStream(classes.get(c), Files::isRegularFile)) {
        s.forEach(files::add);
      }
      files.sort(null);
      for (Path f : files) {
        rows.add(RowFactory.create(images.relativize(f).toString(), c, f.toAbsolutePath().toString()));
      }
    }
    StructType schema = new StructType().add("id", DataTypes.StringType, false)
        .add("label", DataTypes.IntegerType, false).add("path", DataTypes.StringType, false);
    return spark.createDataFrame(rows, schema);
  }

  @Command(name = "spark-probe", mixinStandardHelpOptions = true,
      description = "Collect spark-embed's features to the driver and run the linear probe (and kNN).")
  static final class Probe implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin SparkOptions sparkOptions;

    @Option(names = "--train", required = true, paramLabel = "DIR", description = "Features of the training images.")
    String train;

    @Option(names = "--test", required = true, paramLabel = "DIR", description = "Features of the test images.")
    String test;

    @Option(names = "--lambdas", defaultValue = "45", paramLabel = "N",
        description = "Regularisation values swept over [1e-6, 1e5] (the SynCLR/CLIP protocol uses 45).")
    int lambdas;

    @Option(names = "--knn", paramLabel = "K", description = "Also a k-nearest-neighbour classifier with this k.")
    Integer knn;

    @Override
    public Integer call() throws Exception {
      if (lambdas < 1) {
        throw new ParameterException(spec.commandLine(), "--lambdas: expected >= 1, found " + lambdas);
      }
      PrintWriter o = spec.commandLine().getOut();
      SparkSession spark = sparkOptions.session("stablerep spark-probe");
      try {
        SparkEmbedding.Features tr = labelled("--train", SparkEmbedding.collect(spark.read().parquet(train)));
        SparkEmbedding.Features te = labelled("--test", SparkEmbedding.collect(spark.read().parquet(test)));
        LinearProbe probe = lambdas == 1 ? LinearProbe.builder().regularizationSweep(1e-3, 1e-3, 1).build()
            : LinearProbe.builder().regularizationSweep(1e-6, 1e5, lambdas).build();
        ProbeResult p = probe.fit(tr.x(), tr.labels()).evaluate(te.x(), te.labels());
        o.printf(Locale.ROOT, "spark-probe: linear probe top-1 %.2f %%, mean per class %.2f %%, lambda %.3g"
            + " (%d train, %d test)%n", 100 * p.top1(), 100 * p.meanPerClassAccuracy(), p.lambda(), tr.labels().length,
            te.labels().length);
        if (knn != null) {
          ProbeResult k = KnnClassifier.builder().k(knn).build().fit(tr.x(), tr.labels()).evaluate(te.x(), te.labels());
          o.printf(Locale.ROOT, "spark-probe: kNN (k = %d) top-1 %.2f %%%n", knn, 100 * k.top1());
        }
        return 0;
      } finally {
        spark.stop();
      }
    }

    private static SparkEmbedding.Features labelled(String option, SparkEmbedding.Features f) {
      for (int i = 0; i < f.labels().length; i++) {
        if (f.labels()[i] < 0) {
          throw new IllegalArgumentException(option + ": expected a label on every row, found none for id "
              + f.ids().get(i));
        }
      }
      return f;
    }
  }

  @Command(name = "spark-unpack", mixinStandardHelpOptions = true,
      description = "Without Spark: spark-generate's Parquet output to GenerationJob's layout (OUT/<caption id>/"
          + "<index>.png and OUT/manifest.tsv), which 'stablerep pretrain --data OUT' reads.")
  static final class Unpack implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--parquet", required = true, paramLabel = "DIR", description = "spark-generate's --out folder.")
    Path parquet;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the PNGs and manifest.")
    Path out;

    @Override
    public Integer call() throws Exception {
      ParquetImages.Result r = ParquetImages.toFolders(parquet, out);
      spec.commandLine().getOut().printf("spark-unpack: %d captions, %d images (%d written now) -> %s%n",
          r.captions(), r.images(), r.written(), r.manifest());
      return 0;
    }
  }
}
