package io.github.stablerep.spark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.spark.SparkEmbeddingTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spark-* commands end to end on local[2]: each starts and stops its own SparkSession. */
class SparkCliTest {

  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = SparkCli.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), args);
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void embedsImageFoldersByPathAndProbesOnTheDriver() throws IOException {
    Path weights = SparkEmbeddingTest.writeTinyVit(tmp.resolve("vit.safetensors"));
    SparkEmbeddingTest.writeImageFolder(tmp.resolve("train"), 6, 1);
    SparkEmbeddingTest.writeImageFolder(tmp.resolve("test"), 3, 2);
    for (String split : new String[] {"train", "test"}) {
      Run e = run("spark-embed", "--master", "local[2]", "--images", tmp.resolve(split).toString(), "--weights",
          weights.toString(), "--out", tmp.resolve(split + "-features").toString(), "--batch", "4");
      assertThat(e.code()).as(e.err()).isZero();
      assertThat(e.out()).contains("spark-embed: " + (split.equals("train") ? 12 : 6) + " images embedded, 0 undecodable");
    }
    Run p = run("spark-probe", "--master", "local[2]", "--train", tmp.resolve("train-features").toString(), "--test",
        tmp.resolve("test-features").toString(), "--lambdas", "1", "--knn", "3");
    assertThat(p.code()).as(p.err()).isZero();
    assertThat(p.out()).contains("spark-probe: linear probe top-1").contains("(12 train, 6 test)")
        .contains("spark-probe: kNN (k = 3) top-1");
  }

  @Test
  void aModelPathExecutorsCannotReadIsOneLineAndExitCode2() throws IOException {
    Path captions = java.nio.file.Files.writeString(tmp.resolve("c.txt"), "a photo of a coat\n");
    Run r = run("spark-generate", "--master", "local[2]", "--model", tmp.resolve("nowhere").toString(), "--captions",
        captions.toString(), "--out", tmp.resolve("out").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err().strip()).startsWith("stablerep spark-generate: model: expected a diffusers folder readable on every"
        + " executor, found " + tmp.resolve("nowhere")).doesNotContain("\n");
  }

  @Test
  void unpackOfAMissingFolderIsAUsageError() {
    Run r = run("spark-unpack", "--parquet", tmp.resolve("none").toString(), "--out", tmp.resolve("o").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).startsWith("stablerep spark-unpack: parquet: expected a folder of Parquet files, found ");
  }
}
