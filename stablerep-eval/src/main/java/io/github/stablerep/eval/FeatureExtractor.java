package io.github.stablerep.eval;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.Npy;
import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.ImageDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Runs a frozen SameDiff graph over an {@link ImageDataset} and collects one feature row per
 * image: the frozen-encoder half of the linear-probe and kNN protocols.
 *
 * <p>Any graph works: name its image placeholder ({@code [N, C, H, W]}) and the output
 * variable (for a ViT, the {@code VitGraph}'s class token). Images are read, optionally
 * {@linkplain EvalPreprocessing preprocessed}, stacked and fed {@code batchSize} at a time, so
 * memory holds one batch of images plus the growing {@code [N, D]} feature matrix (50 000 × 768
 * floats is 154 MB), never the dataset. Outputs of rank above 2 are flattened per sample.
 * Nothing is trained: the graph is only evaluated with {@code SameDiff.output}.
 *
 * <p>{@link #extractCached} stores the features as {@code .npy} (core's {@link Npy}, written
 * atomically, so an interrupted run leaves no half file) and reads them back on the next call,
 * so a large set is extracted once.
 */
public final class FeatureExtractor {

  private final SameDiff graph;
  private final String input;
  private final String output;
  private final int batchSize;
  private final EvalPreprocessing preprocessing;
  private final ProgressListener progress;

  private FeatureExtractor(Builder b) {
    this.graph = b.graph;
    this.input = b.input;
    this.output = b.output;
    this.batchSize = b.batchSize;
    this.preprocessing = b.preprocessing;
    this.progress = b.progress;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().graph(graph).input(input).output(output).batchSize(batchSize)
        .preprocessing(preprocessing).progress(progress);
  }

  /**
   * The features of every image, {@code FLOAT [N, D]}, row {@code i} for sample {@code i}.
   *
   * @throws IOException if the dataset cannot be read
   * @throws IllegalArgumentException if the dataset is empty
   * @throws IllegalStateException if images of different sizes meet in a batch without a crop
   */
  public INDArray extract(ImageDataset dataset) throws IOException {
    Objects.requireNonNull(dataset, "dataset");
    int n = dataset.size();
    checkArgument(n > 0, "dataset: expected at least one sample, found 0");
    DataType inputType = graph.getVariable(input).dataType();
    INDArray features = null;
    int done = 0;
    try (ImageDataset.Reader reader = dataset.reader()) {
      while (done < n) {
        Batch batch = reader.next(Math.min(batchSize, n - done));
        if (batch.isEmpty()) {
          throw new IOException("dataset: expected " + n + " samples, the reader ended after "
              + done);
        }
        INDArray x = stack(batch).castTo(inputType);
        INDArray y = graph.output(Map.of(input, x), output).get(output);
        long rows = y.size(0);
        if (rows != batch.size()) {
          throw new IllegalStateException("output '" + output + "': expected " + batch.size()
              + " rows for the batch, found shape " + Arrays.toString(y.shape()));
        }
        INDArray flat = y.reshape('c', rows, y.length() / rows).castTo(DataType.FLOAT);
        if (features == null) {
          features = Nd4j.create(DataType.FLOAT, n, flat.size(1));
        } else if (flat.size(1) != features.size(1)) {
          throw new IllegalStateException("output '" + output + "': expected " + features.size(1)
              + " features per sample, found " + flat.size(1) + " at sample " + done);
        }
        features.get(NDArrayIndex.interval(done, done + batch.size()), NDArrayIndex.all())
            .assign(flat);
        done += batch.size();
        progress.onProgress(done, n);
      }
    }
    return features;
  }

  /**
   * The features from {@code cache} when it exists and has {@code dataset.size()} rows;
   * otherwise extracts them and writes {@code cache} atomically. A cache with the wrong row
   * count is an error, not silently overwritten: it belongs to another dataset.
   */
  public INDArray extractCached(ImageDataset dataset, Path cache) throws IOException {
    Objects.requireNonNull(cache, "cache");
    if (Files.exists(cache)) {
      return readFeatures(cache, dataset.size());
    }
    INDArray features = extract(dataset);
    Path parent = cache.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Npy.write(cache, features);
    return features;
  }

  /** Reads a feature matrix written by {@link #extractCached}, checking rank and row count. */
  public static INDArray readFeatures(Path file, int expectedRows) throws IOException {
    INDArray f = Npy.read(file);
    if (f.rank() != 2 || f.size(0) != expectedRows) {
      throw new IOException(file + ": expected a feature matrix [" + expectedRows
          + ", D], found shape " + Arrays.toString(f.shape()));
    }
    return f;
  }

  private INDArray stack(Batch batch) {
    if (preprocessing == null) {
      return batch.stack();
    }
    List<INDArray> out = new ArrayList<>(batch.size());
    for (INDArray im : batch.images()) {
      out.add(preprocessing.apply(im));
    }
    return new Batch(batch.start(), out, batch.labels()).stack();
  }

  /** Builder; required: graph, input, output. Defaults: batch 64, no preprocessing. */
  public static final class Builder {
    private SameDiff graph;
    private String input;
    private String output;
    private int batchSize = 64;
    private EvalPreprocessing preprocessing;
    private ProgressListener progress = ProgressListener.NONE;

    private Builder() {}

    public Builder graph(SameDiff value) {
      this.graph = value;
      return this;
    }

    /** The name of the image placeholder, {@code [N, C, H, W]}. */
    public Builder input(String value) {
      this.input = value;
      return this;
    }

    /** The name of the feature variable, {@code [N, D]} (or higher rank, flattened). */
    public Builder output(String value) {
      this.output = value;
      return this;
    }

    public Builder batchSize(int value) {
      this.batchSize = value;
      return this;
    }

    /** Applied to each image before stacking; {@code null} (the default) feeds images as read. */
    public Builder preprocessing(EvalPreprocessing value) {
      this.preprocessing = value;
      return this;
    }

    public Builder progress(ProgressListener value) {
      this.progress = value;
      return this;
    }

    public FeatureExtractor build() {
      checkArgument(graph != null, "graph: expected a SameDiff graph, found null");
      checkArgument(batchSize >= 1, "batchSize: expected >= 1, found %s", batchSize);
      checkArgument(progress != null, "progress: expected a listener (ProgressListener.NONE), found null");
      SDVariable in = input == null ? null : graph.getVariable(input);
      checkArgument(in != null && in.isPlaceHolder(),
          "input: expected the name of a placeholder of the graph, found %s", input);
      checkArgument(output != null && graph.getVariable(output) != null,
          "output: expected the name of a variable of the graph, found %s", output);
      return new FeatureExtractor(this);
    }
  }
}
