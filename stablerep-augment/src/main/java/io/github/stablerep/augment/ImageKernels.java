package io.github.stablerep.augment;

import io.github.stablerep.augment.Scratch.Buffer;
import io.github.stablerep.augment.Scratch.Grid;
import java.util.Arrays;

/**
 * The float-array kernels behind {@link ImageOps}'s batch functions and
 * {@link SimClrAugmentation#apply}'s fused pipeline: each transforms one plane, or one sample's
 * three channel planes, in place (the resampling writes into a given array). They do not
 * validate (their callers do) and allocate nothing per pixel: temporaries are this thread's
 * {@link Scratch} buffers. Both callers run these same kernels in the same order, which is why
 * the fused pipeline equals the composed batch functions bit for bit.
 *
 * <p>The loops are written for C2's auto-vectorisation (Java 17, no incubator modules): each is
 * a short body of arithmetic and {@code Math.min/max} over arrays indexed from 0, a sample's
 * three channels are separate arrays, and passes along the contiguous axis run on transposed
 * planes. Loops with conditional expressions, a gather, or one array read at several offsets
 * stay scalar (benchmarks/README.md, "Augmentation", has the measurements).
 */
final class ImageKernels {

  /** ITU-R 601-2 luma weights, as torchvision's {@code rgb_to_grayscale} (float32). */
  static final float LUMA_R = 0.2989f;

  static final float LUMA_G = 0.587f;
  static final float LUMA_B = 0.114f;

  /**
   * One plane of {@link ImageOps#resizedCrop}: the crop of {@code src} (row length
   * {@code srcW}, from {@code srcOff}) resampled into {@code dst[dstOff ..]} of
   * {@code rows.out × cols.out}. Every pass is a whole-row update over arrays starting at index
   * 0, the form C2 vectorises (a per-output gather along a row runs scalar, slower than this
   * whole function): the vertical pass on the crop's rows, then the horizontal one on the transposed
   * result, which is transposed back. Per output the taps are summed in order from 0.
   */
  static void cropResizePlane(float[] src, int srcOff, int srcW, int top, int left, int height,
      Filter rows, Filter cols, float[] dst, int dstOff) {
    int outH = rows.start.length;
    int outW = cols.start.length;
    int width = cols.in;
    float[][] crop = Scratch.grid(Grid.FIRST_PASS_IN, height, width);
    for (int r = 0; r < height; r++) {
      System.arraycopy(src, srcOff + (top + r) * srcW + left, crop[r], 0, width);
    }
    float[][] v = Scratch.grid(Grid.FIRST_PASS_OUT, outH, width);
    for (int o = 0; o < outH; o++) {
      taps(v[o], crop, rows.start[o], rows.weight[o], width);
    }
    float[][] vt = Scratch.grid(Grid.TRANSPOSED, width, outH); // v transposed: vt[c][o]
    transpose(v, outH, width, vt);
    float[][] ht = Scratch.grid(Grid.SECOND_PASS_OUT, outW, outH); // the output transposed
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

  static void contrast(float[] r, float[] g, float[] b, int plane, double factor) {
    // The mean in double: torch sums float32 pairwise, so both are within ~1e-7 of exact.
    // Four partial sums: one chain of dependent double additions would take four times as long.
    float[] y = Scratch.buffer(Buffer.GRAY, plane);
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

  static void saturation(float[] r, float[] g, float[] b, int plane, double factor) {
    float f = (float) factor;
    float q = (float) (1.0 - factor);
    float[] y = Scratch.buffer(Buffer.GRAY, plane);
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
   * The hue rotation in the hexcone's closed form instead of torchvision's table: with
   * {@code c = max − min} and the hue {@code H} in sextants ({@code [0, 6)}), each output channel
   * is {@code max − c·clamp(min(k, 4 − k), 0, 1)}, {@code k = (n + H) mod 6}, n = 5, 3, 1 for R,
   * G, B. That is the same function ({@code v·(1 − s) = min}, {@code v·s = c}; the table's
   * p, q, t are never outside [0, 1] for inputs in [0, 1]), with no division by {@code max}, and
   * every step is a {@code min}, {@code max} or arithmetic over whole planes, which C2
   * vectorises; the per-pixel form with its data-dependent selections runs scalar, several
   * times slower. Two rewrites make it branch-free:
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
    float[] mx = Scratch.buffer(Buffer.HUE_MAX, plane);
    float[] cr = Scratch.buffer(Buffer.HUE_CHROMA, plane);
    float[] inv = Scratch.buffer(Buffer.HUE_INVERSE_CHROMA, plane);
    float[] h = Scratch.buffer(Buffer.HUE_SEXTANT, plane);
    float[] rest = Scratch.buffer(Buffer.HUE_REST, plane);
    float[] t = Scratch.buffer(Buffer.HUE_TERM, plane);
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
   * Blurs the plane {@code a[off, off + h·w)} in place, rows then columns. Both passes compute
   * whole rows at a time, {@code out = k_0·x_0 + Σ_d k_d·(x_{−d} + x_{+d})} over arrays that
   * start at index 0 (the form C2 vectorises; with offsets into one flat array it cannot rule out
   * aliasing and runs scalar), three tap pairs per sweep so each output row is loaded and stored once
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
    float[][] cols = Scratch.grid(Grid.FIRST_PASS_IN, w, h); // the plane transposed: cols[c][r]
    float[][] blurredCols = Scratch.grid(Grid.FIRST_PASS_OUT, w, h);
    float[][] rowsOut = Scratch.grid(Grid.TRANSPOSED, h, w);
    transpose(a, off, h, w, cols);
    for (int c = 0; c < w; c++) {
      symmetricTaps(blurredCols[c], cols, rowIdx, c + half, kern, pairs, h);
    }
    transpose(blurredCols, w, h, rowsOut);
    float[] acc = Scratch.buffer(Buffer.BLUR_ROW, w);
    for (int r = 0; r < h; r++) {
      symmetricTaps(acc, rowsOut, colIdx, r + half, kern, pairs, w);
      System.arraycopy(acc, 0, a, off + r * w, w);
    }
  }

  /**
   * {@code cols[c][r] = a[off + r·w + c]}, eight columns per sweep: the eight destination
   * arrays stay in registers, which makes it markedly faster than the plain double loop.
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

  static void solarize(float[] a, int off, int len, double threshold) {
    float t = (float) threshold;
    for (int k = off; k < off + len; k++) {
      if (a[k] >= t) {
        a[k] = 1f - a[k];
      }
    }
  }

  static void normalize(float[] a, int off, int len, double mean, double std) {
    float m = (float) mean;
    float s = (float) std;
    for (int k = off; k < off + len; k++) {
      a[k] = (a[k] - m) / s;
    }
  }

  // ---------------------------------------------------------------- shared helpers

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
  }

  private ImageKernels() {}
}
