package io.github.stablerep.models.internal;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * diffusers' GEGLU gating, value·GELU(gate) with the exact GELU 0.5·g·(1 + erf(g/√2)), as one
 * Java kernel: the graph's version is six ops (scale, erf, add, two products and the gating
 * product), each a pass over [N·T, hidden]. The stand-in is value·gate ({@link GraphKernels}).
 *
 * <p>erf is Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7) with the exponential of
 * {@link GraphKernels#expNonPositive}; for negative g the term 1 + erf is computed as the
 * polynomial times the exponential directly, never as 1 − (something close to 1), so GELU's small
 * negative tail keeps its relative accuracy. FLOAT only.
 */
public final class FusedGeglu {

  private static final float P = 0.3275911f;
  private static final float A1 = 0.254829592f;
  private static final float A2 = -0.284496736f;
  private static final float A3 = 1.421413741f;
  private static final float A4 = -1.453152027f;
  private static final float A5 = 1.061405429f;
  private static final float INV_SQRT2 = (float) (1.0 / Math.sqrt(2.0));
  private static final int CHUNK = 4096;

  private FusedGeglu() {}

  /** value·GELU(gate) for two variables of one shape. */
  public static SDVariable apply(String name, SDVariable value, SDVariable gate) {
    SDVariable standIn = value.mul(name, gate);
    return GraphKernels.complete(standIn, (graph, inputs, out) -> {
      String op = "GEGLU " + name;
      GraphKernels.require(inputs.length == 2 && inputs[0] != null && inputs[1] != null
          && java.util.Arrays.equals(inputs[0].shape(), inputs[1].shape())
          && java.util.Arrays.equals(inputs[0].shape(), out.shape()), op,
          "value, gate and output of one shape", inputs.length > 1 ? inputs[1] : null);
      compute(GraphKernels.floats(inputs[0], "the value", op), GraphKernels.floats(inputs[1], "the gate", op),
          GraphKernels.floats(out, "the output", op), (int) out.length());
    });
  }

  /** The kernel on flat buffers from their positions, {@code n} elements. Public for its tests. */
  public static void compute(FloatBuffer value, FloatBuffer gate, FloatBuffer out, int n) {
    if (value.remaining() < n || gate.remaining() < n || out.remaining() < n) {
      throw new IllegalArgumentException("value, gate, out: expected " + n + " floats each, found "
          + value.remaining() + ", " + gate.remaining() + " and " + out.remaining());
    }
    int vBase = value.position();
    int gBase = gate.position();
    int oBase = out.position();
    int chunks = (n + CHUNK - 1) / CHUNK;
    IntStream.range(0, chunks).parallel().forEach(chunk -> {
      float[][] w = SCRATCH.get();
      int from = chunk * CHUNK;
      int len = Math.min(CHUNK, n - from);
      value.get(vBase + from, w[0], 0, len);
      gate.get(gBase + from, w[1], 0, len);
      geglu(w[0], w[1], w[2], w[3], len);
      out.put(oBase + from, w[2], 0, len);
    });
  }

  private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(
      () -> new float[][] {new float[CHUNK], new float[CHUNK], new float[CHUNK], new float[CHUNK]});

  // Three short loops rather than one: C2 unrolls, and so vectorises, only loops with small bodies.
  private static void geglu(float[] v, float[] g, float[] y, float[] q, int n) {
    for (int i = 0; i < n; i++) {
      float z = Math.abs(g[i]) * INV_SQRT2;
      float t = 1f / (1f + P * z);
      q[i] = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t;
    }
    for (int i = 0; i < n; i++) {
      float z = g[i] * INV_SQRT2;
      q[i] *= GraphKernels.expNonPositive(-z * z);                    // 1 − erf(|g|/√2)
    }
    for (int i = 0; i < n; i++) {
      float x = g[i];
      float onePlusErf = q[i] + GraphKernels.positive(x) * (2f - 2f * q[i]);   // 1 + erf(g/√2)
      y[i] = v[i] * 0.5f * x * onePlusErf;
    }
  }
}
