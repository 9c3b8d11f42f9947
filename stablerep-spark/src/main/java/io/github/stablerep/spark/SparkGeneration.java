package io.github.stablerep.spark;

import static com.google.common.base.Preconditions.checkArgument;
import static org.apache.spark.sql.functions.col;

import io.github.stablerep.augment.GeneratedImages;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * StableRep's synthetic dataset generated on Spark: for each caption row ({@code caption_id},
 * {@code caption}), {@code m} images from Stable Diffusion, written as Parquet rows {@code
 * (caption_id, caption, index, seed, png)}.
 *
 * <ul>
 *   <li><b>One pipeline per executor JVM.</b> Each executor builds the pipeline on its first task
 *       and keeps it for every later task and partition; the pipeline's calls are serialised, and
 *       its ND4J ops use the executor's cores (run one task per executor, or accept that the
 *       other task threads wait their turn).
 *   <li><b>Deterministic images.</b> Image {@code j} of a caption comes from initial latents
 *       seeded by {@link GeneratedImages#imageSeed}(seed, key, j), where the key is the caption
 *       id's number (an integral id, or a string id that is a plain decimal number) or else a
 *       64-bit FNV-1a hash of its UTF-8 bytes. A partition's pending images are taken in
 *       caption-major order and cut into pipeline calls of {@code batchSize}, as {@code
 *       GenerationJob} does; when {@code batchSize} divides {@code m}, every call holds the same
 *       images as {@code GenerationJob}'s, and the PNG bytes are identical to its files for the
 *       same seed and captions numbered 0, 1, ... A retried or speculative task makes the same
 *       bytes, and Spark's output committer keeps one attempt's file.
 *   <li><b>Resume.</b> The output folder is appended to, one Spark job per run; a rerun reads
 *       the rows already there and generates only captions that lack some of their {@code m}
 *       images (writing only the missing indices). The run's settings are kept beside the data
 *       ({@value #SETTINGS_FILE}); a rerun with other settings is refused, as is a caption id
 *       whose text differs from the one already written.
 * </ul>
 */
public final class SparkGeneration implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The settings file in the output folder (Spark's readers skip names starting with '_'). */
  public static final String SETTINGS_FILE = "_stablerep-generation.properties";
  /** The diffusers files a model folder must hold for the pipeline to build. */
  static final List<String> MODEL_FILES = List.of("model_index.json", "scheduler/scheduler_config.json",
      "tokenizer/vocab.json", "tokenizer/merges.txt", "text_encoder/config.json", "unet/config.json",
      "vae/config.json");
  private static final Pattern DECIMAL = Pattern.compile("0|[1-9][0-9]{0,17}");

  /** Called on the executor after each image row is made, before Spark writes it. */
  public interface ImageListener extends Serializable {
    void onImage(String captionId, int index) throws Exception;
  }

  /** What a run did: captions in the input, captions that lacked images, images written now, the output. */
  public record Result(long captions, long pendingCaptions, long generated, String output) {}

  private final String model;
  private final SchedulerType scheduler;
  private final int steps;
  private final double guidanceScale;
  private final int generatedHeight;
  private final int generatedWidth;
  private final int outputHeight;
  private final int outputWidth;
  private final int cropHeight;
  private final int cropWidth;
  private final int imagesPerCaption;
  private final long seed;
  private final int batchSize;
  private final int partitions;
  private final ImageListener listener;

  private SparkGeneration(Builder b) {
    this.model = b.model;
    this.scheduler = b.scheduler;
    this.steps = b.steps;
    this.guidanceScale = b.guidanceScale;
    this.generatedHeight = b.generatedHeight;
    this.generatedWidth = b.generatedWidth;
    this.outputHeight = b.outputHeight;
    this.outputWidth = b.outputWidth;
    this.cropHeight = b.cropHeight;
    this.cropWidth = b.cropWidth;
    this.imagesPerCaption = b.imagesPerCaption;
    this.seed = b.seed;
    this.batchSize = b.batchSize;
    this.partitions = b.partitions;
    this.listener = b.listener;
  }

  /** StableRep's defaults: DDIM, 50 steps, guidance 2, 512 px generated and saved at 256, m = 10, batch 2, seed 0. */
  public static Builder builder() {
    return new Builder();
  }

  /** The seed key of a caption id (see the class comment). */
  public static long captionKey(Object captionId) {
    if (captionId instanceof Long || captionId instanceof Integer || captionId instanceof Short
        || captionId instanceof Byte) {
      return ((Number) captionId).longValue();
    }
    String s = String.valueOf(captionId);
    if (DECIMAL.matcher(s).matches()) {
      return Long.parseLong(s);
    }
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xFF)) * 0x100000001b3L;
    }
    return h;
  }

  /** The output rows' schema for an input whose {@code caption_id} has type {@code idType}. */
  public static StructType outputSchema(DataType idType) {
    return new StructType(new StructField[] {
        DataTypes.createStructField("caption_id", idType, false),
        DataTypes.createStructField("caption", DataTypes.StringType, false),
        DataTypes.createStructField("index", DataTypes.IntegerType, false),
        DataTypes.createStructField("seed", DataTypes.LongType, false),
        DataTypes.createStructField("png", DataTypes.BinaryType, false)});
  }

  /**
   * Generates the images that {@code output} lacks for {@code captions} and appends them there.
   *
   * @param captions rows with a {@code caption_id} (string or integral, unique, not null) and a
   *     {@code caption} (string) column; other columns are ignored
   * @param output a folder URI or path the executors and driver can write (a Parquet dataset)
   * @throws IllegalArgumentException naming the column, the file or the setting when the input,
   *     the model or the output folder does not fit
   */
  public Result run(Dataset<Row> captions, String output) throws IOException {
    checkArgument(captions != null, "captions: expected a Dataset with caption_id and caption, found null");
    checkArgument(output != null && !output.isBlank(), "output: expected a folder, found %s", output);
    SparkSession spark = captions.sparkSession();
    StructType schema = captions.schema();
    DataType idType = columnType(schema, "caption_id");
    checkArgument(idType.equals(DataTypes.StringType) || idType.equals(DataTypes.LongType)
        || idType.equals(DataTypes.IntegerType), "captions: column caption_id: expected string, int or bigint, found %s",
        idType.simpleString());
    DataType textType = columnType(schema, "caption");
    checkArgument(textType.equals(DataTypes.StringType), "captions: column caption: expected string, found %s",
        textType.simpleString());
    Dataset<Row> in = captions.select(col("caption_id"), col("caption"));
    List<Row> bad = in.filter(col("caption_id").isNull().or(col("caption").isNull())).limit(1).collectAsList();
    checkArgument(bad.isEmpty(), "captions: expected caption_id and caption in every row, found a null in %s",
        bad.isEmpty() ? "" : bad.get(0));
    List<Row> dup = in.groupBy("caption_id").count().filter(col("count").gt(1)).limit(1).collectAsList();
    checkArgument(dup.isEmpty(), "captions: expected unique caption ids, found \"%s\" %s times",
        dup.isEmpty() ? "" : dup.get(0).get(0), dup.isEmpty() ? "" : dup.get(0).get(1));

    Submission.requireReadable(spark, "model", model, MODEL_FILES, "a diffusers folder");

    Path out = new Path(output);
    FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
    checkSettings(fs, out);
    Dataset<Row> todo;
    if (hasData(fs, out)) {
      Dataset<Row> existing = spark.read().parquet(output);
      DataType had = columnType(existing.schema(), "caption_id");
      checkArgument(had.equals(idType), "output %s: expected caption_id of type %s as in the captions, found %s "
          + "(is this folder another job's output?)", output, idType.simpleString(), had.simpleString());
      Dataset<Row> done = existing.groupBy(col("caption_id").as("done_id"))
          .agg(functions.collect_set("index").as("done"), functions.first("caption").as("done_caption"));
      Dataset<Row> joined = in.join(done, in.col("caption_id").equalTo(done.col("done_id")), "left");
      List<Row> clash = joined.filter(col("done_caption").isNotNull().and(col("done_caption").notEqual(col("caption"))))
          .select("caption_id", "caption", "done_caption").limit(1).collectAsList();
      checkArgument(clash.isEmpty(), "output %s: caption_id %s: expected caption \"%s\" from the captions, found \"%s\" "
          + "(is this folder another job's output?)", output, clash.isEmpty() ? "" : clash.get(0).get(0),
          clash.isEmpty() ? "" : clash.get(0).get(1), clash.isEmpty() ? "" : clash.get(0).get(2));
      int m = imagesPerCaption;
      todo = joined.filter(functions.expr("done IS NULL OR size(filter(done, i -> i < " + m + ")) < " + m))
          .select(col("caption_id"), col("caption"), col("done"));
    } else {
      todo = in.withColumn("done", functions.lit(null).cast(DataTypes.createArrayType(DataTypes.IntegerType)));
    }
    long total = in.count();
    long pending = todo.count();
    if (pending == 0) {
      return new Result(total, 0, 0, output);
    }
    int slices = partitions > 0 ? partitions
        : (int) Math.max(1, Math.min(pending, 4L * spark.sparkContext().defaultParallelism()));
    LongAccumulator generated = spark.sparkContext().longAccumulator("stablerep images generated");
    Dataset<Row> rows = todo.repartition(slices, col("caption_id")).sortWithinPartitions("caption_id")
        .mapPartitions(new Generate(this, generated), Encoders.row(outputSchema(idType)));
    rows.write().mode(SaveMode.Append).parquet(output);
    return new Result(total, pending, generated.value(), output);
  }

  private static DataType columnType(StructType schema, String name) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        return f.dataType();
      }
    }
    throw new IllegalArgumentException("captions: expected a column " + name + ", found columns "
        + List.of(schema.fieldNames()));
  }

  private static boolean hasData(FileSystem fs, Path out) throws IOException {
    if (!fs.exists(out)) {
      return false;
    }
    for (FileStatus s : fs.listStatus(out)) {
      String n = s.getPath().getName();
      if (s.isFile() && n.endsWith(".parquet") && !n.startsWith("_") && !n.startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  /** What makes the images; a resumed run must use the same. */
  Map<String, String> settings() {
    Map<String, String> s = new TreeMap<>();
    s.put("scheduler", scheduler.name());
    s.put("steps", Integer.toString(steps));
    s.put("guidance_scale", Double.toString(guidanceScale));
    s.put("generated_size", generatedHeight + "x" + generatedWidth);
    s.put("output_size", outputHeight + "x" + outputWidth);
    s.put("centre_crop", cropHeight + "x" + cropWidth);
    s.put("images_per_caption", Integer.toString(imagesPerCaption));
    s.put("seed", Long.toString(seed));
    s.put("batch_size", Integer.toString(batchSize));
    return s;
  }

  private void checkSettings(FileSystem fs, Path out) throws IOException {
    Path file = new Path(out, SETTINGS_FILE);
    Map<String, String> now = settings();
    if (fs.exists(file)) {
      Properties had = new Properties();
      try (InputStream s = fs.open(file)) {
        had.load(new java.io.InputStreamReader(s, StandardCharsets.UTF_8));
      }
      List<String> diff = new ArrayList<>();
      now.forEach((k, v) -> {
        if (!v.equals(had.getProperty(k))) {
          diff.add(k + " " + had.getProperty(k) + " there, " + v + " now");
        }
      });
      checkArgument(diff.isEmpty(), "output %s: expected the settings it was generated with, found %s "
          + "(resume with the same settings, or write to another folder)", out, String.join("; ", diff));
      return;
    }
    fs.mkdirs(out);
    StringBuilder text = new StringBuilder("# stablerep-spark generation settings; a resumed run must match\n");
    now.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
    text.append("model=").append(model.replace("\\", "\\\\")).append('\n');
    Path tmp = new Path(out, "." + SETTINGS_FILE + "." + System.nanoTime() + ".tmp");
    try (OutputStream o = fs.create(tmp, true)) {
      o.write(text.toString().getBytes(StandardCharsets.UTF_8));
    }
    if (!fs.rename(tmp, file)) {
      fs.delete(tmp, false);
      if (!fs.exists(file)) {
        throw new IOException("output " + out + ": cannot write " + SETTINGS_FILE);
      }
    }
  }

  /** The work of one partition, on the executor. */
  private static final class Generate implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final SparkGeneration job;
    private final LongAccumulator generated;

    Generate(SparkGeneration job, LongAccumulator generated) {
      this.job = job;
      this.generated = generated;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
      return new Images(job, input, generated);
    }
  }

  /** One image to make: caption row, index, and whether its row is wanted (not already written). */
  private record Slot(Object id, String caption, int index, boolean emit) {}

  /** Streams a partition: fills a batch of slots, generates it, hands out its rows. */
  private static final class Images implements Iterator<Row> {
    private final SparkGeneration job;
    private final Iterator<Row> input;
    private final LongAccumulator generated;
    private final ArrayDeque<Slot> slots = new ArrayDeque<>();
    private final ArrayDeque<Row> ready = new ArrayDeque<>();
    private StableDiffusionPipeline pipeline;

    Images(SparkGeneration job, Iterator<Row> input, LongAccumulator generated) {
      this.job = job;
      this.input = input;
      this.generated = generated;
    }

    @Override
    public boolean hasNext() {
      while (ready.isEmpty()) {
        if (slots.size() < job.batchSize && input.hasNext()) {
          Row r = input.next();
          List<Integer> done = r.isNullAt(2) ? List.of() : r.getList(2);
          for (int j = 0; j < job.imagesPerCaption; j++) {
            slots.add(new Slot(r.get(0), r.getString(1), j, !done.contains(j)));
          }
        } else if (!slots.isEmpty()) {
          generateBatch();
        } else {
          return false;
        }
      }
      return true;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return ready.poll();
    }

    private void generateBatch() {
      if (pipeline == null) {
        pipeline = ExecutorModels.pipeline(job.model, job.scheduler, job.steps, job.guidanceScale,
            job.generatedHeight, job.generatedWidth);
      }
      List<Slot> batch = new ArrayList<>();
      while (batch.size() < job.batchSize && !slots.isEmpty()) {
        batch.add(slots.poll());
      }
      List<String> prompts = new ArrayList<>(batch.size());
      INDArray[] latents = new INDArray[batch.size()];
      long[] seeds = new long[batch.size()];
      for (int i = 0; i < batch.size(); i++) {
        Slot s = batch.get(i);
        prompts.add(s.caption());
        seeds[i] = GeneratedImages.imageSeed(job.seed, captionKey(s.id()), s.index());
        latents[i] = pipeline.initialLatents(seeds[i], 1);
      }
      INDArray images = pipeline.generate(prompts, Nd4j.concat(0, latents), StableDiffusionPipeline.Progress.NONE);
      GeneratedImages.requireFinite(images, i -> "caption " + batch.get((int) i).id() + " image "
          + batch.get((int) i).index());
      images = GeneratedImages.cropAndResize(images, job.cropHeight, job.cropWidth, job.outputHeight,
          job.outputWidth);
      for (int i = 0; i < batch.size(); i++) {
        Slot s = batch.get(i);
        if (!s.emit()) {
          continue;
        }
        ready.add(RowFactory.create(s.id(), s.caption(), s.index(), seeds[i], GeneratedImages.png(images, i)));
        generated.add(1);
        if (job.listener != null) {
          try {
            job.listener.onImage(String.valueOf(s.id()), s.index());
          } catch (RuntimeException e) {
            throw e;
          } catch (Exception e) {
            throw new IllegalStateException("image listener failed at caption " + s.id() + " image " + s.index(), e);
          }
        }
      }
    }
  }

  public String model() { return model; }
  public SchedulerType scheduler() { return scheduler; }
  public int steps() { return steps; }
  public double guidanceScale() { return guidanceScale; }
  public int imagesPerCaption() { return imagesPerCaption; }
  public long seed() { return seed; }
  public int batchSize() { return batchSize; }

  @Override
  public String toString() {
    return "SparkGeneration" + settings() + " model=" + model;
  }

  /** Builder; required: the model location. */
  public static final class Builder {
    private String model;
    private SchedulerType scheduler = SchedulerType.DDIM;
    private int steps = 50;
    private double guidanceScale = 2.0;
    private int generatedHeight = 512;
    private int generatedWidth = 512;
    private int outputHeight = 256;
    private int outputWidth = 256;
    private int cropHeight;
    private int cropWidth;
    private int imagesPerCaption = 10;
    private long seed;
    private int batchSize = 2;
    private int partitions;
    private ImageListener listener;

    private Builder() {}

    /**
     * The diffusers folder as the executors see it: a path every node mounts, or {@code
     * spark-files:NAME} for a folder Spark shipped ({@code --archives sd.zip#NAME}).
     */
    public Builder model(String v) { this.model = v; return this; }
    public Builder scheduler(SchedulerType v) { this.scheduler = v; return this; }
    public Builder steps(int v) { this.steps = v; return this; }
    public Builder guidanceScale(double v) { this.guidanceScale = v; return this; }
    /** The size the pipeline generates at (multiples of 8). */
    public Builder generatedSize(int v) { this.generatedHeight = v; this.generatedWidth = v; return this; }
    /** The saved size (antialiased resize when it differs from the generated or cropped size). */
    public Builder outputSize(int v) { this.outputHeight = v; this.outputWidth = v; return this; }
    /** Keeps the centre of each generated image before the resize, as {@code GenerationJob.centreCrop}. */
    public Builder centreCrop(int height, int width) { this.cropHeight = height; this.cropWidth = width; return this; }
    public Builder imagesPerCaption(int v) { this.imagesPerCaption = v; return this; }
    public Builder seed(long v) { this.seed = v; return this; }
    /** Images per pipeline call, across captions within a partition; keep it on resume. */
    public Builder batchSize(int v) { this.batchSize = v; return this; }
    /** Spark partitions of the pending captions; 0 (default) takes min(captions, 4 × default parallelism). */
    public Builder partitions(int v) { this.partitions = v; return this; }
    /** Called on the executor after each image (progress, metrics, fault injection in tests). */
    public Builder listener(ImageListener v) { this.listener = v; return this; }

    public SparkGeneration build() {
      checkArgument(model != null && !model.isBlank(), "model: expected a diffusers folder, found %s", model);
      checkArgument(scheduler != null, "scheduler: expected a SchedulerType, found null");
      checkArgument(steps >= 1 && steps <= 1000, "steps: expected 1 to 1000, found %s", steps);
      checkArgument(Double.isFinite(guidanceScale), "guidanceScale: expected a finite number, found %s", guidanceScale);
      checkArgument(generatedHeight >= 8 && generatedHeight % 8 == 0 && generatedHeight <= 4096,
          "generatedSize: expected a multiple of 8 in [8, 4096], found %s", generatedHeight);
      checkArgument(outputHeight >= 1 && outputHeight <= 4096, "outputSize: expected 1 to 4096, found %s",
          outputHeight);
      checkArgument((cropHeight == 0 && cropWidth == 0) || (cropHeight >= 1 && cropWidth >= 1
          && cropHeight <= generatedHeight && cropWidth <= generatedWidth),
          "centreCrop: expected 0 x 0 (none) or both in [1, the generated size %s], found %s x %s", generatedHeight,
          cropHeight, cropWidth);
      checkArgument(imagesPerCaption >= 1, "imagesPerCaption: expected >= 1, found %s", imagesPerCaption);
      checkArgument(batchSize >= 1, "batchSize: expected >= 1, found %s", batchSize);
      checkArgument(partitions >= 0, "partitions: expected >= 0 (0: automatic), found %s", partitions);
      return new SparkGeneration(this);
    }
  }
}
