package io.github.stablerep.models.internal;

import static com.google.common.base.Preconditions.checkArgument;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * timm's {@code drop_path} (stochastic depth, {@code scale_by_keep=True}) on a residual branch,
 * and the inverted-dropout keep mask it shares with elementwise dropout. The randomness comes
 * from outside as uniform noise in [0, 1): ND4J M2.1's in-graph random ops repeat the same values
 * at every execution and ignore {@code Nd4j.getRandom().setSeed}, so a training graph takes its
 * noise from placeholders fed with each batch (the ViT's {@code TrainingNoise}). Not part of the
 * public API.
 */
public final class DropPath {
  private DropPath() {}

  /** A masked branch and the per-sample mask [N, 1, 1] it was multiplied by (0 or 1/keep). */
  public record Masked(SDVariable output, SDVariable mask) {}

  /**
   * {@code keep}-probability mask from uniform noise u: 1[u &lt; keep] / keep, so a kept value is
   * scaled by 1/keep and the expectation is unchanged (inverted dropout, timm's {@code
   * scale_by_keep}). u &lt; keep has probability keep exactly for u uniform on a 2^-24 grid;
   * dividing (not multiplying by 1/keep) as PyTorch does.
   *
   * @param name the mask's name, or null for a generated one
   */
  public static SDVariable keepMask(SDVariable u, double keep, DataType type, String name) {
    SDVariable kept = u.lt(keep).castTo(type);
    return name == null ? kept.div(keep) : kept.div(name, keep);
  }

  /**
   * Each sample's rows of {@code branch} times its mask, dropped (exactly zero) with probability
   * {@code rate}.
   *
   * @param branch [N·T, D]: T rows per sample
   * @param u [N] uniform noise in [0, 1), one value per sample
   * @param name the output's name; the mask is {@code name + ".mask"}
   */
  public static Masked apply(SameDiff sd, SDVariable branch, SDVariable u, double rate, int tokens, int width,
      DataType type, String name) {
    checkArgument(rate > 0 && rate < 1, "rate: expected a value in (0, 1) (leave the branch alone at 0), found %s",
        rate);
    SDVariable mask = sd.reshape(name + ".mask", keepMask(u, 1.0 - rate, type, null), -1, 1, 1);
    SDVariable dropped = sd.reshape(branch, -1, tokens, width).mul(mask);
    return new Masked(sd.reshape(name, dropped, -1, width), mask);
  }
}
