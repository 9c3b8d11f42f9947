package io.github.stablerep.eval.data;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Consecutive samples of an {@link ImageDataset}: images ({@code FLOAT [C, H, W]} in [0, 1]),
 * their labels and the index of the first one. Immutable (the arrays are the caller's to use,
 * the list and labels are copies).
 */
public final class Batch {

  private final int start;
  private final List<INDArray> images;
  private final int[] labels;

  public Batch(int start, List<INDArray> images, int[] labels) {
    checkArgument(start >= 0, "start: expected >= 0, found %s", start);
    checkArgument(images.size() == labels.length,
        "labels: expected one per image (%s), found %s", images.size(), labels.length);
    this.start = start;
    this.images = List.copyOf(images);
    this.labels = labels.clone();
  }

  /** The dataset index of the first sample. */
  public int start() {
    return start;
  }

  public int size() {
    return images.size();
  }

  public boolean isEmpty() {
    return images.isEmpty();
  }

  /** The images, each {@code FLOAT [C, H, W]}. */
  public List<INDArray> images() {
    return images;
  }

  public int[] labels() {
    return labels.clone();
  }

  /**
   * The images as one {@code FLOAT [N, C, H, W]} array.
   *
   * @throws IllegalStateException if the batch is empty or the images differ in shape
   */
  public INDArray stack() {
    if (images.isEmpty()) {
      throw new IllegalStateException("cannot stack an empty batch");
    }
    long[] first = images.get(0).shape();
    for (int i = 1; i < images.size(); i++) {
      if (!Arrays.equals(first, images.get(i).shape())) {
        throw new IllegalStateException(
            "images: expected equal shapes to stack, found " + Arrays.toString(first)
                + " at index " + start + " and " + Arrays.toString(images.get(i).shape())
                + " at index " + (start + i));
      }
    }
    INDArray[] parts = new INDArray[images.size()];
    for (int i = 0; i < parts.length; i++) {
      INDArray im = images.get(i).castTo(DataType.FLOAT);
      parts[i] = im.reshape(1, first[0], first[1], first[2]);
    }
    return Nd4j.concat(0, parts);
  }
}
