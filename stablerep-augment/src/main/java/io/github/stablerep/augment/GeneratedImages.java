package io.github.stablerep.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;
import java.util.function.LongFunction;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * What turns a generator's output into a dataset's image, shared by every writer of generated
 * images (the single-machine {@code GenerationJob} and the Spark job in stablerep-spark) so that
 * the same (seed, caption, index) gives the same PNG bytes wherever it is made: the per-image
 * seed, the centre crop and resize, the finiteness check and the PNG encoding.
 */
public final class GeneratedImages {

  private GeneratedImages() {}

  /**
   * The seed of image {@code image} of caption {@code caption} under the run's {@code seed}: a
   * SplitMix64 finaliser chained over the three numbers, so every image has its own stream and a
   * rerun, a retried task or another machine draws the same one. {@code GenerationJob} passes
   * the caption's position in its captions file; the Spark job passes the caption id's number.
   */
  public static long imageSeed(long seed, long caption, int image) {
    long h = 0x2545F4914F6CDD1DL;
    for (long p : new long[] {seed, caption, image}) {
      h = splitMix(h ^ splitMix(p + 0x9E3779B97F4A7C15L));
    }
    return h;
  }

  private static long splitMix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * Keeps the centre {@code cropHeight × cropWidth} of each image of {@code images} ({@code [N, 3,
   * H, W]}; 0 × 0 keeps everything), then resizes to {@code outHeight × outWidth} with {@link
   * ImageOps#resizedCrop}'s antialiased filter when the size differs.
   */
  public static INDArray cropAndResize(INDArray images, int cropHeight, int cropWidth, int outHeight, int outWidth) {
    checkArgument(images != null && images.rank() == 4 && images.size(1) == 3,
        "images: expected [N, 3, H, W], found %s", images == null ? "null" : Arrays.toString(images.shape()));
    checkArgument(outHeight >= 1 && outWidth >= 1, "outputSize: expected >= 1, found %s x %s", outHeight, outWidth);
    INDArray x = images;
    if (cropHeight != 0 || cropWidth != 0) {
      int h = (int) x.size(2);
      int w = (int) x.size(3);
      checkArgument(cropHeight >= 1 && cropWidth >= 1 && cropHeight <= h && cropWidth <= w,
          "centreCrop: expected at most the generated %s x %s, found %s x %s", h, w, cropHeight, cropWidth);
      int top = (h - cropHeight) / 2;
      int left = (w - cropWidth) / 2;
      x = x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(top, top + cropHeight),
          NDArrayIndex.interval(left, left + cropWidth)).dup();
    }
    int n = (int) x.size(0);
    int h = (int) x.size(2);
    int w = (int) x.size(3);
    if (h == outHeight && w == outWidth) {
      return x;
    }
    int[] zeros = new int[n];
    int[] hs = new int[n];
    int[] ws = new int[n];
    Arrays.fill(hs, h);
    Arrays.fill(ws, w);
    return ImageOps.resizedCrop(x, zeros, zeros, hs, ws, outHeight, outWidth);
  }

  /**
   * Throws when a pixel of {@code images} ({@code [N, ...]}) is NaN or infinite, naming image
   * {@code i} by {@code nameOf.apply(i)}: a broken model or broken weights, which PNG encoding
   * would turn into a plausible grey.
   *
   * @throws IllegalStateException naming the first image concerned
   */
  public static void requireFinite(INDArray images, LongFunction<String> nameOf) {
    float[] v = images.castTo(DataType.FLOAT).dup('c').data().asFloat();
    long perImage = v.length / images.size(0);
    for (int i = 0; i < v.length; i++) {
      if (!Float.isFinite(v[i])) {
        throw new IllegalStateException("generated image " + nameOf.apply(i / perImage)
            + ": expected finite pixel values, found " + v[i] + " (are the generator's weights corrupt?)");
      }
    }
  }

  /** Image {@code i} of {@code images} ({@code [N, 3, H, W]} in [0, 1]) as PNG bytes ({@link Images#pngBytes}). */
  public static byte[] png(INDArray images, long i) {
    return Images.pngBytes(images.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all(),
        NDArrayIndex.all()));
  }
}
