package io.github.stablerep.eval.data;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * MNIST / Fashion-MNIST in the <a href="http://yann.lecun.com/exdb/mnist/">IDX format</a>: an
 * image file and a label file, each gzipped or not (detected by the gzip magic, not the name).
 *
 * <p>Format: a big-endian magic {@code 0x000008DD} (type {@code 08} = unsigned byte, {@code DD}
 * = number of dimensions), then each dimension as a big-endian int, then the bytes. Images are
 * {@code 0x00000803} ({@code [N, rows, cols]}), labels {@code 0x00000801} ({@code [N]}).
 * Images come out as {@code FLOAT [1, rows, cols]} = byte / 255, as torchvision's
 * {@code ToTensor}.
 *
 * <p>{@link #open} validates both magics, positive dimensions, that the label count equals the
 * image count, that the label file holds exactly its labels, and, for an uncompressed image
 * file, its exact size. A gzipped image file can only be checked while it is read: a
 * truncation then throws from {@link Reader#next}. Every error names the file, the expected
 * and the found value.
 *
 * <p><b>Untrusted files.</b> Every problem of the files' content, gzip corruption included, is
 * a {@link DatasetFormatException} naming the file. Nothing is allocated in proportion to a
 * declared count before the data is there: labels and images are read as they arrive, one image
 * at a time, so an 8-byte file declaring 2^31 - 1 labels fails on its missing data. An image
 * may have at most {@link #MAX_IMAGE_PIXELS} pixels (rows × cols, computed without overflow).
 */
public final class IdxDataset implements ImageDataset {

  /** Unsigned bytes, three dimensions. */
  public static final int IMAGES_MAGIC = 0x00000803;

  /** Unsigned bytes, one dimension. */
  public static final int LABELS_MAGIC = 0x00000801;

  /** Largest rows × cols accepted: {@code ImageLimits.DEFAULT_MAX_PIXELS}, as for image files. */
  public static final long MAX_IMAGE_PIXELS = io.github.stablerep.augment.ImageLimits.DEFAULT_MAX_PIXELS;

  private final Path images;
  private final int[] labels;
  private final int rows;
  private final int cols;

  private IdxDataset(Path images, int[] labels, int rows, int cols) {
    this.images = images;
    this.labels = labels;
    this.rows = rows;
    this.cols = cols;
  }

  /**
   * Reads the headers and all labels (N bytes) and checks them; images are read later, in
   * batches.
   */
  public static IdxDataset open(Path images, Path labels) throws IOException {
    Objects.requireNonNull(images, "images");
    Objects.requireNonNull(labels, "labels");
    int[] y = readLabels(labels);
    int n;
    int rows;
    int cols;
    try (InputStream in = DataFiles.open(images)) {
      int[] header = readHeader(in, images, IMAGES_MAGIC, 3);
      n = header[0];
      rows = header[1];
      cols = header[2];
    }
    if (n != y.length) {
      throw new DatasetFormatException(
          images + ": expected " + y.length + " images (the label count of " + labels
              + "), found " + n);
    }
    if (rows < 1 || cols < 1 || (long) rows * cols > MAX_IMAGE_PIXELS) {
      throw new DatasetFormatException(
          images + ": expected image dimensions with 1 to " + MAX_IMAGE_PIXELS + " pixels, found " + rows + "x"
              + cols);
    }
    if (!DataFiles.isGzip(images)) {
      long expected = 16 + (long) n * rows * cols;
      long found = Files.size(images);
      if (found != expected) {
        throw new DatasetFormatException(
            images + ": expected " + expected + " bytes (16-byte header + " + n + " images of "
                + rows + "x" + cols + "), found " + found + (found < expected ? " (truncated)" : ""));
      }
    }
    return new IdxDataset(images, y, rows, cols);
  }

  private static int[] readLabels(Path file) throws IOException {
    try (InputStream in = DataFiles.open(file)) {
      int n = readHeader(in, file, LABELS_MAGIC, 1)[0];
      byte[] bytes = DataFiles.readExactly(in, n, file, "labels");
      DataFiles.expectEnd(in, file, 8L + n);
      int[] y = new int[n];
      for (int i = 0; i < n; i++) {
        y[i] = bytes[i] & 0xFF;
      }
      return y;
    }
  }

  /** Checks the magic and returns the dimensions. */
  private static int[] readHeader(InputStream in, Path file, int magic, int dims)
      throws IOException {
    // the magic first, so a wrong file is reported as such rather than as a short header
    byte[] head = new byte[4 + 4 * dims];
    DataFiles.readFully(in, head, 4, file, "IDX magic");
    int found = readInt(head, 0);
    if (found != magic) {
      throw new DatasetFormatException(
          file + ": expected IDX magic 0x" + String.format("%08X", magic) + ", found 0x"
              + String.format("%08X", found));
    }
    int n = in.readNBytes(head, 4, 4 * dims);
    if (n != 4 * dims) {
      throw new DatasetFormatException(file + ": truncated IDX header: expected " + head.length
          + " bytes, found " + (4 + n));
    }
    int[] d = new int[dims];
    for (int i = 0; i < dims; i++) {
      d[i] = readInt(head, 4 + 4 * i);
      if (d[i] < 0) {
        throw new DatasetFormatException(
            file + ": expected a non-negative dimension " + i + ", found " + (d[i] & 0xFFFFFFFFL));
      }
    }
    return d;
  }

  private static int readInt(byte[] b, int o) {
    return ((b[o] & 0xFF) << 24) | ((b[o + 1] & 0xFF) << 16) | ((b[o + 2] & 0xFF) << 8)
        | (b[o + 3] & 0xFF);
  }

  @Override
  public int size() {
    return labels.length;
  }

  @Override
  public int[] labels() {
    return labels.clone();
  }

  public int rows() {
    return rows;
  }

  public int cols() {
    return cols;
  }

  @Override
  public Reader reader() throws IOException {
    InputStream in = DataFiles.open(images);
    try {
      in.skipNBytes(16);
    } catch (IOException e) {
      in.close();
      throw e;
    }
    return new IdxReader(in);
  }

  private final class IdxReader implements Reader {
    private final InputStream in;
    private int position;

    IdxReader(InputStream in) {
      this.in = in;
    }

    @Override
    public Batch next(int max) throws IOException {
      checkArgument(max >= 1, "max: expected >= 1, found %s", max);
      int pixels = rows * cols; // <= MAX_IMAGE_PIXELS, checked by open
      int count = Math.min(max, labels.length - position);
      List<INDArray> out = new ArrayList<>(Math.min(count, 1024));
      // one image at a time: a gzipped file that declares more than it holds fails on the
      // first missing image instead of allocating the whole batch it declares
      byte[] buf = count > 0 ? new byte[pixels] : null;
      for (int i = 0; i < count; i++) {
        int got = in.readNBytes(buf, 0, pixels);
        if (got != pixels) {
          throw new DatasetFormatException(
              images + ": truncated image data: expected " + labels.length + " images, found "
                  + (position + i));
        }
        out.add(DataFiles.unsignedImage(buf, 0, 1, rows, cols));
      }
      int[] y = java.util.Arrays.copyOfRange(labels, position, position + count);
      Batch batch = new Batch(position, out, y);
      position += count;
      if (count > 0 && position == labels.length) {
        DataFiles.expectEnd(in, images, 16 + (long) labels.length * pixels);
      }
      return batch;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
