package io.github.stablerep.spark;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.Images;
import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.eval.KnnClassifier;
import io.github.stablerep.eval.LinearProbe;
import io.github.stablerep.eval.ProbeResult;
import io.github.stablerep.examples.cli.StableRepCli;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Distributed embedding against the command line's {@code embed} (FeatureExtractor over an
 * ImageFolder) on the same images and weights, then the probe on the collected features.
 */
public class SparkEmbeddingTest {

  @TempDir static Path tmp;
  static SparkSession spark;
  static Path weights;

  @BeforeAll
  static void setUp() throws IOException {
    spark = LocalSpark.session();
    weights = writeTinyVit(tmp.resolve("vit.safetensors"));
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  /** A random tiny ViT in timm's layout, with its config in the metadata as 'export' writes it. */
  public static Path writeTinyVit(Path file) throws IOException {
    VisionTransformer vit = VisionTransformer.builder().imageSize(28).patchSize(7).width(32).depth(2).heads(2)
        .mlpRatio(2.0).seed(3).name("vit").build();
    SameDiff sd = SameDiff.create();
    vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 28, 28));
    SafeTensors.write(file, vit.exportWeights(sd, WeightLayout.TIMM), Map.of("config.vit", vit.toConfig()));
    return file;
  }

  /** An ImageFolder of two classes, dark and light, {@code perClass} images each; returns the relative paths. */
  public static List<String> writeImageFolder(Path root, int perClass, long seed) throws IOException {
    Random r = new Random(seed);
    List<String> ids = new ArrayList<>();
    for (String c : List.of("a-dark", "b-light")) {
      Files.createDirectories(root.resolve(c));
      for (int i = 0; i < perClass; i++) {
        float[] v = new float[3 * 30 * 26];
        for (int k = 0; k < v.length; k++) {
          v[k] = (c.equals("a-dark") ? 0.0f : 0.6f) + 0.4f * r.nextFloat();
        }
        Images.writePng(root.resolve(c).resolve("im" + i + ".png"), Nd4j.create(v, new long[] {3, 30, 26}, 'c'));
        ids.add(c + "/im" + i + ".png");
      }
    }
    return ids;
  }

  static List<Row> rows(Path root, List<String> ids) throws IOException {
    List<Row> rows = new ArrayList<>();
    for (String id : ids) {
      rows.add(RowFactory.create(id, id.startsWith("a-") ? 0 : 1, Files.readAllBytes(root.resolve(id))));
    }
    return rows;
  }

  static final StructType SCHEMA = new StructType().add("id", DataTypes.StringType, false)
      .add("label", DataTypes.IntegerType, false).add("png", DataTypes.BinaryType, true);

  @Test
  void featuresEqualTheCommandLinesFeatureExtractorAndBadRowsAreReported() throws IOException {
    Path root = tmp.resolve("train");
    List<String> ids = writeImageFolder(root, 6, 1);
    Path ref = tmp.resolve("ref.npy");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = StableRepCli.execute(new PrintStream(new ByteArrayOutputStream()), new PrintStream(err), "embed",
        "--images", root.toString(), "--weights", weights.toString(), "--out", ref.toString(), "--batch", "4");
    assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
    INDArray expected = Npy.read(ref);

    List<Row> input = new ArrayList<>(rows(root, ids));
    input.add(RowFactory.create("zz-broken", 1, "not an image".getBytes(StandardCharsets.UTF_8)));
    input.add(RowFactory.create("zz-empty", 0, null));
    Path out = tmp.resolve("features");
    SparkEmbedding.Result r = SparkEmbedding.builder().weights(weights.toString()).batchSize(3).build()
        .run(spark.createDataFrame(input, SCHEMA).repartition(2), out.toString());
    assertThat(r.embedded()).isEqualTo(ids.size());
    assertThat(r.failed()).isEqualTo(2);
    assertThat(r.failures()).hasSize(2);
    assertThat(r.failures().get(0)).startsWith("zz-broken: ");
    assertThat(r.failures().get(1)).startsWith("zz-empty: ");

    SparkEmbedding.Features f = SparkEmbedding.collect(spark.read().parquet(out.toString()));
    assertThat(f.ids()).isEqualTo(ids); // ImageFolder order is class, then file name: the ids' order here
    assertThat(f.x().shape()).isEqualTo(expected.shape());
    double scale = expected.norm2Number().doubleValue();
    double diff = f.x().sub(expected.castTo(DataType.FLOAT)).norm2Number().doubleValue();
    // different batch compositions may round differently; nothing else may differ
    assertThat(diff / scale).as("relative L2 difference").isLessThan(1e-5);
    assertThat(f.labels()).containsExactly(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1);

    // the probe on the driver, end to end: same result as on the reference features
    INDArray trainX = f.x().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 12));
    LinearProbe probe = LinearProbe.builder().lbfgs().regularizationSweep(1e-3, 1e-3, 1).build();
    ProbeResult p = probe.fit(trainX, f.labels()).evaluate(trainX, f.labels());
    ProbeResult pRef = probe.fit(expected.castTo(DataType.FLOAT), f.labels()).evaluate(expected.castTo(DataType.FLOAT),
        f.labels());
    assertThat(p.top1()).isEqualTo(pRef.top1());
    ProbeResult k = KnnClassifier.builder().k(3).build().fit(trainX, f.labels()).evaluate(trainX, f.labels());
    assertThat(k.top1()).isGreaterThan(0.5);
  }
}
