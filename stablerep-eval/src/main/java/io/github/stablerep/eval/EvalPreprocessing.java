package io.github.stablerep.eval;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.augment.BicubicResize;
import io.github.stablerep.augment.ImageOps;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The standard evaluation transform, torchvision's {@code Resize(s)}, {@code CenterCrop(c)},
 * {@code Normalize(mean, std)} on one {@code [C, H, W]} image in [0, 1]; the result is
 * {@code FLOAT [3, c, c]}.
 *
 * <p><b>Resize.</b> The short side becomes {@code s}, the long one {@code int(s · long /
 * short)} (torchvision 0.14's {@code _compute_resized_output_size}); an image whose short side
 * is already {@code s} is left alone, as torchvision does. The resampling is
 * chosen by {@link Builder#interpolation}:
 *
 * <ul>
 *   <li>{@link Interpolation#BILINEAR} (the default): {@link ImageOps#resizedCrop} over the whole
 *       image, <b>bilinear with antialiasing</b>. That is StableRep's own protocol:
 *       {@code main_linear.py}'s validation transform is {@code Resize(256)} with torchvision's
 *       default interpolation, bilinear (on PIL images, which antialias).
 *   <li>{@link Interpolation#BICUBIC}: {@link BicubicResize#resize} with antialiasing, i.e.
 *       torchvision's tensor {@code Resize(s, InterpolationMode.BICUBIC, antialias=True)}, the
 *       timm/MAE/SynCLR-style evaluation. Values are not clamped after resizing (cubic overshoot
 *       survives into normalisation), as torchvision on float tensors. Those codebases resize PIL
 *       images, which PIL resamples with the same filter but rounds to uint8, so expect
 *       differences of up to about 1/255 before normalisation against a PIL pipeline.
 * </ul>
 *
 * <p><b>Centre crop.</b> Offsets {@code round((H − c) / 2)} and {@code round((W − c) / 2)} with
 * Python's round-half-to-even, as torchvision. A crop larger than the image is rejected
 * (torchvision would zero-pad it).
 *
 * <p><b>Channels.</b> A one-channel image (MNIST) is replicated to three first, as torchvision's
 * {@code pil_loader} converts to RGB; other channel counts than 1 and 3 are rejected.
 */
public final class EvalPreprocessing {

  /** ImageNet statistics, as torchvision and timm. */
  public static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406};

  public static final double[] IMAGENET_STD = {0.229, 0.224, 0.225};

  /** The resampling filter of the resize step. */
  public enum Interpolation {
    /** Antialiased bilinear: StableRep's own evaluation (torchvision's default). */
    BILINEAR,
    /** Antialiased bicubic (a = −0.5): timm/MAE/SynCLR-style evaluation. */
    BICUBIC
  }

  private final int resizeShortSide;
  private final Interpolation interpolation;
  private final int cropSize;
  private final double[] mean;
  private final double[] std;

  private EvalPreprocessing(Builder b) {
    this.resizeShortSide = b.resizeShortSide;
    this.interpolation = b.interpolation;
    this.cropSize = b.cropSize;
    this.mean = b.mean.clone();
    this.std = b.std.clone();
  }

  /** Resize 256, crop 224, ImageNet mean/std: the usual ViT evaluation transform. */
  public static EvalPreprocessing imageNet() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().resizeShortSide(resizeShortSide).interpolation(interpolation)
        .cropSize(cropSize).mean(mean).std(std);
  }

  public Interpolation interpolation() {
    return interpolation;
  }

  public int resizeShortSide() {
    return resizeShortSide;
  }

  public int cropSize() {
    return cropSize;
  }

  /** Applies the transform to one image {@code [C, H, W]}; the input is not modified. */
  public INDArray apply(INDArray image) {
    checkArgument(image != null && image.rank() == 3,
        "image: expected [C, H, W], found %s", image == null ? "null" : Arrays.toString(image.shape()));
    long c = image.size(0);
    checkArgument(c == 1 || c == 3, "image: expected 1 or 3 channels, found %s in shape %s", c,
        Arrays.toString(image.shape()));
    int h = (int) image.size(1);
    int w = (int) image.size(2);
    INDArray x = image.castTo(DataType.FLOAT).reshape(1, c, h, w);
    if (c == 1) {
      x = x.repeat(1, 3);
    }
    if (resizeShortSide > 0) {
      int[] size = resizedSize(h, w, resizeShortSide);
      if (size[0] != h || size[1] != w) {
        x = interpolation == Interpolation.BICUBIC
            ? BicubicResize.resize(x, size[0], size[1], true)
            : ImageOps.resizedCrop(x, new int[] {0}, new int[] {0}, new int[] {h},
                new int[] {w}, size[0], size[1]);
        h = size[0];
        w = size[1];
      }
    }
    if (cropSize > 0) {
      checkArgument(cropSize <= h && cropSize <= w,
          "image: expected at least %sx%s after resizing to crop it, found %sx%s", cropSize,
          cropSize, h, w);
      int top = (int) Math.rint((h - cropSize) / 2.0);
      int left = (int) Math.rint((w - cropSize) / 2.0);
      x = x.get(NDArrayIndex.all(), NDArrayIndex.all(),
          NDArrayIndex.interval(top, top + cropSize), NDArrayIndex.interval(left, left + cropSize))
          .dup('c');
    }
    x = ImageOps.normalize(x, mean, std);
    return x.reshape(x.size(1), x.size(2), x.size(3));
  }

  /** torchvision's output size for {@code Resize(size)} with an int: {@code [newH, newW]}. */
  static int[] resizedSize(int h, int w, int size) {
    int shortSide = Math.min(h, w);
    int longSide = Math.max(h, w);
    if (shortSide == size) {
      return new int[] {h, w};
    }
    int newLong = (int) ((long) size * longSide / (double) shortSide);
    return w <= h ? new int[] {newLong, size} : new int[] {size, newLong};
  }

  /** Builder; defaults: resize 256 (bilinear), crop 224, ImageNet mean and std. */
  public static final class Builder {
    private int resizeShortSide = 256;
    private Interpolation interpolation = Interpolation.BILINEAR;
    private int cropSize = 224;
    private double[] mean = IMAGENET_MEAN.clone();
    private double[] std = IMAGENET_STD.clone();

    private Builder() {}

    /** The short side after resizing; 0 to skip resizing. */
    public Builder resizeShortSide(int value) {
      this.resizeShortSide = value;
      return this;
    }

    /**
     * The resize filter; default {@link Interpolation#BILINEAR}, StableRep's own protocol
     * ({@code main_linear.py}). {@link Interpolation#BICUBIC} for timm/MAE/SynCLR-style numbers.
     */
    public Builder interpolation(Interpolation value) {
      this.interpolation = value;
      return this;
    }

    /** The side of the square centre crop; 0 to skip cropping. */
    public Builder cropSize(int value) {
      this.cropSize = value;
      return this;
    }

    public Builder mean(double... value) {
      this.mean = value.clone();
      return this;
    }

    /** Per-channel standard deviations; mean 0 and std 1 turn normalisation off. */
    public Builder std(double... value) {
      this.std = value.clone();
      return this;
    }

    public EvalPreprocessing build() {
      checkArgument(resizeShortSide >= 0, "resizeShortSide: expected >= 0 (0 = no resize), found %s",
          resizeShortSide);
      checkArgument(interpolation != null,
          "interpolation: expected BILINEAR or BICUBIC, found null");
      checkArgument(cropSize >= 0, "cropSize: expected >= 0 (0 = no crop), found %s", cropSize);
      checkArgument(mean.length == 3, "mean: expected 3 values (RGB), found %s", mean.length);
      checkArgument(std.length == 3, "std: expected 3 values (RGB), found %s", std.length);
      for (int i = 0; i < 3; i++) {
        checkArgument(Double.isFinite(mean[i]), "mean: expected finite values, found %s", mean[i]);
        checkArgument(Double.isFinite(std[i]) && std[i] > 0,
            "std: expected finite values > 0, found %s", std[i]);
      }
      return new EvalPreprocessing(this);
    }
  }
}
