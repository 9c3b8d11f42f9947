package io.github.stablerep.models.vit;

/**
 * The standard ViT sizes (Dosovitskiy et al., 2021; Touvron et al., 2021 for Tiny and Small),
 * as timm names them: {@code vit_tiny_patch16_224} ... {@code vit_large_patch16_224}. All use
 * patch 16 and an MLP ratio of 4. StableRep trains {@link #B_16}.
 */
public enum VitPreset {
  /** ViT-Ti/16: width 192, depth 12, 3 heads. */
  TI_16(192, 12, 3),
  /** ViT-S/16: width 384, depth 12, 6 heads. */
  S_16(384, 12, 6),
  /** ViT-B/16: width 768, depth 12, 12 heads (StableRep's encoder). */
  B_16(768, 12, 12),
  /** ViT-L/16: width 1024, depth 24, 16 heads. */
  L_16(1024, 24, 16);

  private final int width;
  private final int depth;
  private final int heads;

  VitPreset(int width, int depth, int heads) {
    this.width = width;
    this.depth = depth;
    this.heads = heads;
  }

  public int width() {
    return width;
  }

  public int depth() {
    return depth;
  }

  public int heads() {
    return heads;
  }

  public int patchSize() {
    return 16;
  }

  public double mlpRatio() {
    return 4.0;
  }
}
