package io.github.stablerep.eval.data;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Image files with labels, decoded one by one as they are read. */
abstract class FileListDataset implements ImageDataset {

  private final List<Path> files;
  private final int[] labels;
  private final ImageDecoder decoder;

  FileListDataset(List<Path> files, int[] labels, ImageDecoder decoder) {
    this.files = List.copyOf(files);
    this.labels = labels.clone();
    this.decoder = decoder;
  }

  @Override
  public final int size() {
    return labels.length;
  }

  @Override
  public final int[] labels() {
    return labels.clone();
  }

  /** The image files, in reading order. */
  public final List<Path> files() {
    return files;
  }

  @Override
  public final Reader reader() {
    return new Reader() {
      private int position;

      @Override
      public Batch next(int max) throws IOException {
        checkArgument(max >= 1, "max: expected >= 1, found %s", max);
        int count = Math.min(max, labels.length - position);
        List<INDArray> out = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
          Path file = files.get(position + k);
          INDArray image = decoder.decode(file);
          if (image == null || image.rank() != 3) {
            throw new DatasetFormatException(
                file + ": expected the decoder to return [C, H, W], found "
                    + (image == null ? "null" : Arrays.toString(image.shape())));
          }
          out.add(image);
        }
        Batch b = new Batch(position, out, Arrays.copyOfRange(labels, position, position + count));
        position += count;
        return b;
      }

      @Override
      public void close() {}
    };
  }
}
