package io.github.stablerep.models.diffusion;

import io.github.stablerep.models.internal.FusedAttention;
import io.github.stablerep.models.internal.LayerParams;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Creates the variables of one diffusers module while its graph is defined, for the shared layers
 * ({@link LayerParams}) as for the blocks of {@link DiffusionBlocks}. Each variable is
 * named {@code scope + "/" + key} with {@code key} the diffusers state-dict key, so the loader can
 * find every parameter from the graph alone; its shape is ours (conv YXIO, linear [in, out]).
 *
 * <p>Values come from, in order: weights given at construction (already in our layout), or a
 * seeded PyTorch-default initialisation (uniform ±1/√fan_in for weights and biases, ones and
 * zeros for norms). In dry mode no array is allocated: placeholders stand in, which is how the
 * expected shapes of an 860 M-parameter model are listed without allocating it.
 */
final class ModuleParams implements LayerParams {
  private final SameDiff sd;
  private final String scope;
  private final DataType dataType;
  private final Map<String, INDArray> given;
  private final boolean dry;
  private final long seed;
  private final Map<String, long[]> torchShapes = new LinkedHashMap<>();
  private boolean javaKernels;
  private long sampleTokens;

  ModuleParams(SameDiff sd, String scope, DataType dataType, long seed, Map<String, INDArray> given, boolean dry) {
    this.sd = sd;
    this.scope = scope;
    this.dataType = dataType;
    this.seed = seed;
    this.given = given;
    this.dry = dry;
  }

  @Override
  public SameDiff sd() {
    return sd;
  }

  DataType dataType() {
    return dataType;
  }

  /** Inference graphs only: attention through the fused Java kernel (models.internal.FusedAttention). */
  ModuleParams withJavaKernels(long sampleTokens) {
    this.javaKernels = true;
    this.sampleTokens = sampleTokens;
    return this;
  }

  /** H·W of the sample the inference graph is meant for, or 0. */
  long sampleTokens() {
    return sampleTokens;
  }

  /** Whether this graph uses Java kernels (models.internal.GraphKernels). */
  boolean javaKernels() {
    return javaKernels;
  }

  /** Whether attention over {@code tokens} queries (-1: unknown) with heads {@code headDim} wide uses the Java kernel. */
  boolean javaKernelFor(int tokens, int headDim) {
    return javaKernels && (tokens < 0 || tokens >= FusedAttention.MIN_KERNEL_QUERIES)
        && headDim <= FusedAttention.MAX_KERNEL_HEAD_DIM;
  }

  /** Every parameter created so far, in PyTorch's shapes, in creation order. */
  Map<String, long[]> torchShapes() {
    return torchShapes;
  }

  /** Conv weight [out, in, k, k] in PyTorch, created as YXIO [k, k, in, out]. */
  SDVariable convWeight(String key, int out, int in, int k) {
    return create(key, new long[] {out, in, k, k}, new long[] {k, k, in, out}, in * k * k, false);
  }

  /** Linear weight [out, in] in PyTorch, created as [in, out]. */
  @Override
  public SDVariable linearWeight(String key, int out, int in) {
    return create(key, new long[] {out, in}, new long[] {in, out}, in, false);
  }

  /** A bias of a conv or linear layer with the given fan-in. */
  @Override
  public SDVariable bias(String key, int size, int fanIn) {
    return create(key, new long[] {size}, new long[] {size}, fanIn, false);
  }

  /** A norm's scale (initialised to ones). */
  SDVariable normWeight(String key, int size) {
    return create(key, new long[] {size}, new long[] {size}, 0, true);
  }

  /** A norm's shift (initialised to zeros). */
  SDVariable normBias(String key, int size) {
    return create(key, new long[] {size}, new long[] {size}, 0, false);
  }

  String variableName(String key) {
    return scope + "/" + key;
  }

  private SDVariable create(String fullKey, long[] torchShape, long[] ourShape, int fanIn, boolean ones) {
    // a block defined on its own has the empty prefix: ".conv1.weight" is "conv1.weight"
    String key = fullKey.startsWith(".") ? fullKey.substring(1) : fullKey;
    if (torchShapes.put(key, torchShape) != null) {
      throw new IllegalStateException("parameter defined twice: " + key);
    }
    String name = variableName(key);
    if (dry) {
      return sd.placeHolder(name, dataType, ourShape);
    }
    INDArray value = given == null ? null : given.get(key);
    if (value == null) {
      value = initial(key, ourShape, fanIn, ones);
    }
    return sd.var(name, value.castTo(dataType));
  }

  private INDArray initial(String key, long[] shape, int fanIn, boolean ones) {
    if (fanIn == 0) {
      return ones ? Nd4j.ones(dataType, shape) : Nd4j.zeros(dataType, shape);
    }
    int n = 1;
    for (long s : shape) {
      n = Math.multiplyExact(n, (int) s);
    }
    // A per-key stream, so a parameter's value does not depend on which others exist.
    SplittableRandom rng = new SplittableRandom(seed ^ (key.hashCode() * 0x9E3779B97F4A7C15L));
    double bound = 1.0 / Math.sqrt(fanIn);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
    }
    return Nd4j.createFromArray(v).reshape(shape).castTo(dataType);
  }
}
