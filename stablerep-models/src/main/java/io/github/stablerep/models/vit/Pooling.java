package io.github.stablerep.models.vit;

/** How {@link VitGraph#pooled()} summarises the tokens into one feature per image. */
public enum Pooling {
  /** The class token after the final LayerNorm (timm's {@code global_pool='token'}; StableRep). */
  CLASS_TOKEN,
  /**
   * The mean of the patch tokens (class token excluded) after the final LayerNorm. Note that
   * timm's {@code global_pool='avg'} instead normalises after pooling ({@code fc_norm}); this
   * variant keeps one set of weights for both poolings.
   */
  MEAN
}
