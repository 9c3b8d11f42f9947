package io.github.stablerep.core.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.autodiff.samediff.internal.SessionMemMgr;
import io.github.stablerep.core.internal.LeanBiasAdd;
import org.nd4j.imports.converters.DifferentialFunctionClassHolder;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BiasAdd;
import org.nd4j.linalg.factory.Nd4j;

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
public final class Gradients {

  /**
   * System property that turns the {@link LeanBiasAdd} substitution off when set to {@code
   * false}: SameDiff's own {@code biasadd_bp} is then used, bit for bit {@code
   * sd.calculateGradients}' gradients.
   */
  public static final String LEAN_BIAS_ADD_PROPERTY = "stablerep.gradients.leanBiasAdd";

  private Gradients() {}

  /**
   * The gradients of {@code sd}'s loss variables with respect to {@code variables}, keyed by
   * variable name; a variable that does not influence the loss has no entry, as in {@code
   * sd.calculateGradients}.
   *
   * @param placeholders the placeholder values of this batch
   * @throws IllegalArgumentException if a name is not a variable of {@code sd}
   */
  public static Map<String, INDArray> calculate(
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
  public static Step calculateWithOutputs(SameDiff sd, Map<String, INDArray> placeholders,
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
  public static void recycle(SameDiff sd, Collection<INDArray> arrays) {
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

  /**
   * Gives this thread's session of {@code gradFn} a {@link ReusingMemoryManager} (SameDiff keeps
   * one session per thread and creates it on first use with its exact-shape cache).
   */
  /** One training step's gradients (keyed by variable name) and requested forward values. */
  public record Step(Map<String, INDArray> gradients, Map<String, INDArray> outputs) {}

  /**
   * Builds {@code sd}'s gradient function if it has none, with standard output muted and with
   * leaner backward ops where M2.1's are slow.
   *
   * <p>Muted: SameDiff 1.0.0-M2.1 prints one "Added differentiated op" line per op with {@code
   * System.out.println} (not a logger) while it builds the backward graph, hundreds of lines that
   * bury a training loop's progress output. Anything another thread prints during that call is
   * dropped too.
   *
   * <p>Leaner: SameDiff differentiates copies of the graph's ops that it re-creates from their
   * serialised form, looking the class up by op name, so a subclass's {@code doDiff} is never
   * called. For the duration of this call the lookup for {@code biasadd} returns {@link
   * LeanBiasAdd}, whose bias gradient is a matrix product instead of M2.1's column reduction
   * (about 25x faster on a ViT MLP activation); the forward op is unchanged. Another thread that
   * deserialises a graph during this call would get the same substitution, with the same values.
   */
  public static void createGradientFunction(SameDiff sd) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    if (sd.hasGradientFunction()) {
      return;
    }
    PrintStream stdout = System.out;
    synchronized (Gradients.class) {
      System.setOut(new PrintStream(OutputStream.nullOutputStream()));
      Runnable restore = Boolean.parseBoolean(System.getProperty(LEAN_BIAS_ADD_PROPERTY, "true"))
          ? substitute(BiasAdd.class, LeanBiasAdd.class)
          : () -> { };
      try {
        sd.createGradFunction();
      } finally {
        restore.run();
        System.setOut(stdout);
      }
    }
  }

  /**
   * Makes ND4J's op registry return {@code replacement} where it would return {@code original};
   * returns what undoes it. If the registry is not laid out as in M2.1, nothing is substituted.
   */
  @SuppressWarnings("unchecked")
  private static Runnable substitute(Class<? extends DynamicCustomOp> original, Class<?> replacement) {
    try {
      String name = original.getDeclaredConstructor().newInstance().opName();
      long hash = Nd4j.getExecutioner().getCustomOperations().get(name).getHash();
      DifferentialFunctionClassHolder holder = DifferentialFunctionClassHolder.getInstance();
      Field single = DifferentialFunctionClassHolder.class.getDeclaredField("customOpHashToClass");
      Field multiple = DifferentialFunctionClassHolder.class.getDeclaredField("customOpHashToClasses");
      single.setAccessible(true);
      multiple.setAccessible(true);
      Map<Long, Class<?>> byHash = (Map<Long, Class<?>>) single.get(holder);
      Map<Long, Map<String, Class<?>>> byHashAndName = (Map<Long, Map<String, Class<?>>>) multiple.get(holder);
      if (byHashAndName.containsKey(hash)) {
        Map<String, Class<?>> classes = byHashAndName.get(hash);
        Class<?> previous = classes.put(name, replacement);
        return () -> classes.put(name, previous);
      }
      if (byHash.get(hash) != original) {
        return () -> { };
      }
      byHash.put(hash, replacement);
      return () -> byHash.put(hash, original);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return () -> { };
    }
  }
}
