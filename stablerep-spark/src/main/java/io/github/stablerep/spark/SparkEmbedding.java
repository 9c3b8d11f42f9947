package io.github.stablerep.spark;

import static com.google.common.base.Preconditions.checkArgument;
import static org.apache.spark.sql.functions.col;

import io.github.stablerep.augment.ImageDecodeException;
import io.github.stablerep.augment.Images;
import io.github.stablerep.eval.EvalPreprocessing;
import io.github.stablerep.eval.FeatureExtractor;
import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.ImageDataset;
import io.github.stablerep.models.vit.Pooling;
import io.github.stablerep.models.vit.TimmVit;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Frozen ViT features of images on Spark: rows {@code (id, label, png)} or {@code (id, label,
 * path)} in, Parquet rows {@code (id, label, features)} out, {@code features} a float array.
 *
 * <p>Each executor JVM reads the timm-layout weights once ({@link TimmVit}, as the command
 * line's {@code embed --weights}) and runs stablerep-eval's {@link FeatureExtractor} with {@link
 * EvalPreprocessing} over its partitions, a batch at a time, so a row's features are what {@code
 * FeatureExtractor} gives for the same image. An image that does not decode is not a failed
 * job: it is counted, its id and reason are returned in {@link Result#failures()} (the first
 * {@value #MAX_REPORTED}), and it gets no output row. {@link #collect} brings the features to
 * the driver for {@code LinearProbe} or {@code KnnClassifier}.
 */
public final class SparkEmbedding implements Serializable {
  private static final long serialVersionUID = 1L;

  /** How many undecodable rows a result names; the count covers all. */
  public static final int MAX_REPORTED = 100;

  /** What a run did: rows embedded, rows that failed to decode, and the first of those ("id: reason"). */
  public record Result(long embedded, long failed, List<String> failures, String output) {}

  /** Features on the driver, in id order: ids, {@code FLOAT [N, D]}, labels (-1 where none). */
  public record Features(List<String> ids, INDArray x, int[] labels) {}

  private final String weights;
  private final String config;
  private final Integer imageSize;
  private final Integer resizeShortSide;
  private final EvalPreprocessing.Interpolation interpolation;
  private final boolean meanPooling;
  private final int batchSize;

  private SparkEmbedding(Builder b) {
    this.weights = b.weights;
    this.config = b.config;
    this.imageSize = b.imageSize;
    this.resizeShortSide = b.resizeShortSide;
    this.interpolation = b.interpolation;
    this.meanPooling = b.meanPooling;
    this.batchSize = b.batchSize;
  }

  /** Defaults as the command line's {@code embed}: class token, bilinear resize to size × 256/224, batch 32. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Embeds every row of {@code images} and writes the features to {@code output} (which must not
   * exist yet).
   *
   * @param images an {@code id} column (string or integral), an optional integer {@code label},
   *     and the image as PNG/JPEG/... bytes in {@code png} or as a {@code path} every executor can
   *     read
   * @throws IllegalArgumentException naming the column, the weights or the output when they do
   *     not fit (checked before the work is submitted)
   */
  public Result run(Dataset<Row> images, String output) throws IOException {
    checkArgument(images != null, "images: expected a Dataset with id and png (or path), found null");
    checkArgument(output != null && !output.isBlank(), "output: expected a folder, found %s", output);
    SparkSession spark = images.sparkSession();
    StructType schema = images.schema();
    DataType idType = type(schema, "id");
    checkArgument(idType != null && (idType.equals(DataTypes.StringType) || idType.equals(DataTypes.LongType)
        || idType.equals(DataTypes.IntegerType)), "images: column id: expected string, int or bigint, found %s",
        idType == null ? "no such column, columns " + List.of(schema.fieldNames()) : idType.simpleString());
    DataType labelType = type(schema, "label");
    checkArgument(labelType == null || labelType.equals(DataTypes.IntegerType),
        "images: column label: expected int, found %s", labelType == null ? "" : labelType.simpleString());
    DataType png = type(schema, "png");
    DataType path = type(schema, "path");
    checkArgument((png != null && png.equals(DataTypes.BinaryType)) || (png == null && path != null
        && path.equals(DataTypes.StringType)), "images: expected a binary column png or a string column path, "
        + "found columns %s", List.of(schema.fieldNames()));
    org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
    FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
    checkArgument(!fs.exists(out), "output %s: expected a folder that does not exist yet, found one", output);
    Submission.requireReadable(spark, "weights", weights, List.of(""), "a timm-layout safetensors file");

    Dataset<Row> in = images.select(col("id"), labelType == null
        ? org.apache.spark.sql.functions.lit(null).cast(DataTypes.IntegerType).as("label") : col("label"),
        png != null ? col("png") : col("path"));
    LongAccumulator failed = spark.sparkContext().longAccumulator("stablerep undecodable images");
    CollectionAccumulator<String> failures = spark.sparkContext().collectionAccumulator("stablerep image failures");
    StructType outSchema = new StructType(new StructField[] {
        DataTypes.createStructField("id", idType, false),
        DataTypes.createStructField("label", DataTypes.IntegerType, true),
        DataTypes.createStructField("features", DataTypes.createArrayType(DataTypes.FloatType, false), false)});
    Dataset<Row> rows = in.mapPartitions(new Embed(this, png != null, failed, failures), Encoders.row(outSchema));
    rows.write().parquet(output);
    long embedded = spark.read().parquet(output).count();
    List<String> named = new ArrayList<>(failures.value());
    named.sort(null);
    return new Result(embedded, failed.value(), List.copyOf(named.subList(0, Math.min(MAX_REPORTED, named.size()))),
        output);
  }

  /** Collects {@code features} (rows {@code id, label, features}) to the driver, ordered by id. */
  public static Features collect(Dataset<Row> features) {
    List<Row> rows = features.orderBy("id").collectAsList();
    checkArgument(!rows.isEmpty(), "features: expected at least one row, found none");
    List<String> ids = new ArrayList<>(rows.size());
    int d = rows.get(0).getList(2).size();
    float[] x = new float[rows.size() * d];
    int[] y = new int[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      ids.add(String.valueOf(r.get(0)));
      y[i] = r.isNullAt(1) ? -1 : r.getInt(1);
      List<Float> f = r.getList(2);
      checkArgument(f.size() == d, "features: expected %s values per row, found %s for id %s", d, f.size(), r.get(0));
      for (int j = 0; j < d; j++) {
        x[i * d + j] = f.get(j);
      }
    }
    return new Features(List.copyOf(ids), Nd4j.create(x, new long[] {rows.size(), d}, 'c'), y);
  }

  private static DataType type(StructType schema, String name) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        return f.dataType();
      }
    }
    return null;
  }

  /** The executor's encoder: the graph and the extractor over it. */
  private record Encoder(FeatureExtractor extractor, VisionTransformer vit) {}

  private Encoder loadEncoder() {
    try {
      TimmVit.Loaded w = TimmVit.read(ExecutorFiles.resolve(weights), config);
      VisionTransformer.Builder b = w.vit().toBuilder().name("vit");
      if (imageSize != null) {
        b.imageSize(imageSize);
      }
      if (meanPooling) {
        b.pooling(Pooling.MEAN);
      }
      VisionTransformer vit = b.build();
      SameDiff sd = SameDiff.create();
      SDVariable input = sd.placeHolder("images", org.nd4j.linalg.api.buffer.DataType.FLOAT, -1, 3,
          vit.imageHeight(), vit.imageWidth());
      VitGraph g = vit.define(sd, input);
      vit.importWeights(sd, w.weights(), WeightLayout.TIMM);
      int size = vit.imageHeight();
      int shortSide = resizeShortSide != null ? resizeShortSide : (int) Math.round(size * 256.0 / 224.0);
      EvalPreprocessing pre = EvalPreprocessing.builder().resizeShortSide(shortSide).cropSize(size)
          .interpolation(interpolation).build();
      FeatureExtractor fx = FeatureExtractor.builder().graph(sd).input(input.name()).output(g.pooled().name())
          .batchSize(batchSize).preprocessing(pre).build();
      return new Encoder(fx, vit);
    } catch (IOException e) {
      throw new UncheckedIOException("weights " + weights + ": " + e.getMessage(), e);
    }
  }

  private String encoderKey() {
    return weights + "|" + config + "|" + imageSize + "|" + resizeShortSide + "|" + interpolation
        + "|" + meanPooling + "|" + batchSize;
  }

  /** The work of one partition, on the executor. */
  private static final class Embed implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private final SparkEmbedding job;
    private final boolean bytesColumn;
    private final LongAccumulator failed;
    private final CollectionAccumulator<String> failures;

    Embed(SparkEmbedding job, boolean bytesColumn, LongAccumulator failed, CollectionAccumulator<String> failures) {
      this.job = job;
      this.bytesColumn = bytesColumn;
      this.failed = failed;
      this.failures = failures;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
      Encoder enc = ExecutorModels.encoder(job.encoderKey(), job::loadEncoder);
      return new Iterator<>() {
        private final ArrayDeque<Row> ready = new ArrayDeque<>();

        @Override
        public boolean hasNext() {
          while (ready.isEmpty() && input.hasNext()) {
            List<Row> rows = new ArrayList<>();
            List<INDArray> decoded = new ArrayList<>();
            while (rows.size() < job.batchSize && input.hasNext()) {
              Row r = input.next();
              INDArray image = decode(r);
              if (image != null) {
                rows.add(r);
                decoded.add(image);
              }
            }
            if (!rows.isEmpty()) {
              embed(enc, rows, decoded);
            }
          }
          return !ready.isEmpty();
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          return ready.poll();
        }

        private void embed(Encoder enc, List<Row> rows, List<INDArray> decoded) {
          INDArray f;
          synchronized (enc) {
            try {
              f = enc.extractor().extract(new InMemory(decoded));
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          }
          float[] v = f.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat();
          int d = (int) f.size(1);
          for (int i = 0; i < rows.size(); i++) {
            Float[] row = new Float[d];
            for (int j = 0; j < d; j++) {
              float x = v[i * d + j];
              if (!Float.isFinite(x)) {
                // NaN weights give all-NaN features; no probe can use those
                throw new IllegalStateException("features of id " + rows.get(i).get(0) + ": expected finite values, "
                    + "found " + x + " (are the weights in " + job.weights + " all finite?)");
              }
              row[j] = x;
            }
            Row r = rows.get(i);
            ready.add(RowFactory.create(r.get(0), r.isNullAt(1) ? null : r.getInt(1), row));
          }
        }
      };
    }

    /** The image of a row, or null (counted and named) when it cannot be read or decoded. */
    private INDArray decode(Row r) {
      String id = String.valueOf(r.get(0));
      try {
        if (bytesColumn) {
          byte[] bytes = r.isNullAt(2) ? new byte[0] : (byte[]) r.get(2);
          return Images.readBytes(bytes, "image " + id);
        }
        checkArgument(!r.isNullAt(2), "path: expected a file, found null");
        return Images.read(Path.of(r.getString(2)));
      } catch (ImageDecodeException | IllegalArgumentException e) {
        report(id, e);
      } catch (IOException e) {
        report(id, e);
      }
      return null;
    }

    private void report(String id, Exception e) {
      failed.add(1);
      String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().replace('\n', ' ');
      failures.add(id + ": " + m);
    }
  }

  /** A partition's decoded images as the extractor's dataset. */
  private static final class InMemory implements ImageDataset {
    private final List<INDArray> images;

    InMemory(List<INDArray> images) {
      this.images = images;
    }

    @Override
    public int size() {
      return images.size();
    }

    @Override
    public int[] labels() {
      return new int[images.size()];
    }

    @Override
    public Reader reader() {
      return new Reader() {
        private int at;

        @Override
        public Batch next(int max) {
          int to = Math.min(images.size(), at + max);
          Batch b = new Batch(at, images.subList(at, to), new int[to - at]);
          at = to;
          return b;
        }

        @Override
        public void close() {}
      };
    }
  }

  public String weights() { return weights; }
  public int batchSize() { return batchSize; }

  /** Builder; required: the weights. */
  public static final class Builder {
    private String weights;
    private String config;
    private Integer imageSize;
    private Integer resizeShortSide;
    private EvalPreprocessing.Interpolation interpolation = EvalPreprocessing.Interpolation.BILINEAR;
    private boolean meanPooling;
    private int batchSize = 32;

    private Builder() {}

    /** timm-layout ViT safetensors as the executors see it: a shared path or {@code spark-files:NAME}. */
    public Builder weights(String v) { this.weights = v; return this; }
    /**
     * The ViT's config JSON for a weights file that stores none (timm's own files; the legacy
     * path of {@link TimmVit}); null (the default) for files written by {@code export}.
     */
    public Builder config(String v) { this.config = v; return this; }
    /** Encoder input size; null: as trained (another size resamples the position embedding). */
    public Builder imageSize(Integer v) { this.imageSize = v; return this; }
    /** Short side before the centre crop; null: image size × 256/224, rounded. */
    public Builder resizeShortSide(Integer v) { this.resizeShortSide = v; return this; }
    public Builder interpolation(EvalPreprocessing.Interpolation v) { this.interpolation = v; return this; }
    /** Mean of the patch tokens instead of the class token. */
    public Builder meanPooling(boolean v) { this.meanPooling = v; return this; }
    /** Images per forward pass. */
    public Builder batchSize(int v) { this.batchSize = v; return this; }

    public SparkEmbedding build() {
      checkArgument(weights != null && !weights.isBlank(), "weights: expected a timm safetensors file, found %s",
          weights);
      if (config != null) {
        TimmVit.configured("config", "the ViT config", config);  // fails on the driver, naming the field
      }
      checkArgument(imageSize == null || (imageSize >= 1 && imageSize <= 4096), "imageSize: expected 1 to 4096, "
          + "found %s", imageSize);
      checkArgument(resizeShortSide == null || resizeShortSide >= 1, "resizeShortSide: expected >= 1, found %s",
          resizeShortSide);
      checkArgument(interpolation != null, "interpolation: expected BILINEAR or BICUBIC, found null");
      checkArgument(batchSize >= 1, "batchSize: expected >= 1, found %s", batchSize);
      return new SparkEmbedding(this);
    }
  }
}
