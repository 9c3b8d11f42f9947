package io.github.stablerep.eval.data;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The <a href="https://www.cs.toronto.edu/~kriz/cifar.html">CIFAR-10/100 binary format</a>.
 *
 * <p>Each record is the label (CIFAR-10: one byte; CIFAR-100: a coarse then a fine byte)
 * followed by 3072 bytes, the 1024 red, 1024 green and 1024 blue values of a 32×32 image in
 * row-major order, which is already the {@code [3, 32, 32]} layout; images come out as byte /
 * 255. Several files (CIFAR-10's {@code data_batch_1.bin} … {@code data_batch_5.bin}) are read
 * as one dataset, in the order given; the files are never gzipped in the official archives.
 *
 * <p>{@link #cifar10} and {@link #cifar100} read every label (one pass of small reads) and
 * check that each file's size is a whole number of records and every label is in range
 * (CIFAR-10 below 10, coarse below 20, fine below 100); errors name the file, the record, the
 * expected and the found value.
 */
public final class CifarDataset implements ImageDataset {

  /** Which CIFAR-100 label to report. */
  public enum Cifar100Label {
    /** The 20 superclasses (first label byte). */
    COARSE,
    /** The 100 classes (second label byte), the usual benchmark. */
    FINE
  }

  private static final int PIXELS = 3 * 32 * 32;

  private final List<Path> files;
  private final int labelBytes;
  private final int[] labels;
  private final int[] coarse; // CIFAR-100 only, else null
  private final int[] perFile;

  private CifarDataset(List<Path> files, int labelBytes, int[] labels, int[] coarse, int[] perFile) {
    this.files = files;
    this.labelBytes = labelBytes;
    this.labels = labels;
    this.coarse = coarse;
    this.perFile = perFile;
  }

  /** CIFAR-10 binary files (10 classes), read in the given order. */
  public static CifarDataset cifar10(List<Path> files) throws IOException {
    return open(files, 1, Cifar100Label.FINE);
  }

  /** CIFAR-100 binary files ({@code train.bin}, {@code test.bin}); labels as {@code which}. */
  public static CifarDataset cifar100(List<Path> files, Cifar100Label which) throws IOException {
    Objects.requireNonNull(which, "which");
    return open(files, 2, which);
  }

  private static CifarDataset open(List<Path> files, int labelBytes, Cifar100Label which)
      throws IOException {
    checkArgument(!files.isEmpty(), "files: expected at least one file, found none");
    List<Path> list = List.copyOf(files);
    int record = labelBytes + PIXELS;
    int[] perFile = new int[list.size()];
    long total = 0;
    for (int f = 0; f < list.size(); f++) {
      Path file = list.get(f);
      long size = Files.size(file);
      if (size % record != 0) {
        throw new DatasetFormatException(
            file + ": expected a multiple of " + record + " bytes (records of " + labelBytes
                + " label byte(s) + 3072 pixels), found " + size + " (" + size / record
                + " whole records and " + size % record + " extra bytes)");
      }
      perFile[f] = (int) (size / record);
      total += perFile[f];
    }
    checkArgument(total <= Integer.MAX_VALUE, "files: more than 2^31 records");
    int[] fine = new int[(int) total];
    int[] coarse = labelBytes == 2 ? new int[(int) total] : null;
    int i = 0;
    ByteBuffer buf = ByteBuffer.allocate(labelBytes);
    for (int f = 0; f < list.size(); f++) {
      Path file = list.get(f);
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        for (int r = 0; r < perFile[f]; r++, i++) {
          buf.clear();
          long pos = (long) r * record;
          while (buf.hasRemaining()) {
            if (ch.read(buf, pos + buf.position()) < 0) {
              throw new DatasetFormatException(file + ": truncated at record " + r);
            }
          }
          if (labelBytes == 1) {
            fine[i] = checkLabel(file, r, "label", buf.get(0) & 0xFF, 10);
          } else {
            coarse[i] = checkLabel(file, r, "coarse label", buf.get(0) & 0xFF, 20);
            fine[i] = checkLabel(file, r, "fine label", buf.get(1) & 0xFF, 100);
          }
        }
      }
    }
    int[] labels = labelBytes == 2 && which == Cifar100Label.COARSE ? coarse : fine;
    return new CifarDataset(list, labelBytes, labels, coarse, perFile);
  }

  private static int checkLabel(Path file, int record, String what, int value, int bound)
      throws DatasetFormatException {
    if (value >= bound) {
      throw new DatasetFormatException(
          file + ": record " + record + ": expected a " + what + " in [0, " + bound
              + "), found " + value);
    }
    return value;
  }

  @Override
  public int size() {
    return labels.length;
  }

  @Override
  public int[] labels() {
    return labels.clone();
  }

  /** CIFAR-100's coarse labels whichever label is reported; empty for CIFAR-10. */
  public int[] coarseLabels() {
    return coarse == null ? new int[0] : coarse.clone();
  }

  @Override
  public Reader reader() {
    return new CifarReader();
  }

  private final class CifarReader implements Reader {
    private int file = -1;
    private int inFile;
    private InputStream in;
    private int position;
    private final byte[] record = new byte[labelBytes + PIXELS];

    @Override
    public Batch next(int max) throws IOException {
      checkArgument(max >= 1, "max: expected >= 1, found %s", max);
      int count = Math.min(max, labels.length - position);
      List<INDArray> out = new ArrayList<>(count);
      for (int k = 0; k < count; k++) {
        while (in == null || inFile == perFile[file]) {
          if (in != null) {
            in.close();
          }
          file++;
          inFile = 0;
          in = DataFiles.open(files.get(file));
        }
        DataFiles.readFully(in, record, record.length, files.get(file), "record " + inFile);
        out.add(DataFiles.unsignedImage(record, labelBytes, 3, 32, 32));
        inFile++;
      }
      Batch batch =
          new Batch(position, out, Arrays.copyOfRange(labels, position, position + count));
      position += count;
      return batch;
    }

    @Override
    public void close() throws IOException {
      if (in != null) {
        in.close();
      }
    }
  }
}
