package io.github.stablerep.core.train;

import io.github.stablerep.core.internal.LeanBiasAdd;
import java.lang.reflect.Field;
import java.util.AbstractMap;
import java.util.Map;
import java.util.Set;
import org.nd4j.imports.converters.DifferentialFunctionClassHolder;
import org.nd4j.linalg.api.ops.impl.broadcast.BiasAdd;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Lets one thread, for the duration of a call, get {@link LeanBiasAdd} where ND4J's op registry
 * would give {@link BiasAdd}, with no effect on other threads.
 *
 * <p>How: ND4J 1.0.0-M2.1's {@code DifferentialFunctionClassHolder.customOpClassForHashAndName}
 * looks an op class up in one of two private maps ({@code customOpHashToClasses}: hash → name →
 * class, else {@code customOpHashToClass}: hash → class). When this class is initialised it
 * replaces, once and under the holder's lock, the map that holds {@code biasadd} with a view of
 * the same map whose lookup of {@code biasadd} answers {@link LeanBiasAdd} only on a thread
 * inside {@link #withLeanOps}; every other lookup, and every lookup on other threads, goes to
 * the original map unchanged. Editing the registry once, instead of swapping an entry in and out
 * around each gradient-function build as before, means no other thread can ever observe the
 * substitution or race with its undoing.
 *
 * <p>If the registry is not laid out as described (another ND4J version), initialisation does
 * not touch it and records why; {@link #withLeanOps} then throws that reason as an {@link
 * IllegalStateException}, instead of silently building slower gradient functions.
 */
final class LeanOpRegistry {

  private static final String OP_NAME = "biasadd";
  private static final ThreadLocal<Boolean> ACTIVE = ThreadLocal.withInitial(() -> Boolean.FALSE);
  /** Null once installed; otherwise what is wrong with this ND4J's registry. */
  private static final IllegalStateException FAILURE = install();

  private LeanOpRegistry() {}

  /** Runs {@code action} with {@code biasadd} looked up as {@link LeanBiasAdd} on this thread. */
  static void withLeanOps(Runnable action) {
    if (FAILURE != null) {
      throw new IllegalStateException(FAILURE.getMessage(), FAILURE);
    }
    boolean outer = ACTIVE.get();
    ACTIVE.set(Boolean.TRUE);
    try {
      action.run();
    } finally {
      ACTIVE.set(outer);
    }
  }

  /** Whether {@link #withLeanOps} can substitute (for tests). */
  static boolean installed() {
    return FAILURE == null;
  }

  @SuppressWarnings("unchecked")
  private static IllegalStateException install() {
    String where = "ND4J's op registry (org.nd4j.imports.converters.DifferentialFunctionClassHolder, laid out as in "
        + "nd4j-api 1.0.0-M2.1)";
    String fix = "; set -D" + Gradients.LEAN_BIAS_ADD_PROPERTY + "=false to build gradient functions with "
        + "SameDiff's own biasadd_bp";
    try {
      DifferentialFunctionClassHolder holder = DifferentialFunctionClassHolder.getInstance();
      long hash = Nd4j.getExecutioner().getCustomOperations().get(OP_NAME).getHash();
      Field single = DifferentialFunctionClassHolder.class.getDeclaredField("customOpHashToClass");
      Field multiple = DifferentialFunctionClassHolder.class.getDeclaredField("customOpHashToClasses");
      single.setAccessible(true);
      multiple.setAccessible(true);
      synchronized (holder) {
        Map<Long, Class<?>> byHash = (Map<Long, Class<?>>) single.get(holder);
        Map<Long, Map<String, Class<?>>> byHashAndName = (Map<Long, Map<String, Class<?>>>) multiple.get(holder);
        if (byHashAndName != null && byHashAndName.containsKey(hash)) {
          Map<String, Class<?>> classes = byHashAndName.get(hash);
          if (classes.get(OP_NAME) != BiasAdd.class) {
            return new IllegalStateException(where + ": expected customOpHashToClasses[" + hash + "][" + OP_NAME
                + "] = BiasAdd, found " + classes.get(OP_NAME) + fix);
          }
          byHashAndName.put(hash, new OverridingMap<>(classes, OP_NAME));
          return null;
        }
        if (byHash == null || byHash.get(hash) != BiasAdd.class) {
          return new IllegalStateException(where + ": expected customOpHashToClass[" + hash + "] = BiasAdd, found "
              + (byHash == null ? "no map" : byHash.get(hash)) + fix);
        }
        single.set(holder, new OverridingMap<>(byHash, hash));
        return null;
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      return new IllegalStateException(where + ": " + e + fix, e);
    }
  }

  /** {@code original}, except that {@code key} maps to {@link LeanBiasAdd} on an active thread. */
  private static final class OverridingMap<K> extends AbstractMap<K, Class<?>> {
    private final Map<K, Class<?>> original;
    private final K key;

    OverridingMap(Map<K, Class<?>> original, K key) {
      this.original = original;
      this.key = key;
    }

    @Override
    public Class<?> get(Object k) {
      return ACTIVE.get() && key.equals(k) ? LeanBiasAdd.class : original.get(k);
    }

    @Override
    public boolean containsKey(Object k) {
      return original.containsKey(k);
    }

    @Override
    public Class<?> put(K k, Class<?> v) {
      return original.put(k, v);
    }

    @Override
    public Class<?> remove(Object k) {
      return original.remove(k);
    }

    @Override
    public int size() {
      return original.size();
    }

    @Override
    public Set<Entry<K, Class<?>>> entrySet() {
      return original.entrySet();
    }
  }
}
