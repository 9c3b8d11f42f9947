package io.github.stablerep.models.internal;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
 * Java kernels inside a SameDiff inference graph.
 *
 * <p>SameDiff 1.0.0-M2.1 runs only ops that its native library implements. Where a chain of its
 * ops is slow (attention with narrow heads, GroupNorm with SiLU, GEGLU), the layer instead emits
 * a cheap <em>stand-in</em> op whose inputs are everything the chain needs, and {@link #complete}
 * registers a {@link Kernel} for it. A listener on the {@code SameDiff}, called by the session
 * right after each op and before that op's inputs are released, overwrites the stand-in's output
 * with the kernel's result. The graph is only correct with the listener attached: {@link
 * #complete} attaches it to the graph it is given, and a graph saved with {@code sd.save} and
 * loaded elsewhere would lose it, which is why only inference graphs that stay in this process use
 * kernels. Stand-ins have no gradient (and normalisation kernels read γ and β outside the
 * graph's edges), so the listener refuses to run while gradients are computed. See
 * docs/ARCHITECTURE.md, "Java kernels in a SameDiff graph". Not part of the public API.
 */
public final class GraphKernels {

  /** Computes a stand-in's value from the stand-in op's inputs into its freshly allocated output. */
  @FunctionalInterface
  public interface Kernel {
    void run(SameDiff sd, INDArray[] inputs, INDArray output);
  }

  private GraphKernels() {}

  /** Registers {@code kernel} for {@code standIn} in its graph, attaching the listener if needed; returns {@code standIn}. */
  public static SDVariable complete(SDVariable standIn, Kernel kernel) {
    listenerOf(standIn.getSameDiff()).kernels.put(standIn.name(), kernel);
    return standIn;
  }

  /** Whether {@code sd} carries the listener that completes stand-ins. */
  public static boolean installedOn(SameDiff sd) {
    return sd.getListeners() != null && sd.getListeners().stream().anyMatch(l -> l instanceof Completion);
  }

  /** How many stand-ins of {@code sd} have kernels. */
  public static int kernelCount(SameDiff sd) {
    if (sd.getListeners() != null) {
      for (Listener l : sd.getListeners()) {
        if (l instanceof Completion c) {
          return c.kernels.size();
        }
      }
    }
    return 0;
  }

  private static synchronized Completion listenerOf(SameDiff sd) {
    if (sd.getListeners() != null) {
      for (Listener l : sd.getListeners()) {
        if (l instanceof Completion c) {
          return c;
        }
      }
    }
    Completion c = new Completion();
    sd.addListeners(c);
    return c;
  }

  /** A normalisation's work on one input: its elements, the output's and the layer's scale and shift. */
  @FunctionalInterface
  interface NormKernel {
    void run(INDArray in, FloatBuffer src, FloatBuffer dst, float[] gamma, float[] beta);
  }

  /**
   * The stand-in of a normalisation layer (a copy of {@code x}) completed by {@code kernel}, with
   * {@code gamma} and {@code beta} read from the graph's variables at each run.
   */
  static SDVariable normalisation(String kind, String name, SDVariable x, SDVariable gamma, SDVariable beta,
      java.util.function.Predicate<INDArray> inputOk, String expectedInput, NormKernel kernel) {
    SDVariable standIn = x.mul(name, 1.0);
    String gammaName = gamma.name();
    String betaName = beta.name();
    return complete(standIn, (graph, inputs, out) -> {
      String op = kind + " " + name;
      INDArray in = inputs.length > 0 ? inputs[0] : null;
      require(in != null && inputOk.test(in), op, expectedInput, in);
      require(java.util.Arrays.equals(out.shape(), in.shape()), op,
          "an output shaped like the input " + java.util.Arrays.toString(in.shape()), out);
      kernel.run(in, floats(in, "the input", op), floats(out, "the output", op),
          graph.getArrForVarName(gammaName).castTo(DataType.FLOAT).toFloatVector(),
          graph.getArrForVarName(betaName).castTo(DataType.FLOAT).toFloatVector());
    });
  }

  /** A FLOAT array's elements as a buffer positioned at its first; it must be contiguous in C order. */
  static FloatBuffer floats(INDArray a, String what, String op) {
    if (a == null || a.dataType() != DataType.FLOAT || a.ordering() != 'c' || !Shape.hasDefaultStridesForShape(a)) {
      throw new IllegalStateException("kernel " + op + ": expected " + what + " as a contiguous FLOAT array in C"
          + " order, found " + (a == null ? "none" : a.shapeInfoToString()));
    }
    FloatBuffer b = a.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
    return b.position((int) a.offset());
  }

  /** Fails naming the op unless {@code ok}. */
  static void require(boolean ok, String op, String expected, INDArray found) {
    if (!ok) {
      throw new IllegalStateException("kernel " + op + ": expected " + expected + ", found "
          + (found == null ? "none" : found.shapeInfoToString()));
    }
  }

  /**
   * exp(y) for y ≤ 0: p(y/32)^32 with y clamped at -32, p the degree-6 Chebyshev interpolant of
   * exp on [-1, 0] (relative error 6e-8 there; coefficients from
   * tools/reference/exp_polynomial.py). The five squarings amplify float rounding: measured
   * against StrictMath.exp, the relative error is below 3.3e-6 on [-8, 0] and below 1e-5 down to
   * -32, where the values are under 1e-10 of a softmax row's largest term. Below -32 the value
   * stays e^-32 (1.3e-14), which no softmax, sigmoid or erf downstream can see. Only
   * multiplications, additions and max, so a loop that calls it vectorises (C2 inlines it); no
   * float-bit tricks, which C2 does not vectorise.
   */
  static float expNonPositive(float y) {
    float x = Math.max(y, -32f) * 0.03125f;
    float p = 8.490078616887331e-4f;
    p = p * x + 7.654325105249882e-3f;
    p = p * x + 4.122331738471985e-2f;
    p = p * x + 1.6651517152786255e-1f;
    p = p * x + 4.999750852584839e-1f;
    p = p * x + 9.999984502792358e-1f;
    p = p * x + 1f;
    p = p * p;
    p = p * p;
    p = p * p;
    p = p * p;
    return p * p;
  }

  /**
   * 1 for y > 0, 0 for y ≤ 0 (and y·10^30 in between for |y| < 10^-30, where every caller's
   * result is the same either way): a select without a branch, which C2 would not vectorise.
   */
  static float positive(float y) {
    return Math.min(1f, Math.max(0f, y * 1e30f));
  }

  /** The listener: one per graph, a map from stand-in output name to kernel. */
  private static final class Completion extends BaseListener {
    final Map<String, Kernel> kernels = new ConcurrentHashMap<>();

    @Override
    public boolean isActive(Operation operation) {
      return true;
    }

    @Override
    public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext context,
        INDArray[] outputs) {
      Kernel kernel = kernels.get(op.getOutputsOfOp().get(0));
      if (kernel == null) {
        return;
      }
      if (at != null && at.operation() == Operation.TRAINING) {
        throw new IllegalStateException("kernel " + op.getName() + ": a graph with Java kernels is for inference;"
            + " its stand-ins have no gradient (define the model with define(...) to train it)");
      }
      if (context == null || context.numInputArguments() == 0) {
        throw new IllegalStateException("kernel " + op.getName() + ": the session gave the listener no op context,"
            + " so the stand-in's inputs are out of reach (SameDiff changed how it calls listeners)");
      }
      kernel.run(sd, context.getInputArrays().toArray(new INDArray[0]), outputs[0]);
    }
  }
}
