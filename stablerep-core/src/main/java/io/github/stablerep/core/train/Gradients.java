package io.github.stablerep.core.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import io.github.stablerep.core.internal.LeanBiasAdd;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code sd.calculateGradients} without its memory blow-up: the same gradients, computed so that
 * SameDiff frees and reuses each intermediate array once its last consumer has run.
 *
 * <p>Why: in ND4J 1.0.0-M2.1, {@code SameDiff.calculateGradientsAndOutputs} switches the
 * gradient function's array cache off ({@code gradFn.setEnableCache(false)}) before every call.
 * {@code InferenceSession} releases an array only when the cache is on, so with it off every
 * activation and every backward temporary of the step stays allocated until the garbage
 * collector happens to finalise its Java object. For ViT-B/16 at batch 16 that is more than 20
 * GB; each fresh multi-megabyte allocation is also page-faulted in again, which is where half
 * of a training step's CPU time went (benchmarks/README.md). Running the same gradient function
 * with the cache on lets the session release a finished array to its memory manager, here a
 * {@link ReusingMemoryManager}, which hands it out again for the next array of the same length.
 *
 * <p>The gradients are bit-for-bit those of {@code sd.calculateGradients} (tested over repeated
 * calls, where the cache is warm), except a {@code biasAdd}'s bias gradient when this class built
 * the gradient function: it is summed as a matrix product (see {@link
 * #createGradientFunction}), which changes the summation order only. Listeners set on {@code sd}
 * are passed on as SameDiff does; they see the step as an inference operation.
 */
final class Gradients {

  /**
   * System property that turns the {@link LeanBiasAdd} substitution off when set to {@code
   * false}: SameDiff's own {@code biasadd_bp} is then used, bit for bit {@code
   * sd.calculateGradients}' gradients.
   */
  static final String LEAN_BIAS_ADD_PROPERTY = "stablerep.gradients.leanBiasAdd";

  private Gradients() {}

  /**
   * The gradients of {@code sd}'s loss variables with respect to {@code variables}, keyed by
   * variable name; a variable that does not influence the loss has no entry, as in {@code
   * sd.calculateGradients}.
   *
   * @param placeholders the placeholder values of this batch
   * @throws IllegalArgumentException if a name is not a variable of {@code sd}
   */
  static Map<String, INDArray> calculate(
      SameDiff sd, Map<String, INDArray> placeholders, Collection<String> variables) {
    return calculateWithOutputs(sd, placeholders, variables, List.of()).gradients();
  }

  /**
   * {@link #calculate} plus forward values of the same pass, e.g. the loss and a BatchNorm
   * head's batch statistics: the gradient function computes them anyway, so a training loop
   * needs no second forward pass (which would also cost a second drop-path draw to keep equal).
   *
   * @param outputs names of variables of {@code sd} whose values this step should return
   * @throws IllegalArgumentException if a name is not a variable of {@code sd}
   */
  static Step calculateWithOutputs(SameDiff sd, Map<String, INDArray> placeholders,
      Collection<String> variables, Collection<String> outputs) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(variables != null && !variables.isEmpty(), "variables: expected at least one name, found %s", variables);
    checkArgument(outputs != null, "outputs: expected a collection of names (possibly empty), found null");
    createGradientFunction(sd);
    List<String> requested = new ArrayList<>();
    Map<String, String> variableOf = new HashMap<>();
    for (String v : variables) {
      checkArgument(sd.hasVariable(v), "variables: expected names of variables in sd, found '%s'", v);
      SDVariable grad = sd.getVariable(v).getGradient();
      if (grad != null) {
        requested.add(grad.name());
        variableOf.put(grad.name(), v);
      }
    }
    for (String o : outputs) {
      checkArgument(sd.hasVariable(o), "outputs: expected names of variables in sd, found '%s'", o);
      requested.add(o);
    }
    Map<String, INDArray> gradients = new HashMap<>();
    Map<String, INDArray> values = new HashMap<>();
    if (requested.isEmpty()) {
      return new Step(gradients, values);
    }
    SameDiff gradFn = sd.getFunction("grad");
    gradFn.setEnableCache(true);
    ReusingMemoryManager.installOn(gradFn);
    gradFn.setListeners(sd.getListeners());
    Map<String, INDArray> all = gradFn.output(placeholders, requested.toArray(new String[0]));
    for (Map.Entry<String, INDArray> e : all.entrySet()) {
      String variable = variableOf.get(e.getKey());
      if (variable != null) {
        gradients.put(variable, e.getValue());
      }
    }
    for (String o : outputs) {
      values.put(o, all.get(o));
    }
    return new Step(gradients, values);
  }

  /**
   * Hands a step's arrays (typically its gradients, once the optimiser has applied them) back to
   * the memory of {@code sd}'s gradient function on this thread, so that the next step reuses
   * them instead of allocating and page-faulting a parameter-sized set of buffers each step; the
   * garbage collector would otherwise free them at some later point. Without it memory grows by
   * one set of gradients per step until a GC runs (344 MB per step for ViT-B/16).
   *
   * <p>The caller must not touch the arrays, or views of them, afterwards: their buffers become
   * the next step's outputs. Views themselves are left alone. Does nothing if
   * {@code sd} has no gradient function or this thread has not computed gradients with it.
   */
  static void recycle(SameDiff sd, Collection<INDArray> arrays) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(arrays != null, "arrays: expected a collection of arrays, found null");
    SameDiff gradFn = sd.hasGradientFunction() ? sd.getFunction("grad") : null;
    InferenceSession session = gradFn == null ? null : gradFn.getSessions().get(Thread.currentThread().getId());
    if (session == null || !(session.getMmgr() instanceof ReusingMemoryManager memory)) {
      return;
    }
    for (INDArray array : arrays) {
      memory.reclaim(array);
    }
  }

  /** One training step's gradients (keyed by variable name) and requested forward values. */
  record Step(Map<String, INDArray> gradients, Map<String, INDArray> outputs) {}

  /**
   * Builds {@code sd}'s gradient function if it has none, with standard output muted and with
   * leaner backward ops where M2.1's are slow, without a side effect that another thread can see.
   *
   * <p>Muted: SameDiff 1.0.0-M2.1 prints one "Added differentiated op" line per op with {@code
   * System.out.println} (not a logger) while it builds the backward graph, hundreds of lines that
   * bury a training loop's progress output. For the duration of the call {@code System.out} is a
   * stream that drops what the calling thread prints and passes everything other threads print
   * on to the previous stream unchanged; afterwards the previous stream is put back, unless
   * someone replaced {@code System.out} meanwhile (theirs is then kept).
   *
   * <p>Leaner: SameDiff differentiates copies of the graph's ops that it re-creates from their
   * serialised form, looking the class up by op name in ND4J's op registry, so a subclass's
   * {@code doDiff} is never called. {@link LeanOpRegistry} makes that lookup return {@link
   * LeanBiasAdd} for {@code biasadd}, on the calling thread and only during this call; its bias
   * gradient is a matrix product instead of M2.1's column reduction, which runs far below
   * memory speed (benchmarks/README.md, "Figures behind library comments"), and the forward op
   * is unchanged. Other threads keep seeing {@code BiasAdd}.
   *
   * @throws IllegalStateException if ND4J's op registry is no longer laid out as in 1.0.0-M2.1,
   *     naming what changed and the system property ({@value #LEAN_BIAS_ADD_PROPERTY}{@code
   *     =false}) that builds the gradient function with SameDiff's own op instead
   */
  static void createGradientFunction(SameDiff sd) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    if (sd.hasGradientFunction()) {
      return;
    }
    boolean lean = Boolean.parseBoolean(System.getProperty(LEAN_BIAS_ADD_PROPERTY, "true"));
    mutingCaller(() -> {
      if (lean) {
        LeanOpRegistry.withLeanOps(sd::createGradFunction);
      } else {
        sd.createGradFunction();
      }
    });
  }

  /**
   * Runs {@code action} with {@code System.out} dropping what the calling thread prints and
   * passing on what other threads print; puts the previous stream back afterwards unless
   * someone replaced {@code System.out} meanwhile.
   */
  static void mutingCaller(Runnable action) {
    synchronized (Gradients.class) {
      PrintStream previous = System.out;
      Thread caller = Thread.currentThread();
      PrintStream muted = new PrintStream(new OutputStream() {
        @Override
        public void write(int b) {
          if (Thread.currentThread() != caller) {
            previous.write(b);
          }
        }

        @Override
        public void write(byte[] b, int off, int len) {
          if (Thread.currentThread() != caller) {
            previous.write(b, off, len);
          }
        }

        @Override
        public void flush() {
          previous.flush();
        }
      }, true);
      System.setOut(muted);
      try {
        action.run();
      } finally {
        muted.flush();
        if (System.out == muted) {
          System.setOut(previous);
        }
      }
    }
  }
}
