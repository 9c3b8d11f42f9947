package io.github.stablerep.models.internal;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;

/**
 * ND4J's erf op with a leaner gradient. M2.1's {@code Erf.doDiff} builds 2/√π·exp(−z·z·(−1))·g
 * from seven full-size ops, one of them a ones-like array; this builds the same derivative as
 * exp(ln(2/√π) − z²)·g from four (square, reverse-subtract, exp, multiply). In an exact GELU
 * over a ViT-B MLP activation each op is a 39 MB array at batch 16, allocated and written in
 * every backward pass. The forward op is ND4J's own, so outputs are unchanged; the gradient
 * differs from ND4J's by float rounding only. A saved graph loads as plain {@link Erf}.
 */
public final class LeanErf extends Erf {

  private static final double LN_TWO_OVER_SQRT_PI = Math.log(2.0 / Math.sqrt(Math.PI));

  /** For ND4J's reflective instantiation. */
  public LeanErf() {}

  public LeanErf(SameDiff sd, SDVariable z) {
    super(sd, z);
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grad) {
    SDVariable z = arg();
    SDVariable derivative = sameDiff.math.exp(sameDiff.math.square(z).rsub(LN_TWO_OVER_SQRT_PI));
    return List.of(derivative.mul(grad.get(0)));
  }
}
