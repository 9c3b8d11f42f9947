package io.github.stablerep.augment;

import io.github.stablerep.augment.Scratch.Buffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The functional image operations of SimCLR-style augmentation, modelled on
 * {@code torchvision.transforms.functional} (0.14) applied to tensors, on whole batches.
 *
 * <p>Every method takes a batch {@code x} of shape {@code [N, 3, H, W]} with values in [0, 1]
 * (any floating-point type; computed and returned as {@code FLOAT}), per-sample parameters as
 * arrays of length {@code N}, and returns a new {@code FLOAT} array; {@code x} is never
 * modified. On the golden photographs (tools/reference/augment_reference.py) the colour and
 * pointwise operations are bit-identical to torchvision on the same float32 input except the
 * hue (within 7.2e-7: a closed form of the same function, see {@link #adjustHue}), and the
 * resampling ones are within 1e-6 (float32 summation order).
 *
 * <p><b>Implementation.</b> ND4J's image ops take one scalar per batch, so per-sample jitter
 * would need composed broadcast ops, each writing a fresh full-size array. Instead each
 * function copies a sample (or a sample-channel plane) from the array's native buffer into
 * per-thread scratch arrays in bulk, runs the package's float-array kernels on it, and writes
 * the result back, in parallel across samples (or planes) on the common fork-join pool. Each
 * batch function still allocates its output, and a fresh full-size array costs about as much as
 * the arithmetic (page faults), so {@link SimClrAugmentation#apply} runs the same kernels fused,
 * writing one output per call. A single image (N = 1) runs on one core for the per-sample
 * colour ops.
 */
public final class ImageOps {

  private ImageOps() {}

  // ---------------------------------------------------------------- geometry

  /**
   * Crops {@code [top[i], top[i] + height[i]) × [left[i], left[i] + width[i])} of sample
   * {@code i} and resizes it to {@code outH × outW}: torchvision's {@code resized_crop} with
   * bilinear interpolation and {@code antialias=True}, which on tensors runs ATen's
   * {@code _upsample_bilinear2d_aa}, the separable triangle filter of PIL's resampling.
   *
   * <p>Along an axis of input length {@code in} and output length {@code out}, with
   * {@code s = in / out}, output pixel {@code o} is {@code Σ_j w_j·x_j / Σ_j w_j} where
   * {@code c = s·(o + 0.5)}, {@code support = max(s, 1)}, {@code j ∈ [⌊c − support + 0.5⌋,
   * ⌊c + support + 0.5⌋) ∩ [0, in)} and {@code w_j = tri((j − c + 0.5) / max(s, 1))},
   * {@code tri(t) = max(0, 1 − |t|)}. When upscaling this is plain bilinear interpolation with
   * {@code align_corners=False} (edge pixels replicated); when downscaling the triangle widens
   * by the factor {@code s}, so every input pixel contributes (antialiasing). Crops must lie
   * inside the image (torchvision would zero-pad them; the augmentation never asks for that).
   */
  public static INDArray resizedCrop(
      INDArray x, int[] top, int[] left, int[] height, int[] width, int outH, int outW) {
    Batch b = Batch.of("x", x);
    checkLength("top", top, b.n);
    checkLength("left", left, b.n);
    checkLength("height", height, b.n);
    checkLength("width", width, b.n);
    checkPositive("outH", outH);
    checkPositive("outW", outW);
    for (int i = 0; i < b.n; i++) {
      if (height[i] < 1 || width[i] < 1) {
        throw new IllegalArgumentException(
            "height/width: expected a crop of at least 1x1, found " + height[i] + "x" + width[i]
                + " at index " + i);
      }
      if (top[i] < 0 || top[i] + (long) height[i] > b.h) {
        throw new IllegalArgumentException(
            "top/height: expected rows inside [0, " + b.h + "), found [" + top[i] + ", "
                + ((long) top[i] + height[i]) + ") at index " + i);
      }
      if (left[i] < 0 || left[i] + (long) width[i] > b.w) {
        throw new IllegalArgumentException(
            "left/width: expected columns inside [0, " + b.w + "), found [" + left[i] + ", "
                + ((long) left[i] + width[i]) + ") at index " + i);
      }
    }
    INDArray out = Nd4j.createUninitialized(DataType.FLOAT, b.n, b.c, outH, outW);
    FloatBuffer dst = writable(out);
    int inPlane = b.h * b.w;
    int outPlane = outH * outW;
    IntStream.range(0, b.n)
        .parallel()
        .forEach(
            i -> {
              ImageKernels.Filter rows = ImageKernels.Filter.antialiased(height[i], outH);
              ImageKernels.Filter cols = ImageKernels.Filter.antialiased(width[i], outW);
              float[] plane = Scratch.buffer(Buffer.SAMPLE, inPlane);
              float[] res = Scratch.buffer(Buffer.RESIZED, outPlane);
              for (int ch = 0; ch < b.c; ch++) {
                int base = (i * b.c + ch) * inPlane;
                b.src.get(base, plane, 0, inPlane);
                ImageKernels.cropResizePlane(
                    plane, 0, b.w, top[i], left[i], height[i], rows, cols, res, 0);
                dst.put((i * b.c + ch) * outPlane, res, 0, outPlane);
              }
            });
    return published(out);
  }

  /** Mirrors sample {@code i} left to right where {@code flip[i]}; copies it otherwise. */
  public static INDArray hflip(INDArray x, boolean[] flip) {
    Batch b = Batch.of("x", x);
    checkLength("flip", flip, b.n);
    return perPlane(b, (p, a, plane) -> {
      if (flip[p / b.c]) {
        ImageKernels.flipPlane(a, 0, b.h, b.w);
      }
    });
  }

  // ---------------------------------------------------------------- colour

  /**
   * {@code clamp(f·x, 0, 1)} per sample: torchvision's {@code adjust_brightness}, a blend with
   * black. Factor 0 gives black, 1 the input.
   */
  public static INDArray adjustBrightness(INDArray x, double[] factor) {
    Batch b = Batch.of("x", x);
    checkFactors("factor", factor, b.n);
    return perSample(
        b,
        (i, r, g, bl, plane) -> ImageKernels.brightness(r, g, bl, plane, factor[i]));
  }

  /**
   * {@code clamp(f·x + (1 − f)·m, 0, 1)} where {@code m} is the mean over all pixels of the
   * sample's grayscale image ({@link #rgbToGrayscale}): torchvision's {@code adjust_contrast}.
   * Factor 0 gives a uniform gray image.
   */
  public static INDArray adjustContrast(INDArray x, double[] factor) {
    Batch b = Batch.of("x", x);
    checkFactors("factor", factor, b.n);
    return perSample(
        b,
        (i, r, g, bl, plane) -> ImageKernels.contrast(r, g, bl, plane, factor[i]));
  }

  /**
   * {@code clamp(f·x + (1 − f)·gray(x), 0, 1)} pixelwise: torchvision's
   * {@code adjust_saturation}. Factor 0 gives the grayscale image, 1 the input.
   */
  public static INDArray adjustSaturation(INDArray x, double[] factor) {
    Batch b = Batch.of("x", x);
    checkFactors("factor", factor, b.n);
    return perSample(
        b,
        (i, r, g, bl, plane) -> ImageKernels.saturation(r, g, bl, plane, factor[i]));
  }

  /**
   * Rotates the hue of sample {@code i} by {@code hueShift[i]} turns, {@code hueShift[i] ∈
   * [−0.5, 0.5]}: torchvision's tensor {@code adjust_hue}, i.e. RGB → HSV
   * ({@code _rgb2hsv}: {@code v = max}, {@code s = (max − min)/max}, hue from the maximal
   * channel, {@code h = fmod(h/6 + 1, 1)}), {@code h ← (h + shift) mod 1}, HSV → RGB
   * ({@code _hsv2rgb}: sector {@code ⌊6h⌋ mod 6}, with {@code p, q, t} clamped to [0, 1]).
   * Computed in float32 through an equivalent closed form (the hexcone's
   * {@code max − (max − min)·clamp(min(k, 4 − k), 0, 1)} per channel, branch-free so that it
   * vectorises), which differs from torchvision's operation order by rounding only: within
   * 7.2e-7 on the goldens. Gray pixels ({@code max = min}) are unchanged bit for bit.
   */
  public static INDArray adjustHue(INDArray x, double[] hueShift) {
    Batch b = Batch.of("x", x);
    checkLength("hueShift", hueShift, b.n);
    for (int i = 0; i < hueShift.length; i++) {
      if (!(hueShift[i] >= -0.5 && hueShift[i] <= 0.5)) {
        throw new IllegalArgumentException(
            "hueShift: expected values in [-0.5, 0.5], found " + hueShift[i] + " at index " + i);
      }
    }
    return perSample(
        b,
        (i, r, g, bl, plane) -> ImageKernels.hue(r, g, bl, plane, hueShift[i]));
  }

  /**
   * {@code 0.2989·R + 0.587·G + 0.114·B} in float32, as torchvision's {@code rgb_to_grayscale};
   * {@code outputChannels} 1 gives {@code [N, 1, H, W]}, 3 repeats it to {@code [N, 3, H, W]}.
   */
  public static INDArray rgbToGrayscale(INDArray x, int outputChannels) {
    Batch b = Batch.of("x", x);
    if (outputChannels != 1 && outputChannels != 3) {
      throw new IllegalArgumentException(
          "outputChannels: expected 1 or 3, found " + outputChannels);
    }
    INDArray out = Nd4j.createUninitialized(DataType.FLOAT, b.n, outputChannels, b.h, b.w);
    FloatBuffer dst = writable(out);
    int plane = b.h * b.w;
    IntStream.range(0, b.n)
        .parallel()
        .forEach(
            i -> {
              float[] a = Scratch.buffer(Buffer.SAMPLE, 3 * plane);
              b.src.get(i * 3 * plane, a, 0, 3 * plane);
              float[] g = Scratch.buffer(Buffer.GRAY, plane);
              for (int k = 0; k < plane; k++) {
                g[k] = ImageKernels.gray(a[k], a[plane + k], a[2 * plane + k]);
              }
              for (int ch = 0; ch < outputChannels; ch++) {
                dst.put((i * outputChannels + ch) * plane, g, 0, plane);
              }
            });
    return published(out);
  }

  // ---------------------------------------------------------------- filters and pointwise

  /**
   * Gaussian blur of sample {@code i} with standard deviation {@code sigma[i]} (pixels) and an
   * odd {@code kernelSize}, as torchvision's tensor {@code gaussian_blur}: the 1-D kernel
   * {@code g_j ∝ exp(−½·(j/σ)²)}, {@code j ∈ [−(k−1)/2, (k−1)/2]}, normalised to sum 1, applied
   * along rows then columns with reflect padding (edge pixel not repeated:
   * {@code x[−1] = x[1]}), so {@code kernelSize / 2} must be smaller than H and W.
   * torchvision convolves with the 2-D outer product; the separable form differs by float32
   * rounding only.
   *
   * <p><b>Against PIL.</b> The official StableRep code blurs PIL images with
   * {@code ImageFilter.GaussianBlur(radius=σ)}, which works in uint8, approximates the Gaussian
   * with extended box blurs, picks its own support and replicates edge pixels. Measured by
   * {@code tools/reference/augment_reference.py} on the two 96×128 photographs with kernel 23:
   * σ = 0.1 identical; σ = 0.5, 1, 2 max abs difference 11.8–39.7/255 (worst 0.156 at σ = 1),
   * almost all at the borders (padding), 2.2–3.4/255 in the interior, mean 0.0016–0.0022.
   * Outputs are therefore torchvision-exact, not PIL-exact.
   */
  public static INDArray gaussianBlur(INDArray x, int kernelSize, double[] sigma) {
    Batch b = Batch.of("x", x);
    if (kernelSize < 1 || kernelSize % 2 == 0) {
      throw new IllegalArgumentException(
          "kernelSize: expected a positive odd number, found " + kernelSize);
    }
    int half = kernelSize / 2;
    if (half >= b.h || half >= b.w) {
      throw new IllegalArgumentException(
          "kernelSize: expected kernelSize / 2 < min(H, W) = " + Math.min(b.h, b.w)
              + " (reflect padding), found " + kernelSize);
    }
    checkLength("sigma", sigma, b.n);
    for (int i = 0; i < sigma.length; i++) {
      if (!(sigma[i] > 0) || Double.isInfinite(sigma[i])) {
        throw new IllegalArgumentException(
            "sigma: expected finite values > 0, found " + sigma[i] + " at index " + i);
      }
    }
    int[] rowIdx = ImageKernels.reflectIndex(b.w, half);
    int[] colIdx = ImageKernels.reflectIndex(b.h, half);
    INDArray out = Nd4j.createUninitialized(DataType.FLOAT, b.n, b.c, b.h, b.w);
    FloatBuffer dst = writable(out);
    int plane = b.h * b.w;
    float[][] kernels = new float[b.n][];
    for (int i = 0; i < b.n; i++) {
      kernels[i] = ImageKernels.gaussianKernel(kernelSize, sigma[i]);
    }
    IntStream.range(0, b.n * b.c)
        .parallel()
        .forEach(
            p -> {
              float[] a = Scratch.buffer(Buffer.SAMPLE, plane);
              b.src.get(p * plane, a, 0, plane);
              ImageKernels.blurPlane(a, 0, b.h, b.w, kernels[p / b.c], rowIdx, colIdx);
              dst.put(p * plane, a, 0, plane);
            });
    return published(out);
  }

  /**
   * {@code x ≥ threshold ? 1 − x : x}, as torchvision's {@code solarize} on float images;
   * {@code threshold} must be finite and at most 1 (torchvision rejects thresholds above the
   * image's bound).
   */
  public static INDArray solarize(INDArray x, double threshold) {
    Batch b = Batch.of("x", x);
    if (!(threshold <= 1.0) || Double.isInfinite(threshold)) {
      throw new IllegalArgumentException(
          "threshold: expected a finite value <= 1, found " + threshold);
    }
    return perPlane(b, (p, a, len) -> ImageKernels.solarize(a, 0, len, threshold));
  }

  /**
   * {@code (x_c − mean[c]) / std[c]} per channel, as torchvision's {@code normalize} (float32
   * mean and std; no clamping). ImageNet: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
   */
  public static INDArray normalize(INDArray x, double[] mean, double[] std) {
    Batch b = Batch.of("x", x);
    checkLength("mean", mean, b.c, "channel");
    checkLength("std", std, b.c, "channel");
    for (int c = 0; c < b.c; c++) {
      if (!Double.isFinite(mean[c])) {
        throw new IllegalArgumentException(
            "mean: expected finite values, found " + mean[c] + " at index " + c);
      }
      if (!(std[c] != 0) || !Double.isFinite(std[c])) {
        throw new IllegalArgumentException(
            "std: expected finite non-zero values, found " + std[c] + " at index " + c);
      }
    }
    return perPlane(
        b,
        (p, a, len) -> ImageKernels.normalize(a, 0, len, mean[p % b.c], std[p % b.c]));
  }

  // ---------------------------------------------------------------- plumbing

  private interface SampleKernel {
    /** Transforms sample {@code i} in place, given as its three planes of {@code plane}. */
    void apply(int i, float[] r, float[] g, float[] b, int plane);
  }

  private interface PlaneKernel {
    /** Transforms plane {@code p = sample·C + channel}, {@code a[0, len)}, in place. */
    void apply(int p, float[] a, int len);
  }

  private static INDArray perSample(Batch b, SampleKernel kernel) {
    INDArray out = Nd4j.createUninitialized(DataType.FLOAT, b.n, b.c, b.h, b.w);
    FloatBuffer dst = writable(out);
    int plane = b.h * b.w;
    int size = b.c * plane;
    IntStream.range(0, b.n)
        .parallel()
        .forEach(
            i -> {
              float[][] rgb = Scratch.rgb(plane);
              for (int ch = 0; ch < 3; ch++) {
                b.src.get(i * size + ch * plane, rgb[ch], 0, plane);
              }
              kernel.apply(i, rgb[0], rgb[1], rgb[2], plane);
              for (int ch = 0; ch < 3; ch++) {
                dst.put(i * size + ch * plane, rgb[ch], 0, plane);
              }
            });
    return published(out);
  }

  private static INDArray perPlane(Batch b, PlaneKernel kernel) {
    INDArray out = Nd4j.createUninitialized(DataType.FLOAT, b.n, b.c, b.h, b.w);
    FloatBuffer dst = writable(out);
    int plane = b.h * b.w;
    IntStream.range(0, b.n * b.c)
        .parallel()
        .forEach(
            p -> {
              float[] a = Scratch.buffer(Buffer.SAMPLE, plane);
              b.src.get(p * plane, a, 0, plane);
              kernel.apply(p, a, plane);
              dst.put(p * plane, a, 0, plane);
            });
    return published(out);
  }

  /**
   * A new {@code FLOAT} C-order array of {@code shape} whose memory has not been written. Every
   * ND4J allocation zeroes its buffer on the calling thread, so a fresh batch is page-faulted in
   * serially before any parallel work (on a VM that can cost as much as the augmentation;
   * benchmarks/README.md, "Augmentation"); memory from a JavaCPP {@link FloatPointer} is
   * untouched until the parallel workers write their own samples, so the faults are spread over
   * them. The data buffer holds the pointer, so it is
   * freed with the array; JavaCPP counts it against its {@code maxBytes} (by default the heap's
   * maximum), so many live outputs make JavaCPP collect garbage and retry before it fails. The
   * caller must write every element.
   */
  static INDArray untouched(long... shape) {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    FloatPointer p = new FloatPointer(n);
    DataBuffer db = Nd4j.createBuffer(p, DataType.FLOAT, n, FloatIndexer.create(p));
    return Nd4j.create(db, shape);
  }

  static FloatBuffer writable(INDArray out) {
    return out.data().asNioFloat();
  }

  /** Tells a device backend that the host copy is now the current one (no-op on CPU). */
  static INDArray published(INDArray out) {
    Nd4j.getAffinityManager().tagLocation(out, AffinityManager.Location.HOST);
    return out;
  }

  /** A validated batch and a read-only float view of its contiguous C-order data. */
  static final class Batch {
    final int n;
    final int c;
    final int h;
    final int w;
    final FloatBuffer src;

    private Batch(INDArray x) {
      long[] s = x.shape();
      n = (int) s[0];
      c = (int) s[1];
      h = (int) s[2];
      w = (int) s[3];
      INDArray flat = x;
      if (x.dataType() != DataType.FLOAT) {
        flat = x.castTo(DataType.FLOAT);
      }
      if (flat.isView() || flat.ordering() != 'c' || flat.offset() != 0) {
        flat = flat.dup('c');
      }
      Nd4j.getAffinityManager().ensureLocation(flat, AffinityManager.Location.HOST);
      src = flat.data().asNioFloat().asReadOnlyBuffer();
    }

    static Batch of(String name, INDArray x) {
      if (x == null) {
        throw new NullPointerException(name + ": expected an array [N, 3, H, W], found null");
      }
      long[] s = x.shape();
      if (x.rank() != 4) {
        throw new IllegalArgumentException(
            name + ": expected a batch [N, 3, H, W], found shape " + Arrays.toString(s));
      }
      if (s[1] != 3) {
        throw new IllegalArgumentException(
            name + ": expected 3 channels (RGB) in [N, 3, H, W], found " + s[1]
                + " in shape " + Arrays.toString(s));
      }
      if (!x.dataType().isFPType()) {
        throw new IllegalArgumentException(
            name + ": expected a floating-point array in [0, 1], found " + x.dataType());
      }
      if (s[0] < 1 || s[2] < 1 || s[3] < 1 || x.length() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            name + ": expected a non-empty batch of fewer than 2^31 values, found shape "
                + Arrays.toString(s));
      }
      return new Batch(x);
    }
  }

  private static void checkLength(String name, Object array, int expected) {
    checkLength(name, array, expected, "sample");
  }

  private static void checkLength(String name, Object array, int expected, String per) {
    if (array == null) {
      throw new NullPointerException(name + ": expected an array of length " + expected + ", found null");
    }
    int found = java.lang.reflect.Array.getLength(array);
    if (found != expected) {
      throw new IllegalArgumentException(
          name + ": expected length " + expected + " (one per " + per + "), found " + found);
    }
  }

  private static void checkFactors(String name, double[] factor, int n) {
    checkLength(name, factor, n);
    for (int i = 0; i < factor.length; i++) {
      if (!(factor[i] >= 0) || Double.isInfinite(factor[i])) {
        throw new IllegalArgumentException(
            name + ": expected finite values >= 0, found " + factor[i] + " at index " + i);
      }
    }
  }

  private static void checkPositive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + ": expected a positive size, found " + value);
    }
  }
}
