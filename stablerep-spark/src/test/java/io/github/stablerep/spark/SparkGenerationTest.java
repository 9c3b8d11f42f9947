package io.github.stablerep.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.augment.GeneratedImages;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.examples.GenerationJob;
import io.github.stablerep.examples.TinyStableDiffusion;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Distributed generation on a real local SparkSession with the shipped tiny Stable Diffusion,
 * compared byte for byte with the single-machine {@link GenerationJob} on the same settings.
 */
class SparkGenerationTest {

  private static final int M = 2;
  private static final int STEPS = 3;
  private static final long SEED = 11;
  private static final List<String> TEXTS = List.of("a photo of a small dark coat", "a product photo of a large light bag",
      "a picture of a medium grey sneaker", "a photo of a large dark dress");

  @TempDir static Path tmp;
  static SparkSession spark;
  static Path model;
  /** GenerationJob's output for TEXTS: the reference bytes. */
  static Path reference;

  @BeforeAll
  static void setUp() throws IOException {
    spark = LocalSpark.session();
    model = TinyStableDiffusion.folder(tmp.resolve("cache"));
    Path captions = Files.writeString(tmp.resolve("captions.txt"), String.join("\n", TEXTS) + "\n");
    reference = tmp.resolve("reference");
    // the executor's own cached pipeline (local mode: this JVM), so the model is built once
    StableDiffusionPipeline pipe = ExecutorModels.pipeline(model.toString(), SchedulerType.DDIM, STEPS, 2.0, 32, 32);
    GenerationJob.builder().captions(captions).outputDirectory(reference).imagesPerCaption(M).outputSize(28)
        .centreCrop(28, 28).seed(SEED).batchSize(M).build().run(pipe, null, null);
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  static SparkGeneration.Builder job() {
    return SparkGeneration.builder().model(model.toString()).scheduler(SchedulerType.DDIM).steps(STEPS)
        .guidanceScale(2.0).generatedSize(32).centreCrop(28, 28).outputSize(28).imagesPerCaption(M).seed(SEED)
        .batchSize(M).partitions(2);
  }

  static Dataset<Row> captions(int n) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(RowFactory.create(Integer.toString(i), TEXTS.get(i)));
    }
    StructType schema = new StructType().add("caption_id", DataTypes.StringType, false)
        .add("caption", DataTypes.StringType, false);
    return spark.createDataFrame(rows, schema);
  }

  static List<Row> written(Path out) {
    return spark.read().parquet(out.toString()).orderBy("caption_id", "index").collectAsList();
  }

  /** Every row's bytes equal GenerationJob's file for the same caption and index; one row per pair. */
  static void assertMatchesReference(List<Row> rows, int captions) throws IOException {
    assertThat(rows).hasSize(captions * M);
    Set<String> pairs = new HashSet<>();
    for (Row r : rows) {
      String id = r.getString(0);
      int j = r.getInt(2);
      assertThat(pairs.add(id + "/" + j)).as("one row for %s/%s", id, j).isTrue();
      assertThat(r.getString(1)).isEqualTo(TEXTS.get(Integer.parseInt(id)));
      assertThat(r.getLong(3)).isEqualTo(GenerationJob.imageSeed(SEED, Integer.parseInt(id), j));
      assertThat((byte[]) r.get(4)).as("PNG bytes of %s/%s", id, j)
          .isEqualTo(Files.readAllBytes(reference.resolve(id).resolve(j + ".png")));
    }
  }

  @Test
  void writesGenerationJobsBytesAndResumesWithoutRegenerating() throws IOException {
    Path out = tmp.resolve("run");
    long loadsBefore = ExecutorModels.pipelineLoads();
    SparkGeneration.Result first = job().build().run(captions(3), out.toString());
    assertThat(first.pendingCaptions()).isEqualTo(3);
    assertThat(first.generated()).isEqualTo(3L * M);
    // two partitions and several tasks, and the pipeline the reference was made with is reused
    assertThat(ExecutorModels.pipelineLoads() - loadsBefore).isZero();
    assertMatchesReference(written(out), 3);

    SparkGeneration.Result again = job().build().run(captions(3), out.toString());
    assertThat(again.pendingCaptions()).isZero();
    assertThat(again.generated()).isZero();
    assertThat(written(out)).hasSize(3 * M);

    // one more caption: only its images are made
    SparkGeneration.Result more = job().build().run(captions(4), out.toString());
    assertThat(more.pendingCaptions()).isEqualTo(1);
    assertThat(more.generated()).isEqualTo(M);
    assertMatchesReference(written(out), 4);

    // read back without Spark, into GenerationJob's layout
    Path folders = tmp.resolve("folders");
    CaptionDataset back = ParquetImages.read(out, folders);
    assertThat(back.captions()).hasSize(4);
    for (CaptionGroup g : back.captions()) {
      assertThat(g.caption()).isEqualTo(TEXTS.get(Integer.parseInt(g.id())));
      assertThat(g.images()).hasSize(M);
      for (Path p : g.images()) {
        assertThat(Files.readAllBytes(p)).isEqualTo(Files.readAllBytes(reference.resolve(g.id())
            .resolve(p.getFileName())));
      }
    }
    assertThat(Files.readString(folders.resolve("manifest.tsv")))
        .isEqualTo(Files.readString(reference.resolve(GenerationJob.MANIFEST)));
  }

  @Test
  void aTaskThatFailsOnItsFirstAttemptLeavesOneRowPerImage() throws IOException {
    Path out = tmp.resolve("faulty");
    // partition 0's first attempt dies after its first image row; Spark retries the task
    SparkGeneration.ImageListener fault = (id, index) -> {
      TaskContext t = TaskContext.get();
      if (t.partitionId() == 0 && t.attemptNumber() == 0) {
        throw new IllegalStateException("injected fault after caption " + id + " image " + index);
      }
    };
    SparkGeneration.Result r = job().listener(fault).build().run(captions(4), out.toString());
    assertThat(r.generated()).isEqualTo(4L * M); // the failed attempt's count is not kept
    assertMatchesReference(written(out), 4);
  }

  @Test
  void aModelFolderExecutorsCannotReadFailsAtSubmissionWithOneLine() {
    Path missing = tmp.resolve("no-such-model");
    assertThatThrownBy(() -> job().model(missing.toString()).build().run(captions(2), tmp.resolve("x").toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("model: expected a diffusers folder readable on every executor, found " + missing)
        .hasMessageContaining("cannot read model_index.json")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    assertThat(tmp.resolve("x")).doesNotExist();
  }

  @Test
  void aResumeWithOtherSettingsIsRefused() throws IOException {
    Path out = tmp.resolve("settings");
    job().build().run(captions(1), out.toString());
    assertThatThrownBy(() -> job().steps(STEPS + 1).build().run(captions(1), out.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected the settings it was generated with, found steps " + STEPS + " there, "
            + (STEPS + 1) + " now");
  }

  @Test
  void seedsArePureFunctionsOfSeedCaptionAndIndex() {
    assertThat(SparkGeneration.captionKey("17")).isEqualTo(17L);
    assertThat(SparkGeneration.captionKey(17L)).isEqualTo(17L);
    assertThat(SparkGeneration.captionKey("017")).isNotEqualTo(17L); // not canonical: hashed
    assertThat(SparkGeneration.captionKey("c3-large-dark")).isEqualTo(SparkGeneration.captionKey("c3-large-dark"))
        .isNotEqualTo(SparkGeneration.captionKey("c3-large-light"));
    assertThat(GeneratedImages.imageSeed(5, 17L, 2)).isEqualTo(GenerationJob.imageSeed(5, 17, 2));
  }
}
