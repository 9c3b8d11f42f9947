package io.github.stablerep.eval.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Shared byte-level helpers of the readers. */
final class DataFiles {

  private static final int BUFFER = 1 << 16;

  private DataFiles() {}

  /**
   * Opens {@code path}, transparently gunzipping it when it starts with the gzip magic
   * {@code 1f 8b}: the content decides, not the file name, so a renamed file still reads.
   * Corrupt or truncated gzip data ({@code ZipException}, {@code EOFException} from the
   * inflater) is reported as {@link DatasetFormatException} naming the file, like every other
   * format problem; failures of the file system itself stay plain {@link IOException}s.
   */
  static InputStream open(Path path) throws IOException {
    InputStream raw = new BufferedInputStream(Files.newInputStream(path), BUFFER);
    raw.mark(2);
    int b0 = raw.read();
    int b1 = raw.read();
    raw.reset();
    if (b0 == 0x1f && b1 == 0x8b) {
      try {
        return new BufferedInputStream(new GzipData(new GZIPInputStream(raw, BUFFER), path), BUFFER);
      } catch (ZipException | EOFException e) {
        raw.close();
        throw new DatasetFormatException(path + ": expected gzip data, found a corrupt header: " + e.getMessage(), e);
      }
    }
    return raw;
  }

  /** A gunzipping stream whose format errors name the file. */
  private static final class GzipData extends FilterInputStream {
    private final Path path;

    GzipData(InputStream in, Path path) {
      super(in);
      this.path = path;
    }

    @Override
    public int read() throws IOException {
      try {
        return super.read();
      } catch (ZipException | EOFException e) {
        throw corrupt(e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return super.read(b, off, len);
      } catch (ZipException | EOFException e) {
        throw corrupt(e);
      }
    }

    @Override
    public long skip(long n) throws IOException {
      try {
        return super.skip(n);
      } catch (ZipException | EOFException e) {
        throw corrupt(e);
      }
    }

    private DatasetFormatException corrupt(IOException e) {
      return new DatasetFormatException(path + ": expected valid gzip data, found a corrupt or truncated stream ("
          + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
    }
  }

  /**
   * Reads exactly {@code len} bytes into a new array, allocating as the data arrives (in
   * chunks of at most 1 MiB): a header declaring two billion labels in an 8-byte file must
   * fail on the missing data, not allocate what it declares.
   */
  static byte[] readExactly(InputStream in, int len, Path file, String what) throws IOException {
    byte[] out = new byte[Math.min(len, 1 << 20)];
    int filled = 0;
    while (filled < len) {
      if (filled == out.length) {
        out = java.util.Arrays.copyOf(out, (int) Math.min(len, 2L * out.length));
      }
      int n = in.read(out, filled, out.length - filled);
      if (n < 0) {
        throw new DatasetFormatException(
            file + ": truncated " + what + ": expected " + len + " bytes, found " + filled);
      }
      filled += n;
    }
    return out;
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
