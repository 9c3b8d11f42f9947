package io.github.stablerep.core.optim;

import static com.google.common.base.Preconditions.checkArgument;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * AdamW's decoupled weight decay as an ND4J {@link Regularization} for SameDiff's {@code fit},
 * skipping parameters of rank below {@code minRank} (biases, norm parameters, scalars).
 *
 * <p>SameDiff applies post-updater regularisation to the update u (the updater's output) and
 * then subtracts it, so with learning rate η and coefficient λ
 *
 * <pre>
 *   u ← u + η·λ·p        p ← p − u   =   p − η·λ·p − η·Adam(g)
 * </pre>
 *
 * with p the parameter before the step: torch's AdamW update. ND4J's own {@code WeightDecay(λ,
 * true)} computes the same but for every trainable parameter; a regularisation sees only the
 * array, never the variable's name, so rank is the only exclusion that can be expressed here.
 */
public final class DecoupledWeightDecay implements Regularization {

  private static final long serialVersionUID = 1L;

  private final double coefficient;
  private final int minRank;

  /**
   * @param coefficient λ ≥ 0
   * @param minRank parameters of lower rank are not decayed (2 for the reference's rule)
   */
  @JsonCreator
  public DecoupledWeightDecay(
      @JsonProperty("coefficient") double coefficient, @JsonProperty("minRank") int minRank) {
    checkArgument(
        Double.isFinite(coefficient) && coefficient >= 0,
        "coefficient: expected a finite value >= 0 (StableRep uses 0.1), found %s", coefficient);
    checkArgument(minRank >= 0, "minRank: expected a rank >= 0, found %s", minRank);
    this.coefficient = coefficient;
    this.minRank = minRank;
  }

  @JsonProperty("coefficient")
  public double coefficient() {
    return coefficient;
  }

  @JsonProperty("minRank")
  public int minRank() {
    return minRank;
  }

  /** Whether a parameter of this rank is decayed. */
  public boolean decays(int rank) {
    return rank >= minRank;
  }

  @Override
  public ApplyStep applyStep() {
    return ApplyStep.POST_UPDATER;
  }

  @Override
  public void apply(INDArray param, INDArray gradView, double lr, int iteration, int epoch) {
    if (coefficient != 0 && decays(param.rank())) {
      gradView.addi(param.mul(lr * coefficient).reshape(gradView.shape()));
    }
  }

  /** ½·λ·‖p‖², what ND4J's listeners report for weight decay; not part of the update. */
  @Override
  public double score(INDArray param, int iteration, int epoch) {
    if (!decays(param.rank())) {
      return 0.0;
    }
    double norm = param.norm2Number().doubleValue();
    return 0.5 * coefficient * norm * norm;
  }

  @Override
  public DecoupledWeightDecay clone() {
    return new DecoupledWeightDecay(coefficient, minRank);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DecoupledWeightDecay d
        && Double.compare(coefficient, d.coefficient) == 0
        && minRank == d.minRank;
  }

  @Override
  public int hashCode() {
    return Double.hashCode(coefficient) * 31 + minRank;
  }

  @Override
  public String toString() {
    return "DecoupledWeightDecay{coefficient=" + coefficient + ", minRank=" + minRank + "}";
  }
}
