package io.github.stablerep.augment;

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
 * would need composed broadcast ops, each writing a fresh full-size array. Instead each op is
 * a few tight loops over {@code float[]} planes, read from and written to the arrays' native
 * buffers in bulk, parallel across samples (or sample-channel planes) on the common fork-join
 * pool, with per-thread scratch arrays. The loops are written for C2's auto-vectorisation
 * (Java 17, no incubator modules): each is a short body of arithmetic and {@code Math.min/max}
 * over arrays indexed from 0, a sample's three channels are separate arrays, and passes along
 * the contiguous axis run on transposed planes; loops with conditional expressions, a gather,
 * or one array read at several offsets stay scalar (benchmarks/README.md, "Augmentation"). Each batch function still allocates its output, and on
 * this project's machine a fresh 38 MB array costs about as much as the arithmetic (page
 * faults), so {@link SimClrAugmentation#apply} runs the same per-sample kernels fused, writing
 * one output per call. A single image (N = 1) runs on one core for the per-sample colour ops.
 */
public final class ImageOps {

  /** ITU-R 601-2 luma weights, as torchvision's {@code rgb_to_grayscale} (float32). */
  static final float LUMA_R = 0.2989f;

  static final float LUMA_G = 0.587f;
  static final float LUMA_B = 0.114f;

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
              Filter rows = Filter.antialiased(height[i], outH);
              Filter cols = Filter.antialiased(width[i], outW);
              float[] plane = scratch(0, inPlane);
              float[] res = scratch(2, outPlane);
              for (int ch = 0; ch < b.c; ch++) {
                int base = (i * b.c + ch) * inPlane;
                b.src.get(base, plane, 0, inPlane);
                cropResizePlane(plane, 0, b.w, top[i], left[i], height[i], rows, cols, res, 0);
                dst.put((i * b.c + ch) * outPlane, res, 0, outPlane);
              }
            });
    return published(out);
  }

  /**
   * One plane of {@link #resizedCrop}: the crop of {@code src} (row length {@code srcW}, from
   * {@code srcOff}) resampled into {@code dst[dstOff ..]} of {@code rows.out × cols.out}.
   * Every pass is a whole-row update over arrays starting at index 0, the form C2 vectorises
   * (a per-output gather along a row runs scalar, about twice the time of this whole
   * function): the vertical pass on the crop's rows, then the horizontal one on the transposed
   * result, which is transposed back. Per output the taps are summed in order from 0.
   */
  static void cropResizePlane(float[] src, int srcOff, int srcW, int top, int left, int height,
      Filter rows, Filter cols, float[] dst, int dstOff) {
    int outH = rows.start.length;
    int outW = cols.start.length;
    int width = cols.in;
    float[][] crop = rows(0, height, width);
    for (int r = 0; r < height; r++) {
      System.arraycopy(src, srcOff + (top + r) * srcW + left, crop[r], 0, width);
    }
    float[][] v = rows(1, outH, width);
    for (int o = 0; o < outH; o++) {
      taps(v[o], crop, rows.start[o], rows.weight[o], width);
    }
    float[][] vt = rows(2, width, outH); // v transposed: vt[c][o]
    transpose(v, outH, width, vt);
    float[][] ht = rows(3, outW, outH); // the output transposed
    for (int o = 0; o < outW; o++) {
      taps(ht[o], vt, cols.start[o], cols.weight[o], outH);
    }
    transpose(ht, outW, outH, dst, dstOff);
  }

  /** {@code out[0, n) = Σ_j w_j · in[start + j][0, n)}, summed in order from j = 0. */
  private static void taps(float[] out, float[][] in, int start, float[] w, int n) {
    if (w.length == 0) {
      Arrays.fill(out, 0, n, 0f);
      return;
    }
    float[] x0 = in[start];
    float w0 = w[0];
    for (int x = 0; x < n; x++) {
      out[x] = w0 * x0[x];
    }
    for (int j = 1; j < w.length; j++) {
      axpy(out, w[j], in[start + j], n);
    }
  }

  /** Mirrors sample {@code i} left to right where {@code flip[i]}; copies it otherwise. */
  public static INDArray hflip(INDArray x, boolean[] flip) {
    Batch b = Batch.of("x", x);
    checkLength("flip", flip, b.n);
    return perPlane(b, (p, a, plane) -> {
      if (flip[p / b.c]) {
        flipPlane(a, 0, b.h, b.w);
      }
    });
  }

  static void flipPlane(float[] a, int off, int h, int w) {
    for (int r = 0; r < h; r++) {
      int s = off + r * w;
      for (int lo = s, hi = s + w - 1; lo < hi; lo++, hi--) {
        float t = a[lo];
        a[lo] = a[hi];
        a[hi] = t;
      }
    }
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
        (i, r, g, bl, plane) -> brightness(r, g, bl, plane, factor[i]));
  }

  static void brightness(float[] r, float[] g, float[] b, int plane, double factor) {
    // torchvision blends with black: ratio·img + (1 − ratio)·0, which is ratio·img exactly.
    float f = (float) factor;
    scaleClamp(r, plane, f);
    scaleClamp(g, plane, f);
    scaleClamp(b, plane, f);
  }

  private static void scaleClamp(float[] p, int n, float f) {
    for (int k = 0; k < n; k++) {
      p[k] = clamp01(f * p[k]);
    }
  }

  private static void scaleAddClamp(float[] p, int n, float f, float add) {
    for (int k = 0; k < n; k++) {
      p[k] = clamp01(f * p[k] + add);
    }
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
        (i, r, g, bl, plane) -> contrast(r, g, bl, plane, factor[i]));
  }

  static void contrast(float[] r, float[] g, float[] b, int plane, double factor) {
    // The mean in double: torch sums float32 pairwise, so both are within ~1e-7 of exact.
    // Four partial sums: one chain of dependent double additions would take four times as long.
    float[] y = scratch(5, plane);
    for (int k = 0; k < plane; k++) {
      y[k] = gray(r[k], g[k], b[k]);
    }
    double s0 = 0;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    int k = 0;
    for (; k + 3 < plane; k += 4) {
      s0 += y[k];
      s1 += y[k + 1];
      s2 += y[k + 2];
      s3 += y[k + 3];
    }
    for (; k < plane; k++) {
      s0 += y[k];
    }
    float mean = (float) (((s0 + s1) + (s2 + s3)) / plane);
    float f = (float) factor;
    float qm = (float) (1.0 - factor) * mean;
    scaleAddClamp(r, plane, f, qm);
    scaleAddClamp(g, plane, f, qm);
    scaleAddClamp(b, plane, f, qm);
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
        (i, r, g, bl, plane) -> saturation(r, g, bl, plane, factor[i]));
  }

  static void saturation(float[] r, float[] g, float[] b, int plane, double factor) {
    float f = (float) factor;
    float q = (float) (1.0 - factor);
    float[] y = scratch(5, plane);
    for (int k = 0; k < plane; k++) {
      y[k] = q * gray(r[k], g[k], b[k]);
    }
    blendClamp(r, y, plane, f);
    blendClamp(g, y, plane, f);
    blendClamp(b, y, plane, f);
  }

  private static void blendClamp(float[] p, float[] y, int n, float f) {
    for (int k = 0; k < n; k++) {
      p[k] = clamp01(f * p[k] + y[k]);
    }
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
        (i, r, g, bl, plane) -> hue(r, g, bl, plane, hueShift[i]));
  }

  /**
   * The hue rotation in the hexcone's closed form instead of torchvision's table: with
   * {@code c = max − min} and the hue {@code H} in sextants ({@code [0, 6)}), each output channel
   * is {@code max − c·clamp(min(k, 4 − k), 0, 1)}, {@code k = (n + H) mod 6}, n = 5, 3, 1 for R,
   * G, B. That is the same function ({@code v·(1 − s) = min}, {@code v·s = c}; the table's
   * p, q, t are never outside [0, 1] for inputs in [0, 1]), with no division by {@code max}, and
   * every step is a {@code min}, {@code max} or arithmetic over whole planes, which C2
   * vectorises; the per-pixel form with its data-dependent selections runs scalar, about 4x
   * slower here. Two rewrites make it branch-free:
   *
   * <ul>
   *   <li>which channel is the maximum (R before G before B on ties, as torchvision) is a 0/1
   *       mask {@code 1 − min(1, (max − x)·2¹²⁶)}: exact whenever {@code max ≥ 2⁻¹⁰⁰}, since a
   *       nonzero {@code max − x} is then at least {@code 2⁻²⁴·max}; below that, whatever the mask,
   *       the output stays in {@code [min, max]}, within {@code 2⁻¹⁰⁰} of the exact value;
   *   <li>{@code mod 6} becomes the maximum of three triangles 6 apart, which equals the
   *       clamped periodic one on {@code [0, 18)}; {@code k = n + H + 6·shift} plus one period
   *       for G and B stays in {@code [1, 17]}.
   * </ul>
   *
   * The rounding differs from torchvision's by about one ulp of the hue in sextants (≤ 1e-6 on
   * the output); gray pixels ({@code c = 0}) come back unchanged.
   */
  static void hue(float[] r, float[] g, float[] b, int plane, double hueShift) {
    float[] mx = scratch(5, plane);
    float[] cr = scratch(6, plane);
    float[] inv = scratch(7, plane);
    float[] h = scratch(8, plane);
    float[] rest = scratch(9, plane);
    float[] t = scratch(10, plane);
    // Small loop bodies on purpose: C2 vectorises only loops it can unroll, and it does not
    // unroll a body of more than about 60 nodes (LoopUnrollLimit).
    for (int k = 0; k < plane; k++) {
      mx[k] = Math.max(r[k], Math.max(g[k], b[k]));
    }
    for (int k = 0; k < plane; k++) {
      cr[k] = mx[k] - Math.min(r[k], Math.min(g[k], b[k]));
    }
    for (int k = 0; k < plane; k++) {
      // c = 0 (gray) gives a finite 1/MIN_NORMAL; every hue term is then 0 · finite.
      inv[k] = 1f / Math.max(cr[k], Float.MIN_NORMAL);
    }
    for (int k = 0; k < plane; k++) {
      t[k] = 1f - Math.min(1f, (mx[k] - r[k]) * MASK_SCALE); // max is R
    }
    for (int k = 0; k < plane; k++) {
      h[k] = t[k] * ((g[k] - b[k]) * inv[k]);
      rest[k] = 1f - t[k];
    }
    for (int k = 0; k < plane; k++) {
      t[k] = rest[k] * (1f - Math.min(1f, (mx[k] - g[k]) * MASK_SCALE)); // max is G, not R
    }
    for (int k = 0; k < plane; k++) {
      h[k] += t[k] * (2f + (b[k] - r[k]) * inv[k]);
      rest[k] -= t[k];
    }
    for (int k = 0; k < plane; k++) {
      h[k] += rest[k] * (4f + (r[k] - g[k]) * inv[k]);
    }
    // h is in [−1, 5] and 6·shift in [−3, 3]; n plus a period for G and B (9, 7; R 5) keeps
    // every k in [1, 17].
    float base = 6f * (float) hueShift;
    hueChannel(r, mx, cr, h, t, plane, 5f + base);
    hueChannel(g, mx, cr, h, t, plane, 9f + base);
    hueChannel(b, mx, cr, h, t, plane, 7f + base);
  }

  private static final float MASK_SCALE = 0x1p126f;

  private static void hueChannel(float[] out, float[] mx, float[] cr, float[] h, float[] t,
      int plane, float shift) {
    for (int k = 0; k < plane; k++) {
      float x = h[k] + shift;
      t[k] = Math.max(Math.min(x, 4f - x), Math.min(x - 6f, 10f - x));
    }
    for (int k = 0; k < plane; k++) {
      float x = h[k] + shift;
      t[k] = Math.max(t[k], Math.min(x - 12f, 16f - x));
    }
    for (int k = 0; k < plane; k++) {
      out[k] = mx[k] - cr[k] * Math.min(1f, Math.max(0f, t[k]));
    }
  }

  /** The three planes replaced by the grayscale image, as rgbToGrayscale(x, 3). */
  static void grayscale3(float[] r, float[] g, float[] b, int plane) {
    for (int k = 0; k < plane; k++) {
      r[k] = gray(r[k], g[k], b[k]);
    }
    System.arraycopy(r, 0, g, 0, plane);
    System.arraycopy(r, 0, b, 0, plane);
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
              float[] a = scratch(0, 3 * plane);
              b.src.get(i * 3 * plane, a, 0, 3 * plane);
              float[] g = scratch(1, plane);
              for (int k = 0; k < plane; k++) {
                g[k] = gray(a[k], a[plane + k], a[2 * plane + k]);
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
    int[] rowIdx = reflectIndex(b.w, half);
    int[] colIdx = reflectIndex(b.h, half);
    INDArray out = Nd4j.createUninitialized(DataType.FLOAT, b.n, b.c, b.h, b.w);
    FloatBuffer dst = writable(out);
    int plane = b.h * b.w;
    float[][] kernels = new float[b.n][];
    for (int i = 0; i < b.n; i++) {
      kernels[i] = gaussianKernel(kernelSize, sigma[i]);
    }
    IntStream.range(0, b.n * b.c)
        .parallel()
        .forEach(
            p -> {
              float[] a = scratch(0, plane);
              b.src.get(p * plane, a, 0, plane);
              blurPlane(a, 0, b.h, b.w, kernels[p / b.c], rowIdx, colIdx);
              dst.put(p * plane, a, 0, plane);
            });
    return published(out);
  }

  /**
   * Blurs the plane {@code a[off, off + h·w)} in place, rows then columns. Both passes compute
   * whole rows at a time, {@code out = k_0·x_0 + Σ_d k_d·(x_{−d} + x_{+d})} over arrays that
   * start at index 0 (the form C2 vectorises; with offsets into one flat array the update ran
   * 2-5x slower here), three tap pairs per sweep so each output row is loaded and stored once
   * per three pairs, not twice per tap; the horizontal pass runs on the transposed plane. The
   * pairs use the kernel's symmetry ({@link #gaussianKernel} is exactly symmetric), which
   * halves the multiplications. Taps below {@link #BLUR_TAP_MIN} (2⁻³², the far tails of a
   * kernel much wider than its sigma: at 23 taps every tap for sigma 2, 13 for sigma 1, 7 for
   * sigma 0.5) are skipped: together they would add less than 5e-9, below float32 resolution
   * near 1. The sums are in a different order from torchvision's 2-D convolution; the golden
   * difference is float32 rounding (~6e-7).
   */
  static void blurPlane(float[] a, int off, int h, int w, float[] kern, int[] rowIdx,
      int[] colIdx) {
    int half = kern.length / 2;
    int pairs = 0;
    while (pairs < half && kern[half - pairs - 1] >= BLUR_TAP_MIN) {
      pairs++;
    }
    float[][] cols = rows(0, w, h); // the plane transposed: cols[c][r]
    float[][] blurredCols = rows(1, w, h);
    float[][] rowsOut = rows(2, h, w);
    transpose(a, off, h, w, cols);
    for (int c = 0; c < w; c++) {
      symmetricTaps(blurredCols[c], cols, rowIdx, c + half, kern, pairs, h);
    }
    transpose(blurredCols, w, h, rowsOut);
    float[] acc = scratch(4, w);
    for (int r = 0; r < h; r++) {
      symmetricTaps(acc, rowsOut, colIdx, r + half, kern, pairs, w);
      System.arraycopy(acc, 0, a, off + r * w, w);
    }
  }

  /**
   * {@code cols[c][r] = a[off + r·w + c]}, eight columns per sweep: the eight destination
   * arrays stay in registers, which halves the time of the plain double loop here (~20 against
   * ~35 µs at 224×224).
   */
  private static void transpose(float[] a, int off, int h, int w, float[][] cols) {
    int c = 0;
    for (; c + 8 <= w; c += 8) {
      float[] c0 = cols[c];
      float[] c1 = cols[c + 1];
      float[] c2 = cols[c + 2];
      float[] c3 = cols[c + 3];
      float[] c4 = cols[c + 4];
      float[] c5 = cols[c + 5];
      float[] c6 = cols[c + 6];
      float[] c7 = cols[c + 7];
      for (int r = 0, s = off + c; r < h; r++, s += w) {
        c0[r] = a[s];
        c1[r] = a[s + 1];
        c2[r] = a[s + 2];
        c3[r] = a[s + 3];
        c4[r] = a[s + 4];
        c5[r] = a[s + 5];
        c6[r] = a[s + 6];
        c7[r] = a[s + 7];
      }
    }
    for (; c < w; c++) {
      float[] col = cols[c];
      for (int r = 0, s = off + c; r < h; r++, s += w) {
        col[r] = a[s];
      }
    }
  }

  /** {@code out[r][c] = in[c][r]} for {@code c < n}, {@code r < len}, eight rows per sweep. */
  private static void transpose(float[][] in, int n, int len, float[][] out) {
    int r = 0;
    for (; r + 8 <= len; r += 8) {
      float[] r0 = out[r];
      float[] r1 = out[r + 1];
      float[] r2 = out[r + 2];
      float[] r3 = out[r + 3];
      float[] r4 = out[r + 4];
      float[] r5 = out[r + 5];
      float[] r6 = out[r + 6];
      float[] r7 = out[r + 7];
      for (int c = 0; c < n; c++) {
        float[] col = in[c];
        r0[c] = col[r];
        r1[c] = col[r + 1];
        r2[c] = col[r + 2];
        r3[c] = col[r + 3];
        r4[c] = col[r + 4];
        r5[c] = col[r + 5];
        r6[c] = col[r + 6];
        r7[c] = col[r + 7];
      }
    }
    for (; r < len; r++) {
      float[] row = out[r];
      for (int c = 0; c < n; c++) {
        row[c] = in[c][r];
      }
    }
  }

  /** {@code out[off + r·n + c] = in[c][r]} for {@code c < n}, {@code r < len}. */
  private static void transpose(float[][] in, int n, int len, float[] out, int off) {
    int c = 0;
    for (; c + 8 <= n; c += 8) {
      float[] c0 = in[c];
      float[] c1 = in[c + 1];
      float[] c2 = in[c + 2];
      float[] c3 = in[c + 3];
      float[] c4 = in[c + 4];
      float[] c5 = in[c + 5];
      float[] c6 = in[c + 6];
      float[] c7 = in[c + 7];
      for (int r = 0, s = off + c; r < len; r++, s += n) {
        out[s] = c0[r];
        out[s + 1] = c1[r];
        out[s + 2] = c2[r];
        out[s + 3] = c3[r];
        out[s + 4] = c4[r];
        out[s + 5] = c5[r];
        out[s + 6] = c6[r];
        out[s + 7] = c7[r];
      }
    }
    for (; c < n; c++) {
      float[] col = in[c];
      for (int r = 0, s = off + c; r < len; r++, s += n) {
        out[s] = col[r];
      }
    }
  }

  /** Blur taps whose weight is below this are skipped (see {@link #blurPlane}). */
  static final float BLUR_TAP_MIN = 0x1p-32f;

  /**
   * {@code out[0, n) = k_c·in[idx[m]] + Σ_{d=1..pairs} k_{c−d}·(in[idx[m−d]] + in[idx[m+d]])},
   * {@code c} the kernel's centre, {@code m} the centre's position in {@code idx}.
   */
  private static void symmetricTaps(float[] out, float[][] in, int[] idx, int m, float[] kern,
      int pairs, int n) {
    int c = kern.length / 2;
    float[] mid = in[idx[m]];
    float w0 = kern[c];
    for (int x = 0; x < n; x++) {
      out[x] = w0 * mid[x];
    }
    int d = 1;
    for (; d + 2 <= pairs; d += 3) {
      float[] a1 = in[idx[m - d]];
      float[] b1 = in[idx[m + d]];
      float[] a2 = in[idx[m - d - 1]];
      float[] b2 = in[idx[m + d + 1]];
      float[] a3 = in[idx[m - d - 2]];
      float[] b3 = in[idx[m + d + 2]];
      float w1 = kern[c - d];
      float w2 = kern[c - d - 1];
      float w3 = kern[c - d - 2];
      for (int x = 0; x < n; x++) {
        out[x] += w1 * (a1[x] + b1[x]) + w2 * (a2[x] + b2[x]) + w3 * (a3[x] + b3[x]);
      }
    }
    for (; d <= pairs; d++) {
      float[] a1 = in[idx[m - d]];
      float[] b1 = in[idx[m + d]];
      float w1 = kern[c - d];
      for (int x = 0; x < n; x++) {
        out[x] += w1 * (a1[x] + b1[x]);
      }
    }
  }

  /** {@code dst[0, n) += k · src[0, n)}. */
  static void axpy(float[] dst, float k, float[] src, int n) {
    for (int c = 0; c < n; c++) {
      dst[c] += k * src[c];
    }
  }

  private static final ThreadLocal<float[][][]> ROWS = ThreadLocal.withInitial(() -> new float[4][][]);

  /** Per-thread scratch {@code [count][≥ length]}, not cleared. */
  static float[][] rows(int slot, int count, int length) {
    float[][][] slots = ROWS.get();
    float[][] m = slots[slot];
    if (m == null || m.length < count || m[0].length < length) {
      m = new float[Math.max(count, m == null ? 0 : m.length)][Math.max(length,
          m == null ? 0 : m[0].length)];
      slots[slot] = m;
    }
    return m;
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
    return perPlane(b, (p, a, len) -> solarize(a, 0, len, threshold));
  }

  static void solarize(float[] a, int off, int len, double threshold) {
    float t = (float) threshold;
    for (int k = off; k < off + len; k++) {
      if (a[k] >= t) {
        a[k] = 1f - a[k];
      }
    }
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
        (p, a, len) -> normalize(a, 0, len, mean[p % b.c], std[p % b.c]));
  }

  static void normalize(float[] a, int off, int len, double mean, double std) {
    float m = (float) mean;
    float s = (float) std;
    for (int k = off; k < off + len; k++) {
      a[k] = (a[k] - m) / s;
    }
  }

  // ---------------------------------------------------------------- kernels

  static float gray(float r, float g, float b) {
    return LUMA_R * r + LUMA_G * g + LUMA_B * b;
  }

  private static float clamp01(float v) {
    // NaN stays NaN, as torch.clamp does. Math.min/max rather than comparisons: C2 vectorises
    // them, not conditional expressions.
    return Math.min(1f, Math.max(0f, v));
  }

  /** torchvision's {@code _get_gaussian_kernel1d}: float32 pdf over integer offsets, normalised. */
  static float[] gaussianKernel(int size, double sigma) {
    float half = (size - 1) * 0.5f;
    float sig = (float) sigma;
    float[] k = new float[size];
    float sum = 0f;
    for (int j = 0; j < size; j++) {
      float xj = -half + j; // linspace(-half, half, size) has unit steps: exact
      float z = xj / sig;
      k[j] = (float) Math.exp(-0.5f * (z * z));
      sum += k[j];
    }
    for (int j = 0; j < size; j++) {
      k[j] /= sum;
    }
    return k;
  }

  /** idx[c + half] = reflect(c) for c in [−half, n + half): torch's "reflect" padding. */
  static int[] reflectIndex(int n, int half) {
    int[] idx = new int[n + 2 * half];
    for (int c = -half; c < n + half; c++) {
      int m = c < 0 ? -c : (c >= n ? 2 * (n - 1) - c : c);
      idx[c + half] = m;
    }
    return idx;
  }

  /**
   * Precomputed weights of ATen's antialiased bilinear resampling along one axis: for output
   * {@code o}, input indices {@code [start[o], start[o] + size[o])} with normalised weights.
   */
  static final class Filter {
    final int in;
    final int[] start;
    final int[] size;
    final float[][] weight;

    private Filter(int in, int out) {
      this.in = in;
      start = new int[out];
      size = new int[out];
      weight = new float[out][];
    }

    static Filter antialiased(int in, int out) {
      Filter f = new Filter(in, out);
      double scale = (double) in / out;
      double support = scale >= 1.0 ? scale : 1.0; // interp_size 2 · 0.5 · max(scale, 1)
      double invScale = scale >= 1.0 ? 1.0 / scale : 1.0;
      for (int o = 0; o < out; o++) {
        double center = scale * (o + 0.5);
        int lo = Math.max((int) (center - support + 0.5), 0);
        int hi = Math.min((int) (center + support + 0.5), in);
        double[] w = new double[hi - lo];
        double total = 0;
        for (int j = 0; j < w.length; j++) {
          double t = Math.abs((j + lo - center + 0.5) * invScale);
          w[j] = t < 1.0 ? 1.0 - t : 0.0;
          total += w[j];
        }
        float[] wf = new float[w.length];
        for (int j = 0; j < w.length; j++) {
          wf[j] = (float) (total != 0 ? w[j] / total : w[j]);
        }
        f.start[o] = lo;
        f.size[o] = w.length;
        f.weight[o] = wf;
      }
      return f;
    }

    /** dst[dOff + o·dStride] = Σ_j w_oj · src[sOff + (start_o + j)·sStride]. */
    void apply(float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride) {
      for (int o = 0; o < start.length; o++) {
        float[] w = weight[o];
        int base = sOff + start[o] * sStride;
        float acc = 0f;
        for (int j = 0; j < w.length; j++) {
          acc += w[j] * src[base + j * sStride];
        }
        dst[dOff + o * dStride] = acc;
      }
    }
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
              float[][] rgb = planes(plane);
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
              float[] a = scratch(0, plane);
              b.src.get(p * plane, a, 0, plane);
              kernel.apply(p, a, plane);
              dst.put(p * plane, a, 0, plane);
            });
    return published(out);
  }

  /**
   * Per-thread scratch arrays, reused across calls: a 224×224×3 sample is 600 KB, which the
   * G1 collector would allocate as a humongous object on every call and every sample.
   */
  private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[14][]);

  /**
   * This thread's three plane arrays {R, G, B} of at least {@code plane} (scratch slots 11-13).
   * Separate arrays rather than one [3, H·W] array: C2 does not vectorise a loop that reads
   * one array at several offsets ({@code a[k]}, {@code a[plane + k]}), measured 3-5x slower.
   */
  static float[][] planes(int plane) {
    return new float[][] {scratch(11, plane), scratch(12, plane), scratch(13, plane)};
  }

  /** Scratch array {@code slot} of this thread with at least {@code size} elements, not cleared. */
  static float[] scratch(int slot, int size) {
    float[][] slots = SCRATCH.get();
    if (slots[slot] == null || slots[slot].length < size) {
      slots[slot] = new float[size];
    }
    return slots[slot];
  }

  /**
   * A new {@code FLOAT} C-order array of {@code shape} whose memory has not been written. Every
   * ND4J allocation zeroes its buffer on the calling thread, and a fresh page costs about 14 µs
   * to fault in on this project's machine (a 38.5 MB batch: ~130 ms of CPU); memory from a
   * JavaCPP {@link FloatPointer} is untouched until the parallel workers write their own
   * samples, so the faults are spread over them. The data buffer holds the pointer, so it is
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
