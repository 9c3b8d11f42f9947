package io.github.stablerep.augment;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bicubic resizing of a whole batch {@code [N, C, H, W]}, as torchvision 0.14's tensor
 * {@code resize(x, [outH, outW], interpolation=BICUBIC, antialias=...)}, which calls ATen's
 * {@code _upsample_bicubic2d_aa} ({@code antialias=true}) or {@code upsample_bicubic2d} with
 * {@code align_corners=False} ({@code antialias=false}).
 *
 * <p>Both are separable: each output pixel along an axis of input length {@code in} and output
 * length {@code out} is a weighted sum of input pixels, with {@code s = in / out} computed in
 * float32 as ATen does for float inputs.
 *
 * <ul>
 *   <li><b>Antialiased</b> (PIL's filter): cubic kernel with {@code a = −0.5}, centre
 *       {@code c = s·(o + 0.5)}, support {@code 2·max(s, 1)}, taps {@code j ∈ [⌊c − support +
 *       0.5⌋, ⌊c + support + 0.5⌋) ∩ [0, in)}, weight {@code k((j − c + 0.5) / max(s, 1))},
 *       normalised to sum 1 per output pixel. Downscaling widens the kernel by {@code s}.
 *   <li><b>Plain</b> (Keys' cubic convolution, {@code a = −0.75}): source position
 *       {@code t = s·(o + 0.5) − 0.5}, four taps {@code ⌊t⌋ − 1 … ⌊t⌋ + 2} with indices clamped to
 *       {@code [0, in − 1]} (edge replication); not normalised, and downscaling aliases.
 * </ul>
 *
 * <p>Outputs are <b>not clamped</b>: the cubic kernel's negative lobes overshoot, so values
 * slightly outside [0, 1] appear next to sharp edges. torchvision clamps only uint8 tensors, so a
 * float pipeline (resize, then normalize) sees the overshoot too.
 *
 * <p>The width pass runs first, then the height pass, each accumulating in float32 in tap order,
 * as ATen's CPU kernels; inputs of any floating-point type are computed and returned as
 * {@code FLOAT}. The batch is parallel over sample-channel planes on the common fork-join pool.
 */
public final class BicubicResize {

  private BicubicResize() {}

  /**
   * Resizes every plane of {@code x} {@code [N, C, H, W]} to {@code outH × outW}; returns a new
   * {@code FLOAT [N, C, outH, outW]} array, {@code x} is not modified.
   */
  public static INDArray resize(INDArray x, int outH, int outW, boolean antialias) {
    if (x == null) {
      throw new NullPointerException("x: expected an array [N, C, H, W], found null");
    }
    long[] s = x.shape();
    if (x.rank() != 4) {
      throw new IllegalArgumentException(
          "x: expected a batch [N, C, H, W], found shape " + Arrays.toString(s));
    }
    if (!x.dataType().isFPType()) {
      throw new IllegalArgumentException(
          "x: expected a floating-point array, found " + x.dataType());
    }
    if (s[0] < 1 || s[1] < 1 || s[2] < 1 || s[3] < 1 || x.length() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "x: expected a non-empty batch of fewer than 2^31 values, found shape "
              + Arrays.toString(s));
    }
    if (outH < 1 || outW < 1) {
      throw new IllegalArgumentException(
          "outH/outW: expected a positive output size, found " + outH + "x" + outW);
    }
    if ((long) s[0] * s[1] * outH * outW > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "outH/outW: expected an output of fewer than 2^31 values, found " + s[0] + "x" + s[1]
              + "x" + outH + "x" + outW);
    }
    int planes = (int) (s[0] * s[1]);
    int h = (int) s[2];
    int w = (int) s[3];
    INDArray flat = x.dataType() == DataType.FLOAT ? x : x.castTo(DataType.FLOAT);
    if (flat.isView() || flat.ordering() != 'c' || flat.offset() != 0) {
      flat = flat.dup('c');
    }
    Nd4j.getAffinityManager().ensureLocation(flat, AffinityManager.Location.HOST);
    FloatBuffer src = flat.data().asNioFloat().asReadOnlyBuffer();
    Taps cols = antialias ? Taps.antialiased(w, outW) : Taps.cubic(w, outW);
    Taps rows = antialias ? Taps.antialiased(h, outH) : Taps.cubic(h, outH);

    INDArray out = Nd4j.createUninitialized(DataType.FLOAT, s[0], s[1], outH, outW);
    FloatBuffer dst = out.data().asNioFloat();
    int inPlane = h * w;
    int outPlane = outH * outW;
    IntStream.range(0, planes)
        .parallel()
        .forEach(
            p -> {
              float[] plane = new float[inPlane];
              float[] tmp = new float[h * outW];
              float[] res = new float[outPlane];
              src.get(p * inPlane, plane, 0, inPlane);
              for (int r = 0; r < h; r++) {
                cols.apply(plane, r * w, 1, tmp, r * outW, 1);
              }
              for (int o = 0; o < outW; o++) {
                rows.apply(tmp, o, outW, res, o, outW);
              }
              dst.put(p * outPlane, res, 0, outPlane);
            });
    Nd4j.getAffinityManager().tagLocation(out, AffinityManager.Location.HOST);
    return out;
  }

  /** Tap indices and weights along one axis: output o reads {@code index[o][j]}, weight {@code weight[o][j]}. */
  static final class Taps {
    final int[][] index;
    final float[][] weight;

    private Taps(int out) {
      index = new int[out][];
      weight = new float[out][];
    }

    /** ATen's {@code _compute_indices_weights_aa} for the bicubic filter, in float32. */
    static Taps antialiased(int in, int out) {
      Taps t = new Taps(out);
      float scale = (float) in / out;
      float support = (float) (2.0 * (scale >= 1f ? scale : 1f));
      float invScale = scale >= 1f ? (float) (1.0 / scale) : 1f;
      for (int o = 0; o < out; o++) {
        float center = (float) (scale * (o + 0.5));
        int lo = Math.max((int) (center - support + 0.5), 0);
        int hi = Math.min((int) (center + support + 0.5), in);
        int n = Math.max(hi - lo, 0);
        float[] w = new float[n];
        int[] idx = new int[n];
        float total = 0f;
        for (int j = 0; j < n; j++) {
          w[j] = cubicAa((float) ((j + lo - center + 0.5) * invScale));
          idx[j] = lo + j;
          total += w[j];
        }
        if (total != 0f) {
          for (int j = 0; j < n; j++) {
            w[j] /= total;
          }
        }
        t.index[o] = idx;
        t.weight[o] = w;
      }
      return t;
    }

    /** ATen's {@code compute_indices_weights_cubic} with {@code align_corners=False}. */
    static Taps cubic(int in, int out) {
      Taps t = new Taps(out);
      float scale = (float) in / out;
      for (int o = 0; o < out; o++) {
        // As ATen: the source position rounded once from double, and the far tap's argument
        // formed as (1 − t) + 1 rather than 2 − t (they round differently in float32).
        float real = (float) (scale * (o + 0.5) - 0.5);
        int base = (int) Math.floor(real);
        float frac = real - base;
        float near = 1f - frac;
        float a = -0.75f;
        float[] w = {
          cubic2((float) (frac + 1.0), a), cubic1(frac, a), cubic1(near, a),
          cubic2((float) (near + 1.0), a)
        };
        int[] idx = new int[4];
        for (int j = 0; j < 4; j++) {
          idx[j] = Math.max(Math.min(base - 1 + j, in - 1), 0);
        }
        t.index[o] = idx;
        t.weight[o] = w;
      }
      return t;
    }

    /** dst[dOff + o·dStride] = Σ_j w_oj · src[sOff + index_oj·sStride], accumulated in tap order. */
    void apply(float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride) {
      for (int o = 0; o < index.length; o++) {
        int[] idx = index[o];
        float[] w = weight[o];
        float acc = 0f;
        for (int j = 0; j < idx.length; j++) {
          float v = src[sOff + idx[j] * sStride] * w[j];
          acc = j == 0 ? v : acc + v;
        }
        dst[dOff + o * dStride] = acc;
      }
    }
  }

  /** PIL's bicubic filter (a = −0.5), the one ATen's antialiased path uses. */
  static float cubicAa(float x) {
    final float a = -0.5f;
    if (x < 0f) {
      x = -x;
    }
    if (x < 1f) {
      return ((a + 2f) * x - (a + 3f)) * x * x + 1f;
    }
    if (x < 2f) {
      return (((x - 5f) * x + 8f) * x - 4f) * a;
    }
    return 0f;
  }

  /** Keys' cubic for |x| ≤ 1. */
  private static float cubic1(float x, float a) {
    return ((a + 2f) * x - (a + 3f)) * x * x + 1f;
  }

  /** Keys' cubic for 1 < |x| < 2. */
  private static float cubic2(float x, float a) {
    return ((a * x - 5f * a) * x + 8f * a) * x - 4f * a;
  }
}
