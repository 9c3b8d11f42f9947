package io.github.stablerep.models.internal;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Multi-head attention softmax(q·kᵀ·scale)·v computed by one Java kernel per (image, head)
 * instead of SameDiff's matmul, softmax, matmul and the head split and merge around them;
 * self-attention ({@link #self}) and cross-attention to a context of fixed length ({@link #cross}).
 *
 * <p>Why: in the tiny UNet at 16x16 latents the heads are 6 wide and see 256 tokens, so the three
 * graph ops write and re-read a [N, heads, 256, 256] score tensor (268 MB at N = 128) with GEMMs
 * whose inner dimension is 6; most of the time goes to memory and to GEMM set-up. The kernel keeps
 * one head's 256×256 scores in cache, vectorises every loop over the query axis (the C2 compiler
 * turns them into AVX code), and exponentiates with a polynomial ({@link
 * GraphKernels#expNonPositive}), so the scores never leave the core.
 *
 * <p>How it sits in a graph ({@link GraphKernels}): {@link #self} and {@link #cross} emit a cheap
 * stand-in, a slice of q out of one tensor that holds q, k and v, whose output the kernel
 * overwrites. FLOAT only; the sequence layout [N, T, inner].
 * Not part of the public API (docs/ARCHITECTURE.md, "Java kernels in a SameDiff graph").
 */
public final class FusedAttention {

  /**
   * Callers use the kernel from this many queries on: its loops run along the query axis, and at
   * 64 queries (8x8 latents in the tiny UNet) the rows are too short for it to beat ND4J's ops
   * (batch 128, 8 heads: self-attention 12 against about 10 ms, cross-attention to 77 tokens 14
   * against about 13 ms; at 256 queries 52 against 114 ms and 17 against 35 ms).
   */
  public static final int MIN_KERNEL_QUERIES = 128;

  /**
   * Callers use the kernel only for heads at most this wide: with narrow heads ND4J's matrix
   * products have a tiny inner dimension and lose, with wide ones they win (self-attention, 8
   * heads, 2 threads: at 256 queries width 16 26 against 45 ms, width 40 28 against 30 ms; at
   * 1024 queries width 6 86 against 174 ms, width 16 187 against 185 ms, width 80 92 against 50
   * ms; at 4096 queries width 6 257 against 351 ms, width 40 880 against 520 ms). SD v1.5's heads
   * (40 to 160 wide) therefore keep ND4J's ops.
   */
  public static final int MAX_KERNEL_HEAD_DIM = 16;

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
    return GraphKernels.complete(standIn, new Spec(false, heads, headDim, 0, (float) scale));
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
    for (SDVariable kv : new SDVariable[] {k, v}) {
      long[] shape = kv.getShape();
      checkArgument(shape == null || shape.length != 3 || shape[1] < 0 || shape[1] == contextLength,
          "%s: expected %s context tokens (contextLength), found shape %s", kv.name(), contextLength,
          java.util.Arrays.toString(shape));
    }
    SDVariable packed = sd.concat(1, q, k, v);                          // [N, T + 2S, inner]
    // all of N and the channels; tokens up to 2S before the end, i.e. the T of q
    SDVariable standIn = sd.stridedSlice(name, packed, new long[] {0, 0, 0}, new long[] {0, -2L * contextLength, 0},
        new long[] {1, 1, 1}, 0b111, 0b101, 0, 0, 0);
    return GraphKernels.complete(standIn, new Spec(true, heads, headDim, contextLength, (float) scale));
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
      // grow only: a UNet alternates self-attention (s = t) and cross-attention (s = 77) layers
      int width = q.length == 0 ? 0 : q[0].length;
      int depth = k.length == 0 ? 0 : k[0].length;
      if (width < t || q.length < d || k.length < s || depth < d) {
        int tt = Math.max(t, width);
        int dd = Math.max(d, q.length);
        int ss = Math.max(s, k.length);
        q = new float[dd][tt];
        acc = new float[dd][tt];
        k = new float[ss][dd];
        v = new float[ss][dd];
        scores = new float[ss][tt];
        max = new float[tt];
        sum = new float[tt];
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
    java.util.Arrays.fill(max, 0, t, Float.NEGATIVE_INFINITY);
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
    java.util.Arrays.fill(sum, 0, t, 0f);
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

  /** x ← exp(x − m), sum += x. */
  private static void expInto(float[] x, float[] m, float[] sum, int n) {
    for (int i = 0; i < n; i++) {
      float p = GraphKernels.expNonPositive(x[i] - m[i]);
      x[i] = p;
      sum[i] += p;
    }
  }

  /** A stand-in's attention: cross-attention to {@code contextLength} tokens, or self-attention. */
  private record Spec(boolean cross, int heads, int headDim, int contextLength, float scale)
      implements GraphKernels.Kernel {

    @Override
    public void run(SameDiff sd, INDArray[] inputs, INDArray out) {
      String op = "attention";
      INDArray packed = inputs.length > 0 ? inputs[0] : null;
      int inner = heads * headDim;
      GraphKernels.require(out.rank() == 3 && out.size(2) == inner, op, "an output [N, T, " + inner + "]", out);
      GraphKernels.require(packed != null && packed.rank() == 3 && packed.size(0) == out.size(0)
              && (cross ? packed.size(2) == inner && packed.size(1) == out.size(1) + 2L * contextLength
                  : packed.size(2) == 3L * inner && packed.size(1) == out.size(1)), op,
          cross ? "an input [N, T + " + 2 * contextLength + ", " + inner + "]" : "an input [N, T, " + 3 * inner + "]",
          packed);
      FloatBuffer in = GraphKernels.floats(packed, "the packed q, k and v", op);
      FloatBuffer dst = GraphKernels.floats(out, "the output", op);
      int n = (int) out.size(0);
      int t = (int) out.size(1);
      if (cross) {
        computeCross(in, dst, n, t, contextLength, heads, headDim, scale);
      } else {
        computeSelf(in, dst, n, t, heads, headDim, scale);
      }
    }
  }
}
