package io.github.stablerep.core.optim;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradient clipping as {@code torch.nn.utils.clip_grad_norm_} does it.
 *
 * <p>StableRep's reference does not clip (its loss scaler is called without {@code clip_grad});
 * this is here for runs that want it, e.g. at small batch sizes or with fp16 activations.
 */
public final class GradientClipping {

  /** torch's guard against division by a zero norm; it also makes clipping slightly conservative. */
  static final double NORM_EPSILON = 1e-6;

  private GradientClipping() {}

  /**
   * Scales all gradients in place by one common factor so that their global L2 norm is at most
   * about {@code maxNorm}:
   *
   * <pre>
   *   total = sqrt(Σ_p ‖g_p‖²)        coef = maxNorm / (total + 1e-6)
   *   g_p ← coef · g_p                 only when coef &lt; 1
   * </pre>
   *
   * torch multiplies by {@code min(coef, 1)} unconditionally; multiplying by 1 is exact, so
   * skipping it changes nothing. The norms are accumulated in double.
   *
   * @return the total norm before clipping
   * @throws IllegalArgumentException if {@code maxNorm} is not finite and positive, or a
   *     gradient is not finite (torch would scale every gradient by NaN), naming its key
   */
  public static double clipByGlobalNorm(Map<String, INDArray> grads, double maxNorm) {
    checkArgument(grads != null, "grads: expected a map of gradients, found null");
    checkArgument(
        Double.isFinite(maxNorm) && maxNorm > 0, "maxNorm: expected a finite value > 0, found %s", maxNorm);
    double sumSquares = 0;
    for (Map.Entry<String, INDArray> e : grads.entrySet()) {
      INDArray g = e.getValue();
      checkArgument(g != null, "grads: expected an array for %s, found null", e.getKey());
      checkArgument(
          g.dataType().isFPType(), "grads: expected a floating-point gradient for %s, found %s", e.getKey(), g.dataType());
      double norm = g.norm2Number().doubleValue();
      checkArgument(
          Double.isFinite(norm),
          "grads: expected finite values for %s, found a gradient norm of %s", e.getKey(), norm);
      sumSquares += norm * norm;
    }
    double total = Math.sqrt(sumSquares);
    double coef = maxNorm / (total + NORM_EPSILON);
    if (coef < 1.0) {
      for (INDArray g : grads.values()) {
        g.muli(coef);
      }
    }
    return total;
  }
}
