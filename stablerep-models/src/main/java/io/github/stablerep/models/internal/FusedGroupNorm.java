package io.github.stablerep.models.internal;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * GroupNorm of an NCHW map, optionally followed by SiLU, as one Java kernel per (image, group):
 * {@code torch.nn.GroupNorm(groups, channels, eps)} then, with {@code silu}, x·σ(x).
 *
 * <p>Why: {@link ImageLayers#groupNorm} is ten SameDiff ops (reshapes, moments, rsqrt, the
 * affine), and SiLU one more, each a pass over the activation or a tiny op whose dispatch costs
 * more than its work; a UNet step has about thirty of them. The kernel reads each group's block
 * once into cache, takes its mean and then its centred variance (two-pass, as accurate as the
 * graph's), and writes (x − mean)·rstd·γ + β, through SiLU when asked, in one pass. The stand-in
 * is a copy of the input ({@link GraphKernels}). FLOAT only.
 */
public final class FusedGroupNorm {

  private FusedGroupNorm() {}

  /**
   * GroupNorm (and SiLU) of {@code x} [N, channels, H, W] with per-channel {@code gamma} and {@code
   * beta} (variables of the graph, [channels]).
   */
  public static SDVariable apply(SameDiff sd, String name, SDVariable x, int groups, int channels, SDVariable gamma,
      SDVariable beta, double eps, boolean silu) {
    checkArgument(x.dataType() == DataType.FLOAT, "x: expected FLOAT, found %s", x.dataType());
    checkArgument(groups > 0 && channels % groups == 0, "groups: expected a divisor of the %s channels, found %s",
        channels, groups);
    float epsilon = (float) eps;
    return GraphKernels.normalisation("group norm", name, x, gamma, beta,
        in -> in.rank() == 4 && in.size(1) == channels, "an input [N, " + channels + ", H, W]",
        (in, src, dst, g, b) -> compute(src, dst, (int) in.size(0), channels, (int) (in.size(2) * in.size(3)),
            groups, g, b, epsilon, silu));
  }

  /**
   * The kernel on flat buffers [n, channels, spatial] from their positions. Public for its tests.
   */
  public static void compute(FloatBuffer in, FloatBuffer out, int n, int channels, int spatial, int groups,
      float[] gamma, float[] beta, float eps, boolean silu) {
    int perGroup = channels / groups;
    int block = perGroup * spatial;
    checkArgument(gamma.length == channels && beta.length == channels,
        "gamma, beta: expected %s values each, found %s and %s", channels, gamma.length, beta.length);
    checkArgument(in.remaining() >= (long) n * channels * spatial && out.remaining() >= (long) n * channels * spatial,
        "in, out: expected %s floats each, found %s and %s", (long) n * channels * spatial, in.remaining(),
        out.remaining());
    int inBase = in.position();
    int outBase = out.position();
    IntStream.range(0, n * groups).parallel().forEach(task -> {
      float[][] w = SCRATCH.get();
      if (w[0].length < block) {
        w[0] = new float[block];
        w[1] = new float[block];
        w[2] = new float[block];
      }
      float[] x = w[0];
      float[] y = w[1];
      int offset = task * block;   // image task / groups, group task % groups: blocks are consecutive
      in.get(inBase + offset, x, 0, block);
      double mean = sum(x, block) / block;
      float m = (float) mean;
      double var = 0;
      for (int c = 0; c < perGroup; c++) {
        var += squaredDeviation(x, c * spatial, spatial, m);
      }
      float rstd = (float) (1.0 / Math.sqrt(var / block + eps));
      int firstChannel = (task % groups) * perGroup;
      for (int c = 0; c < perGroup; c++) {
        float scale = rstd * gamma[firstChannel + c];
        float shift = beta[firstChannel + c] - m * scale;
        affine(x, y, c * spatial, spatial, scale, shift);
      }
      if (silu) {
        silu(y, w[2], block);
      }
      out.put(outBase + offset, y, 0, block);
    });
  }

  private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {{}, {}, {}});

  /** Sixteen float lanes, so the loop vectorises; summed in double at the end. */
  private static double sum(float[] x, int n) {
    float[] lanes = new float[16];
    int i = 0;
    for (; i + 16 <= n; i += 16) {
      for (int l = 0; l < 16; l++) {
        lanes[l] += x[i + l];
      }
    }
    double s = 0;
    for (; i < n; i++) {
      s += x[i];
    }
    for (float l : lanes) {
      s += l;
    }
    return s;
  }

  private static double squaredDeviation(float[] x, int from, int n, float m) {
    float[] lanes = new float[16];
    int i = 0;
    for (; i + 16 <= n; i += 16) {
      for (int l = 0; l < 16; l++) {
        float d = x[from + i + l] - m;
        lanes[l] += d * d;
      }
    }
    double s = 0;
    for (; i < n; i++) {
      float d = x[from + i] - m;
      s += d * d;
    }
    for (float l : lanes) {
      s += l;
    }
    return s;
  }

  /** y = x·scale + shift on one channel's positions. */
  private static void affine(float[] x, float[] y, int from, int n, float scale, float shift) {
    for (int i = from; i < from + n; i++) {
      y[i] = x[i] * scale + shift;
    }
  }

  /**
   * y ← y·σ(y) with σ(y) = u/(1 + e), e = exp(−|y|), u = e for y ≤ 0 and 1 for y > 0: no
   * cancellation on either side and no branch. Two short loops, since C2 vectorises only loops
   * with small bodies.
   */
  private static void silu(float[] y, float[] e, int n) {
    for (int i = 0; i < n; i++) {
      e[i] = GraphKernels.expNonPositive(-Math.abs(y[i]));
    }
    for (int i = 0; i < n; i++) {
      float v = y[i];
      float u = e[i] + (1f - e[i]) * GraphKernels.positive(v);
      y[i] = v * u / (1f + e[i]);
    }
  }
}
