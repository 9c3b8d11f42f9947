package io.github.stablerep.models.internal;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * LayerNorm over the last axis ({@code torch.nn.LayerNorm(width, eps)}) as one Java kernel: the
 * graph's {@link GraphLayers#layerNorm} is ten ops on a matrix, plus two reshapes around it for a
 * sequence [N, T, width]; the kernel works on any rank, a row at a time (mean, then the centred
 * variance, two-pass as the graph's). The stand-in is a copy of the input ({@link GraphKernels}).
 * FLOAT only.
 */
public final class FusedLayerNorm {

  private static final int ROWS_PER_TASK = 256;

  private FusedLayerNorm() {}

  /** LayerNorm of {@code x} [..., width] with {@code gamma} and {@code beta} (variables of the graph, [width]). */
  public static SDVariable apply(String name, SDVariable x, int width, SDVariable gamma, SDVariable beta, double eps) {
    checkArgument(x.dataType() == DataType.FLOAT, "x: expected FLOAT, found %s", x.dataType());
    checkArgument(width >= 1, "width: expected >= 1, found %s", width);
    float epsilon = (float) eps;
    return GraphKernels.normalisation("layer norm", name, x, gamma, beta,
        in -> in.rank() >= 1 && in.size(in.rank() - 1) == width, "an input [..., " + width + "]",
        (in, src, dst, g, b) -> compute(src, dst, (int) (in.length() / width), width, g, b, epsilon));
  }

  /** The kernel on flat buffers [rows, width] from their positions. Public for its tests. */
  public static void compute(FloatBuffer in, FloatBuffer out, int rows, int width, float[] gamma, float[] beta,
      float eps) {
    checkArgument(gamma.length == width && beta.length == width,
        "gamma, beta: expected %s values each, found %s and %s", width, gamma.length, beta.length);
    checkArgument(in.remaining() >= (long) rows * width && out.remaining() >= (long) rows * width,
        "in, out: expected %s floats each, found %s and %s", (long) rows * width, in.remaining(), out.remaining());
    int inBase = in.position();
    int outBase = out.position();
    int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    IntStream.range(0, tasks).parallel().forEach(task -> {
      int first = task * ROWS_PER_TASK;
      int count = Math.min(ROWS_PER_TASK, rows - first);
      int length = count * width;
      float[][] w = SCRATCH.get();
      if (w[0].length < length) {
        w[0] = new float[length];
        w[1] = new float[length];
      }
      float[] x = w[0];
      float[] y = w[1];
      in.get(inBase + first * width, x, 0, length);
      for (int r = 0; r < count; r++) {
        row(x, y, r * width, width, gamma, beta, eps);
      }
      out.put(outBase + first * width, y, 0, length);
    });
  }

  private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {{}, {}});

  private static void row(float[] x, float[] y, int from, int width, float[] gamma, float[] beta, float eps) {
    float sum = 0f;
    for (int i = 0; i < width; i++) {
      sum += x[from + i];
    }
    float mean = sum / width;
    float squares = 0f;
    for (int i = 0; i < width; i++) {
      float d = x[from + i] - mean;
      squares += d * d;
    }
    float rstd = (float) (1.0 / Math.sqrt(squares / width + eps));
    for (int i = 0; i < width; i++) {
      y[from + i] = (x[from + i] - mean) * rstd * gamma[i] + beta[i];
    }
  }
}
