package io.github.stablerep.eval.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Shared byte-level helpers of the readers. */
final class DataFiles {

  private static final int BUFFER = 1 << 16;

  private DataFiles() {}

  /**
   * Opens {@code path}, transparently gunzipping it when it starts with the gzip magic
   * {@code 1f 8b}: the content decides, not the file name, so a renamed file still reads.
   */
  static InputStream open(Path path) throws IOException {
    InputStream raw = new BufferedInputStream(Files.newInputStream(path), BUFFER);
    raw.mark(2);
    int b0 = raw.read();
    int b1 = raw.read();
    raw.reset();
    if (b0 == 0x1f && b1 == 0x8b) {
      return new BufferedInputStream(new GZIPInputStream(raw, BUFFER), BUFFER);
    }
    return raw;
  }

  /** Whether {@code path} is gzip-compressed (its size then says nothing about its content). */
  static boolean isGzip(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      return in.read() == 0x1f && in.read() == 0x8b;
    }
  }

  /**
   * Reads exactly {@code len} bytes or throws a {@link DatasetFormatException} that names the
   * file, what was being read, the expected and the found byte count.
   */
  static void readFully(InputStream in, byte[] dst, int len, Path file, String what)
      throws IOException {
    int n = in.readNBytes(dst, 0, len);
    if (n != len) {
      throw new DatasetFormatException(
          file + ": truncated " + what + ": expected " + len + " bytes, found " + n);
    }
  }

  /** Fails unless the stream is at its end: trailing bytes mean the header lied about a size. */
  static void expectEnd(InputStream in, Path file, long expectedTotal) throws IOException {
    if (in.read() != -1) {
      throw new DatasetFormatException(
          file + ": expected the data to end after " + expectedTotal + " bytes, found more");
    }
  }

  /** A {@code FLOAT [c, h, w]} image from unsigned bytes, each divided by 255. */
  static INDArray unsignedImage(byte[] src, int offset, int c, int h, int w) {
    int len = c * h * w;
    float[] values = new float[len];
    for (int k = 0; k < len; k++) {
      // float32 division, as numpy's uint8 -> float32 / 255 and torchvision's ToTensor
      values[k] = (src[offset + k] & 0xFF) / 255f;
    }
    return Nd4j.create(values, new long[] {c, h, w}, 'c');
  }
}
