package io.github.stablerep.eval.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.ImageDecodeException;
import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionDatasetException;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.augment.data.CaptionManifest;
import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.NpyException;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.io.SafeTensorsException;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.eval.data.CifarDataset;
import io.github.stablerep.eval.data.DatasetFormatException;
import io.github.stablerep.eval.data.IdxDataset;
import io.github.stablerep.eval.data.ImageDataset;
import io.github.stablerep.eval.data.ImageFolderDataset;
import io.github.stablerep.eval.data.ManifestDataset;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Drives every public file reader over {@link HostileCorpus} (issue 13, "done means"): each input
 * must end accepted with sane values, or in the reader's documented exception naming the file;
 * no other exception or error, no run over {@value #MAX_MILLIS} ms, and no more than {@value
 * #MAX_HEAP_MB} MB of heap allocated (the thread's allocation counter) for these sub-megabyte
 * files. The tally per reader is printed and written to target/hostile-corpus-tally.txt.
 */
class HostileCorpusTest {

  static final long MAX_MILLIS = 5_000;
  static final long MAX_HEAP_MB = 256;

  @TempDir Path tmp;

  /** What a reader does with one case's folder; returns normally when it accepted the input. */
  @FunctionalInterface
  interface Run {
    void on(Path dir, HostileCorpus.Case c) throws Exception;
  }

  record Reader(Class<? extends Exception> documented, Run run) {}

  static final Map<String, Reader> READERS = Map.of(
      HostileCorpus.IMAGES, new Reader(ImageDecodeException.class, (dir, c) ->
          saneImage(Images.read(dir.resolve(first(c))))),
      HostileCorpus.IMAGE_FOLDER, new Reader(DatasetFormatException.class, (dir, c) ->
          readAll(ImageFolderDataset.open(dir))),
      HostileCorpus.SAFETENSORS, new Reader(SafeTensorsException.class, (dir, c) ->
          SafeTensors.read(dir.resolve(first(c))).values().forEach(a -> assertThat(a).isNotNull())),
      HostileCorpus.CHECKPOINT, new Reader(SafeTensorsException.class, (dir, c) ->
          assertThat(TrainingCheckpoint.read(dir.resolve(first(c))).step()).isNotNegative()),
      HostileCorpus.NPY, new Reader(NpyException.class, (dir, c) -> assertThat(Npy.read(dir.resolve(first(c)))).isNotNull()),
      HostileCorpus.IDX, new Reader(DatasetFormatException.class, (dir, c) ->
          readAll(IdxDataset.open(dir.resolve("images-idx3-ubyte"), dir.resolve("labels-idx1-ubyte")))),
      HostileCorpus.CIFAR, new Reader(DatasetFormatException.class, (dir, c) ->
          readAll(CifarDataset.cifar10(List.of(dir.resolve(first(c)))))),
      HostileCorpus.MANIFEST, new Reader(DatasetFormatException.class, (dir, c) ->
          ManifestDataset.open(dir.resolve("m.csv"), f -> Nd4j.ones(3, 1, 1)).files()
              .forEach(f -> assertThat(f.startsWith(dir)).as("%s inside %s", f, dir).isTrue())),
      HostileCorpus.CAPTION_MANIFEST, new Reader(CaptionDatasetException.class, (dir, c) ->
          insideOf(CaptionManifest.read(dir.resolve("m.tsv")), dir)),
      HostileCorpus.STABLEREP_CSV, new Reader(CaptionDatasetException.class, (dir, c) ->
          insideOf(CaptionDataset.fromStableRepCsv(dir.resolve("c.csv"), List.of(dir.resolve("seed0"))),
              dir.resolve("seed0"))));

  static String first(HostileCorpus.Case c) {
    return c.files().keySet().iterator().next();
  }

  static void saneImage(INDArray x) {
    assertThat(x.rank()).isEqualTo(3);
    assertThat(x.size(0)).isEqualTo(3);
    assertThat(x.minNumber().doubleValue()).isGreaterThanOrEqualTo(0);
    assertThat(x.maxNumber().doubleValue()).isLessThanOrEqualTo(1);
  }

  static void readAll(ImageDataset d) throws Exception {
    int n = 0;
    try (ImageDataset.Reader r = d.reader()) {
      while (n < d.size()) {
        List<INDArray> images = r.next(4).images();
        assertThat(images).isNotEmpty();
        images.forEach(x -> assertThat(x.rank()).isEqualTo(3));
        n += images.size();
      }
    }
  }

  static void insideOf(CaptionDataset d, Path root) {
    for (CaptionGroup g : d.captions()) {
      // Path.startsWith, lexically: AssertJ's startsWith resolves real paths, and these files need not exist
      g.images().forEach(p -> assertThat(p.normalize().startsWith(root)).as("%s inside %s", p, root).isTrue());
    }
  }

  /** valid sources, byte mutants, truncations, or hand-built attacks. */
  static String category(String name) {
    for (String k : new String[] {"valid", "mutant", "truncated"}) {
      if (name.startsWith(k) || name.startsWith("images-" + k) || name.startsWith("labels-" + k)) {
        return k;
      }
    }
    return "attack";
  }

  @Test
  void everyInputIsAcceptedOrRefusedWithTheDocumentedException() throws Exception {
    List<HostileCorpus.Case> cases = HostileCorpus.generate(13);
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    Map<String, int[]> tally = new TreeMap<>(); // accepted, refused
    List<String> problems = new ArrayList<>();
    int i = 0;
    for (HostileCorpus.Case c : cases) {
      Path dir = Files.createDirectories(tmp.resolve(Integer.toString(i++)));
      for (Map.Entry<String, byte[]> f : c.files().entrySet()) {
        Path p = dir.resolve(f.getKey());
        Files.createDirectories(p.getParent());
        Files.write(p, f.getValue());
      }
      Reader reader = READERS.get(c.reader());
      int[] counts = tally.computeIfAbsent(c.reader() + " / " + category(c.name()), k -> new int[2]);
      String id = c.reader() + " " + c.name();
      long heap = mx.getCurrentThreadAllocatedBytes();
      long t0 = System.nanoTime();
      try {
        reader.run().on(dir, c);
        counts[0]++;
      } catch (Throwable e) {
        if (!reader.documented().isInstance(e)) {
          problems.add(id + ": expected " + reader.documented().getSimpleName() + " or acceptance, found " + e);
        } else if (!e.getMessage().contains(dir.toString())) {
          problems.add(id + ": expected the message to name the file, found: " + e.getMessage());
        } else {
          counts[1]++;
        }
      }
      long millis = (System.nanoTime() - t0) / 1_000_000;
      long mb = (mx.getCurrentThreadAllocatedBytes() - heap) >> 20;
      if (millis > MAX_MILLIS) {
        problems.add(id + ": took " + millis + " ms");
      }
      if (mb > MAX_HEAP_MB) {
        problems.add(id + ": allocated " + mb + " MB of heap");
      }
    }
    StringBuilder report = new StringBuilder(String.format("%-46s %6s %9s %9s%n", "reader / kind", "cases", "accepted", "refused"));
    int total = 0;
    for (Map.Entry<String, int[]> e : tally.entrySet()) {
      int[] c = e.getValue();
      total += c[0] + c[1];
      report.append(String.format("%-46s %6d %9d %9d%n", e.getKey(), c[0] + c[1], c[0], c[1]));
    }
    report.append(String.format("%-46s %6d   (%d other outcomes)%n", "total", total, problems.size()));
    System.out.print(report);
    Path target = Path.of("target");
    if (Files.isDirectory(target)) {
      Files.writeString(target.resolve("hostile-corpus-tally.txt"), report + String.join("\n", problems));
    }
    assertThat(problems).as("inputs that ended otherwise").isEmpty();
  }
}
