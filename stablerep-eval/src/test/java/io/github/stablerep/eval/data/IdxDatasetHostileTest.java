package io.github.stablerep.eval.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.eval.hostile.HostileCorpus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Lying IDX headers and corrupt gzip (issue 13 §5): each ends in DatasetFormatException naming
 * the file, without allocating what the header declares; and a jqwik property over byte
 * mutations of a small valid pair, plain and gzipped.
 */
class IdxDatasetHostileTest {

  private static final long HEAP_BUDGET = 64L << 20;

  @TempDir Path tmp;

  static byte[] header(int magic, int... dims) {
    ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length).putInt(magic);
    for (int d : dims) {
      b.putInt(d);
    }
    return b.array();
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }



  /** 3 images of 4x5 and their labels. */
  static byte[][] validPair() {
    byte[] pixels = new byte[3 * 20];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = (byte) (i * 7);
    }
    return new byte[][] {concat(header(IdxDataset.IMAGES_MAGIC, 3, 4, 5), pixels),
        concat(header(IdxDataset.LABELS_MAGIC, 3), new byte[] {1, 2, 9})};
  }

  /** Opens and reads everything; returns the images read. */
  static int readAll(Path images, Path labels) throws IOException {
    IdxDataset d = IdxDataset.open(images, labels);
    int n = 0;
    try (ImageDataset.Reader r = d.reader()) {
      while (n < d.size()) {
        Batch b = r.next(2);
        assertThat(b.images()).as("a batch before the end is never empty").isNotEmpty();
        for (INDArray im : b.images()) {
          assertThat(im.shape()).containsExactly(1, d.rows(), d.cols());
        }
        n += b.images().size();
      }
    }
    return n;
  }

  /** Asserts a DatasetFormatException naming one of the files, with little heap allocated. */
  void refused(byte[] images, byte[] labels, String why) throws IOException {
    Path i = Files.write(tmp.resolve("images.idx"), images);
    Path l = Files.write(tmp.resolve("labels.idx"), labels);
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = mx.getCurrentThreadAllocatedBytes();
    assertThatThrownBy(() -> readAll(i, l))
        .isInstanceOf(DatasetFormatException.class)
        .satisfies(e -> assertThat(e.getMessage()).containsAnyOf(i.toString(), l.toString()))
        .hasMessageContaining(why);
    assertThat(mx.getCurrentThreadAllocatedBytes() - before).isLessThan(HEAP_BUDGET);
  }

  @Test
  void declaredCountsBeyondTheFileAllocateNothing() throws IOException {
    byte[][] ok = validPair();
    refused(ok[0], header(IdxDataset.LABELS_MAGIC, Integer.MAX_VALUE), "truncated labels: expected 2147483647 bytes, found 0");
    refused(ok[0], HostileCorpus.gzip(header(IdxDataset.LABELS_MAGIC, Integer.MAX_VALUE)), "truncated labels");
    // a gzipped image file whose count agrees with the labels but whose data is missing
    byte[] labels = concat(header(IdxDataset.LABELS_MAGIC, 1000), new byte[1000]);
    refused(HostileCorpus.gzip(header(IdxDataset.IMAGES_MAGIC, 1000, 2896, 2896)), labels, "truncated image data");
  }

  @Test
  void dimensionsThatOverflowAreRefused() throws IOException {
    byte[] labels = validPair()[1];
    refused(header(IdxDataset.IMAGES_MAGIC, 3, 65536, 65536), labels, "found 65536x65536");
    refused(header(IdxDataset.IMAGES_MAGIC, 3, 1 << 30, 4), labels, "pixels, found 1073741824x4");
    refused(header(IdxDataset.IMAGES_MAGIC, 3, 0, 4), labels, "found 0x4");
  }

  @Test
  void corruptGzipNamesTheFile() throws IOException {
    byte[][] ok = validPair();
    byte[] z = HostileCorpus.gzip(ok[0]);
    refused(Arrays.copyOf(z, z.length - 10), ok[1], "gzip");
    byte[] flipped = z.clone();
    flipped[z.length - 6] ^= 0x55; // the CRC-32 trailer
    refused(flipped, ok[1], "gzip");
    refused(ok[0], Arrays.copyOf(HostileCorpus.gzip(ok[1]), 5), "gzip");
  }

  @Test
  void theValidPairReads() throws IOException {
    byte[][] ok = validPair();
    assertThat(readAll(Files.write(tmp.resolve("i"), ok[0]), Files.write(tmp.resolve("l"), ok[1]))).isEqualTo(3);
    assertThat(readAll(Files.write(tmp.resolve("iz"), HostileCorpus.gzip(ok[0])), Files.write(tmp.resolve("lz"), HostileCorpus.gzip(ok[1]))))
        .isEqualTo(3);
  }

  @Property(tries = 300)
  void mutatedFilesReadOrFailWithTheFileNamed(@ForAll long seed, @ForAll boolean gzipped, @ForAll boolean mutateImages)
      throws IOException {
    byte[][] ok = validPair();
    byte[] images = gzipped ? HostileCorpus.gzip(ok[0]) : ok[0];
    byte[] labels = gzipped ? HostileCorpus.gzip(ok[1]) : ok[1];
    SplittableRandom rnd = new SplittableRandom(seed);
    byte[] target = mutateImages ? images : labels;
    byte[] mutated = rnd.nextBoolean()
        ? Arrays.copyOf(target, rnd.nextInt(target.length))
        : flip(target, rnd);
    // jqwik does not inject @TempDir into properties
    Path dir = Files.createTempDirectory("idx-mutant");
    Path i = Files.write(dir.resolve("images"), mutateImages ? mutated : images);
    Path l = Files.write(dir.resolve("labels"), mutateImages ? labels : mutated);
    try {
      assertThat(readAll(i, l)).isBetween(0, 255);
    } catch (DatasetFormatException e) {
      assertThat(e.getMessage()).containsAnyOf(i.toString(), l.toString());
    } finally {
      Files.delete(i);
      Files.delete(l);
      Files.delete(dir);
    }
  }

  private static byte[] flip(byte[] b, SplittableRandom rnd) {
    byte[] c = b.clone();
    for (int k = 0, n = 1 + rnd.nextInt(3); k < n; k++) {
      c[rnd.nextInt(c.length)] = (byte) rnd.nextInt(256);
    }
    return c;
  }
}
