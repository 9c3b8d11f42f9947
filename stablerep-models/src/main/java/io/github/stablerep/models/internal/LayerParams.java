package io.github.stablerep.models.internal;

import java.util.Arrays;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Where a layer of this kit ({@link Attention}, {@link Mlp}) gets its parameters: by their
 * PyTorch state-dict key, the layer's prefix plus the torch module's own name ({@code
 * blocks.0.attn} + {@code .qkv.weight}). The model decides what a key becomes in the graph (its
 * name as a prefix: {@code vit.blocks.0.attn.qkv.weight}, {@code unet/down_blocks...}) and
 * whether the variable already exists or is created on request, so weight import and export keep
 * mapping torch keys one to one. Shapes are ours: a Linear weight is [in, out], PyTorch's
 * transposed. Not part of the public API.
 */
public interface LayerParams {

  SameDiff sd();

  /** A Linear weight, PyTorch's [out, in], here [in, out]. */
  SDVariable linearWeight(String key, int out, int in);

  /** The bias [size] of a Linear or conv layer with fan-in {@code fanIn} (for a default initialisation). */
  SDVariable bias(String key, int size, int fanIn);

  /**
   * Parameters a model created beforehand (e.g. in its state-dict order, from one seeded
   * generator), looked up by torch key; a missing key or a shape other than the layer's is a bug
   * in the model's parameter list, reported as an {@link IllegalStateException} naming the key.
   */
  static LayerParams of(SameDiff sd, Map<String, SDVariable> byKey) {
    return new LayerParams() {
      @Override
      public SameDiff sd() {
        return sd;
      }

      @Override
      public SDVariable linearWeight(String key, int out, int in) {
        return get(key, in, out);
      }

      @Override
      public SDVariable bias(String key, int size, int fanIn) {
        return get(key, size);
      }

      private SDVariable get(String key, long... shape) {
        SDVariable v = byKey.get(key);
        if (v == null || !Arrays.equals(v.getShape(), shape)) {
          throw new IllegalStateException("parameter '" + key + "': expected shape " + Arrays.toString(shape)
              + " in the model's parameter list, found " + (v == null ? "none" : Arrays.toString(v.getShape())));
        }
        return v;
      }
    };
  }
}
