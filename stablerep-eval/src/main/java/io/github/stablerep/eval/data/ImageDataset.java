package io.github.stablerep.eval.data;

import java.io.Closeable;
import java.io.IOException;

/**
 * A labelled image dataset that is read sequentially, so a 50 000-image set never has to be in
 * memory at once.
 *
 * <p>Labels are known up front ({@link #labels()}); images are read through a {@link Reader}
 * in order, a batch at a time. Each image is a {@code FLOAT} array {@code [C, H, W]} with values
 * in [0, 1]. Sizes may differ between images (an image folder); fixed-size formats (IDX, CIFAR)
 * give equal sizes and their batches can be {@linkplain Batch#stack() stacked}.
 */
public interface ImageDataset {

  /** The number of samples. */
  int size();

  /** The label of every sample, in reading order; a fresh copy. */
  int[] labels();

  /** Opens a reader positioned at the first sample; each call starts over. */
  Reader reader() throws IOException;

  /** Reads samples in order. Not thread-safe. */
  interface Reader extends Closeable {
    /**
     * Reads the next at most {@code max} samples; an empty batch once all have been read.
     *
     * @throws DatasetFormatException if the data turns out to be truncated or undecodable
     */
    Batch next(int max) throws IOException;
  }
}
