package io.github.stablerep.core.loss;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/** The SameDiff counterparts of {@link ContrastiveKernel}, shared by the losses' graph forms. */
final class GraphOps {

  private GraphOps() {}

  static SDVariable atLeastFloat(SDVariable x) {
    DataType t = x.dataType();
    return t == DataType.FLOAT || t == DataType.DOUBLE ? x : x.castTo(DataType.FLOAT);
  }

  /**
   * The [N, N] identity for the N rows of {@code rows}, built from index equality because
   * {@code eye} with sizes computed in the graph fails shape inference in 1.0.0-M2.1.
   */
  static SDVariable identityLike(SameDiff sd, SDVariable rows, DataType type) {
    SDVariable index = sd.range(sd.constant(0L), sd.sizeAt(rows, 0), sd.constant(1L), DataType.INT64);
    return sd.eq(sd.reshape(index, -1, 1), sd.reshape(index, 1, -1)).castTo(type);
  }

  /** x / max(‖x‖₂, 1e-12) along rows, as F.normalize; max is relu(n − eps) + eps so it has a gradient. */
  static SDVariable l2Normalize(SameDiff sd, SDVariable x) {
    SDVariable norm = sd.norm2(x, true, 1);
    SDVariable clamped = sd.nn.relu(norm.sub(ContrastiveKernel.NORM_EPS), 0).add(ContrastiveKernel.NORM_EPS);
    return x.div(clamped);
  }

  /**
   * −mean_i Σ_j p_ij log softmax(z_i)_j with p = targets / max(rowsum(targets), 1).
   *
   * <p>Log-softmax is composed as (z − max) − log Σ exp(z − max): ND4J's {@code log_softmax}
   * is log(softmax(z)), which returns −∞ for a masked column, and 0·(−∞) turns the loss into NaN.
   * The gradient through the max cancels exactly, as the reference's detach makes explicit.
   */
  static SDVariable softTargetCrossEntropy(SameDiff sd, String name, SDVariable logits, SDVariable targets) {
    SDVariable count = targets.sum(true, 1);
    SDVariable p = targets.div(sd.nn.relu(count.sub(1.0), 0).add(1.0));
    SDVariable shifted = logits.sub(logits.max(true, 1));
    SDVariable logSoftmax = shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 1)));
    SDVariable perRow = p.mul(logSoftmax).sum(1);
    SDVariable mean = perRow.mean().neg();
    return name == null ? mean : mean.rename(name);
  }
}
