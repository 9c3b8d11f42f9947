package io.github.stablerep.models.internal;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Multi-head attention softmax(q·kᵀ·scale)·v computed by one Java kernel per (image, head)
 * instead of SameDiff's matmul, softmax, matmul and the head split and merge around them;
 * self-attention ({@link #self}) and cross-attention to a context of fixed length ({@link #cross}).
 *
 * <p>Why: in the tiny UNet at 16x16 latents the heads are 6 wide and see 256 tokens, so the three
 * graph ops write and re-read a [N, heads, 256, 256] score tensor (268 MB at N = 128) with GEMMs
 * whose inner dimension is 6; most of the time goes to memory and to GEMM set-up. The kernel keeps
 * one head's 256×256 scores in cache, vectorises every loop over the query axis (the C2 compiler
 * turns them into AVX code), and exponentiates with a polynomial (relative error below 1e-6),
 * so the scores never leave the core.
 *
 * <p>How it sits in a graph: SameDiff 1.0.0-M2.1 cannot run an op written in Java, so {@link
 * #self} and {@link #cross} emit a cheap stand-in, a slice of q out of one tensor that holds q, k
 * and v, and register a {@link Listener} on the {@code SameDiff} that overwrites the stand-in's
 * output with the attention as soon as the op has run, while its input is still alive. The graph
 * is therefore only correct with the listener attached, which the factories
 * guarantees for the graph it writes into; a graph saved to disk and loaded elsewhere would lose
 * it (the pipeline never saves its graphs). FLOAT only; the sequence layout [N, T, inner].
 * Not part of the public API (docs/ARCHITECTURE.md, "Java kernels in a SameDiff graph").
 */
public final class FusedAttention {

  /**
   * Callers use the kernel from this many queries on: its loops run along the query axis, and at
   * 64 queries (8x8 latents in the tiny UNet) the rows are too short for it to beat ND4J's ops
   * (batch 128, 8 heads: self-attention 12 against about 10 ms, cross-attention to 77 tokens 14
   * against about 13 ms; at 256 queries 61 against 117 ms and 19 against 35 ms).
   */
  public static final int MIN_KERNEL_QUERIES = 128;

  private FusedAttention() {}

  /**
   * Self-attention over {@code qkv} [N, T, 3·heads·headDim] (q, k and v side by side, each
   * head-major as diffusers' projections are): a variable [N, T, heads·headDim] whose value, once
   * the graph runs, is the attention output with heads merged.
   */
  public static SDVariable self(SameDiff sd, String name, SDVariable qkv, int heads, int headDim, double scale) {
    checkArgument(qkv.dataType() == DataType.FLOAT, "qkv: expected FLOAT, found %s", qkv.dataType());
    checkArgument(heads >= 1 && headDim >= 1, "heads, headDim: expected >= 1, found %s, %s", heads, headDim);
    int inner = heads * headDim;
    // begin and end masks on the first two axes: all of N and T, whatever they are at run time
    SDVariable standIn = sd.stridedSlice(name, qkv, new long[] {0, 0, 0}, new long[] {0, 0, inner},
        new long[] {1, 1, 1}, 0b011, 0b011, 0, 0, 0);
    kernelsOf(sd).specs.put(standIn.name(), new Spec(false, heads, headDim, 0, (float) scale));
    return standIn;
  }

  /**
   * Cross-attention of q [N, T, inner] to k and v [N, S, inner] with S = {@code contextLength}
   * known when the graph is defined: a variable like q whose value, once the graph runs, is the
   * attention output with heads merged.
   */
  public static SDVariable cross(SameDiff sd, String name, SDVariable q, SDVariable k, SDVariable v, int contextLength,
      int heads, int headDim, double scale) {
    checkArgument(q.dataType() == DataType.FLOAT, "q: expected FLOAT, found %s", q.dataType());
    checkArgument(heads >= 1 && headDim >= 1, "heads, headDim: expected >= 1, found %s, %s", heads, headDim);
    checkArgument(contextLength >= 1, "contextLength: expected >= 1, found %s", contextLength);
    SDVariable packed = sd.concat(1, q, k, v);                          // [N, T + 2S, inner]
    // all of N and the channels; tokens up to 2S before the end, i.e. the T of q
    SDVariable standIn = sd.stridedSlice(name, packed, new long[] {0, 0, 0}, new long[] {0, -2L * contextLength, 0},
        new long[] {1, 1, 1}, 0b111, 0b101, 0, 0, 0);
    kernelsOf(sd).specs.put(standIn.name(), new Spec(true, heads, headDim, contextLength, (float) scale));
    return standIn;
  }

  /** Whether {@code sd} carries the listener that completes the stand-ins (for tests and checks). */
  public static boolean installedOn(SameDiff sd) {
    return sd.getListeners() != null && sd.getListeners().stream().anyMatch(l -> l instanceof Kernels);
  }

  private static synchronized Kernels kernelsOf(SameDiff sd) {
    if (sd.getListeners() != null) {
      for (Listener l : sd.getListeners()) {
        if (l instanceof Kernels) {
          return (Kernels) l;
        }
      }
    }
    Kernels k = new Kernels();
    sd.addListeners(k);
    return k;
  }

  /**
   * Self-attention of one batch: {@code qkv} [n, t, 3·inner] and {@code out} [n, t, inner] as
   * flat row-major buffers from their positions. Public for the kernel's own tests.
   */
  public static void computeSelf(FloatBuffer qkv, FloatBuffer out, int n, int t, int heads, int headDim, float scale) {
    int inner = heads * headDim;
    compute(qkv, out, n, t, t, heads, headDim, scale, 3 * inner, 0, inner, 2 * inner, t * 3 * inner);
  }

  /**
   * Cross-attention of one batch: {@code qkv} [n, t + 2s, inner] (q's t rows, then k's s rows,
   * then v's) and {@code out} [n, t, inner] as flat row-major buffers from their positions.
   */
  public static void computeCross(FloatBuffer qkv, FloatBuffer out, int n, int t, int s, int heads, int headDim,
      float scale) {
    int inner = heads * headDim;
    compute(qkv, out, n, t, s, heads, headDim, scale, inner, 0, t * inner, (t + s) * inner, (t + 2 * s) * inner);
  }

  /**
   * Element (i, c) of head h in an image's block: q at qStart + i·stride + h·d + c, k and v
   * likewise from kStart and vStart with key index j.
   */
  private static void compute(FloatBuffer in, FloatBuffer out, int n, int t, int s, int heads, int d, float scale,
      int stride, int qStart, int kStart, int vStart, int blockLength) {
    int inner = heads * d;
    checkArgument(in.remaining() >= (long) n * blockLength && out.remaining() >= (long) n * t * inner,
        "in, out: expected %s and %s floats for n %s, t %s, s %s, inner %s, found %s and %s",
        (long) n * blockLength, (long) n * t * inner, n, t, s, inner, in.remaining(), out.remaining());
    int inBase = in.position();
    int outBase = out.position();
    IntStream.range(0, n).parallel().forEach(image -> {
      Scratch w = SCRATCH.get().fit(t, s, d, blockLength, t * inner);
      in.get(inBase + image * blockLength, w.block, 0, blockLength);
      for (int h = 0; h < heads; h++) {
        head(w, t, s, d, scale, stride, qStart + h * d, kStart + h * d, vStart + h * d, inner, h * d);
      }
      out.put(outBase + image * t * inner, w.result, 0, t * inner);
    });
  }

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  /** One thread's buffers; each row its own array, so that every inner loop indexes all arrays alike and vectorises. */
  private static final class Scratch {
    float[] block = new float[0];
    float[] result = new float[0];
    float[][] q = new float[0][];       // [headDim][t], scaled
    float[][] k = new float[0][];       // [s][headDim]
    float[][] v = new float[0][];       // [s][headDim]
    float[][] scores = new float[0][];  // [s keys][t queries]
    float[][] acc = new float[0][];     // [headDim][t]
    float[] max = new float[0];
    float[] sum = new float[0];

    Scratch fit(int t, int s, int d, int blockLength, int resultLength) {
      if (block.length < blockLength) {
        block = new float[blockLength];
      }
      if (result.length < resultLength) {
        result = new float[resultLength];
      }
      if (max.length != t || q.length != d || k.length != s) {
        q = new float[d][t];
        acc = new float[d][t];
        k = new float[s][d];
        v = new float[s][d];
        scores = new float[s][t];
        max = new float[t];
        sum = new float[t];
      }
      return this;
    }
  }

  /**
   * One head, keys along the outer loops and queries along the inner ones: scores[j][i] = k_j·q_i,
   * the per-query maximum, then per key the exponentials, their sum and the weighted values.
   */
  private static void head(Scratch s, int t, int keys, int d, float scale, int stride, int qOff, int kOff, int vOff,
      int inner, int outOff) {
    float[] block = s.block;
    for (int c = 0; c < d; c++) {
      float[] qc = s.q[c];
      for (int i = 0; i < t; i++) {
        qc[i] = block[qOff + i * stride + c] * scale;
      }
    }
    for (int j = 0; j < keys; j++) {
      float[] kj = s.k[j];
      float[] vj = s.v[j];
      for (int c = 0; c < d; c++) {
        kj[c] = block[kOff + j * stride + c];
        vj[c] = block[vOff + j * stride + c];
      }
    }
    float[] max = s.max;
    java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
    for (int j = 0; j < keys; j++) {
      float[] row = s.scores[j];
      float[] kj = s.k[j];
      float[][] q = s.q;
      int c = 0;
      if (d >= 3) {
        set3(row, q[0], kj[0], q[1], kj[1], q[2], kj[2], t);
        c = 3;
      } else {
        java.util.Arrays.fill(row, 0, t, 0f);
      }
      for (; c + 3 <= d; c += 3) {
        add3(row, q[c], kj[c], q[c + 1], kj[c + 1], q[c + 2], kj[c + 2], t);
      }
      for (; c < d; c++) {
        addScaled(row, q[c], kj[c], t);
      }
      maxInto(max, row, t);
    }
    float[] sum = s.sum;
    java.util.Arrays.fill(sum, 0f);
    for (int c = 0; c < d; c++) {
      java.util.Arrays.fill(s.acc[c], 0, t, 0f);
    }
    for (int j = 0; j < keys; j++) {
      float[] row = s.scores[j];
      expInto(row, max, sum, t);
      float[] vj = s.v[j];
      float[][] acc = s.acc;
      int c = 0;
      for (; c + 3 <= d; c += 3) {
        accumulate3(acc[c], vj[c], acc[c + 1], vj[c + 1], acc[c + 2], vj[c + 2], row, t);
      }
      for (; c < d; c++) {
        addScaled(acc[c], row, vj[c], t);
      }
    }
    float[] result = s.result;
    for (int c = 0; c < d; c++) {
      float[] ac = s.acc[c];
      for (int i = 0; i < t; i++) {
        result[i * inner + outOff + c] = ac[i] / sum[i];
      }
    }
  }

  // three terms per pass: the row is read and written once for three of the head's dimensions
  private static void set3(float[] y, float[] x0, float a0, float[] x1, float a1, float[] x2, float a2, int n) {
    for (int i = 0; i < n; i++) {
      y[i] = a0 * x0[i] + a1 * x1[i] + a2 * x2[i];
    }
  }

  private static void add3(float[] y, float[] x0, float a0, float[] x1, float a1, float[] x2, float a2, int n) {
    for (int i = 0; i < n; i++) {
      y[i] += a0 * x0[i] + a1 * x1[i] + a2 * x2[i];
    }
  }

  private static void accumulate3(float[] y0, float a0, float[] y1, float a1, float[] y2, float a2, float[] x, int n) {
    for (int i = 0; i < n; i++) {
      float xi = x[i];
      y0[i] += a0 * xi;
      y1[i] += a1 * xi;
      y2[i] += a2 * xi;
    }
  }

  private static void addScaled(float[] y, float[] x, float a, int n) {
    for (int i = 0; i < n; i++) {
      y[i] += a * x[i];
    }
  }

  private static void maxInto(float[] m, float[] x, int n) {
    for (int i = 0; i < n; i++) {
      m[i] = Math.max(m[i], x[i]);
    }
  }

  /**
   * x ← exp(x − m), sum += x. exp(y) for y in [-32, 0] as (Taylor polynomial of degree 10 at
   * y/16)^16: relative error below 1e-6 where it matters; below e^-32 (1.3e-14 of the row's
   * largest term) the value is clamped to e^-32 rather than flushed, which no softmax can see. No
   * table lookup or float-bit tricks, so the loop vectorises.
   */
  private static void expInto(float[] x, float[] m, float[] sum, int n) {
    for (int i = 0; i < n; i++) {
      float y = Math.max(x[i] - m[i], -32f) * 0.0625f;
      float p = 2.7557319e-7f;
      p = p * y + 2.7557319e-6f;
      p = p * y + 2.4801587e-5f;
      p = p * y + 1.9841270e-4f;
      p = p * y + 1.3888889e-3f;
      p = p * y + 8.3333333e-3f;
      p = p * y + 4.1666667e-2f;
      p = p * y + 1.6666667e-1f;
      p = p * y + 0.5f;
      p = p * y + 1f;
      p = p * y + 1f;
      p = p * p;
      p = p * p;
      p = p * p;
      p = p * p;
      x[i] = p;
      sum[i] += p;
    }
  }

  /** A stand-in's attention: cross-attention to {@code contextLength} tokens, or self-attention. */
  private record Spec(boolean cross, int heads, int headDim, int contextLength, float scale) {}

  /** The listener that completes every stand-in of its graph. */
  private static final class Kernels extends BaseListener {
    final Map<String, Spec> specs = new ConcurrentHashMap<>();

    @Override
    public boolean isActive(Operation operation) {
      return true;
    }

    @Override
    public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext context,
        INDArray[] outputs) {
      Spec spec = specs.get(op.getOutputsOfOp().get(0));
      if (spec == null) {
        return;
      }
      INDArray packed = context != null && context.numInputArguments() > 0 ? context.getInputArray(0)
          : op.getOp().getInputArgument(0);
      INDArray out = outputs[0];
      checkState(packed, out, spec, op.getName());
      int n = (int) out.size(0);
      int t = (int) out.size(1);
      if (spec.cross) {
        computeCross(floats(packed), floats(out), n, t, spec.contextLength, spec.heads, spec.headDim, spec.scale);
      } else {
        computeSelf(floats(packed), floats(out), n, t, spec.heads, spec.headDim, spec.scale);
      }
    }

    private static void checkState(INDArray in, INDArray out, Spec spec, String op) {
      int inner = spec.heads * spec.headDim;
      boolean inOk = in != null && in.rank() == 3 && in.dataType() == DataType.FLOAT && contiguous(in)
          && (spec.cross ? in.size(2) == inner && in.size(1) == out.size(1) + 2L * spec.contextLength
              : in.size(2) == 3L * inner && in.size(1) == out.size(1))
          && in.size(0) == out.size(0);
      boolean outOk = out.rank() == 3 && out.size(2) == inner && out.dataType() == DataType.FLOAT && contiguous(out);
      if (!inOk || !outOk) {
        String expectedIn = spec.cross ? "[N, T + " + 2 * spec.contextLength + ", " + inner + "]" : "[N, T, " + 3 * inner + "]";
        throw new IllegalStateException("fused attention " + op + ": expected a contiguous FLOAT input " + expectedIn
            + " and output [N, T, " + inner + "], found " + (in == null ? "no input" : in.shapeInfoToString())
            + " and " + out.shapeInfoToString());
      }
    }

    private static boolean contiguous(INDArray a) {
      return a.ordering() == 'c' && Shape.hasDefaultStridesForShape(a);
    }

    private static FloatBuffer floats(INDArray a) {
      FloatBuffer b = a.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
      return b.position((int) a.offset());
    }
  }
}
