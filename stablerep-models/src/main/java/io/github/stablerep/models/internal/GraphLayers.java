package io.github.stablerep.models.internal;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Graph building blocks shared by the model families (ViT, CLIP text encoder, UNet, VAE). They
 * are composed from elementary ops because ND4J's built-ins differ from PyTorch's numerics: its
 * {@code gelu} is the sigmoid approximation and its {@code layerNorm} has no epsilon
 * (docs/ARCHITECTURE.md, "ND4J pitfalls").
 * Not part of the public API.
 */
public final class GraphLayers {
  private GraphLayers() {}

  /**
   * {@code x·w + bias} for a matrix x [rows, in] and w [in, out] (PyTorch's weight transposed).
   *
   * <p>The bias goes through {@code biasAdd}, not a broadcasting {@code add}: the same values,
   * and a gradient function built by {@code core.train.Gradients} sums its gradient over rows as
   * a matrix product instead of M2.1's slow column reduction (add_bp and biasadd_bp both use it).
   */
  public static SDVariable linear(SameDiff sd, SDVariable x, SDVariable w, SDVariable bias) {
    SDVariable y = sd.mmul(x, w);
    return bias == null ? y : sd.nn.biasAdd(y, bias, false);
  }

  /** Exact GELU, 0.5·x·(1 + erf(x/√2)): ND4J's gelu is the sigmoid approximation. */
  public static SDVariable gelu(SameDiff sd, SDVariable x) {
    SDVariable erf = sd.math.erf(x.mul(1.0 / Math.sqrt(2.0)));
    return x.mul(0.5).mul(erf.add(1.0));
  }

  /**
   * CLIP's QuickGELU, x·σ(1.702x), composed: ND4J's {@code sd.nn.gelu} is this function with 1.702
   * rounded to float, which in DOUBLE graphs is off by ~1e-8 relative (ClipTextEncoderTest
   * measures it).
   */
  public static SDVariable quickGelu(SameDiff sd, SDVariable x) {
    return x.mul(sd.nn.sigmoid(x.mul(1.702)));
  }

  /**
   * LayerNorm over the last axis of a matrix [rows, D], with epsilon.
   *
   * <p>The per-row 1/σ and the per-column γ are applied as one scale matrix, the outer product
   * (1/σ)·γᵀ computed by matmul ([rows, 1] × [1, D]), times the centred input. The values are
   * the same up to float rounding (centred·(r·γ) instead of (centred·r)·γ); the point is the
   * backward: a broadcasting multiply's gradient in M2.1 tiles the small operand and reduces
   * along strided axes, which made it a visible share of a ViT step
   * (benchmarks/README.md, "Figures behind library comments"), while the outer product's gradient is two matrix-vector
   * products and the multiply is elementwise.
   */
  public static SDVariable layerNorm(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable beta, double eps) {
    SDVariable centred = x.sub(x.mean(true, 1));
    // a squared norm, not square(centred).mean: one reduction whose backward is one fused op,
    // where square's backward is a slow pow-derivative plus a multiply (benchmarks/README.md,
    // "Figures behind library comments")
    long[] width = gamma.getShape();
    if (width == null || width.length != 1) {
      throw new IllegalArgumentException("gamma: expected a vector of known length D, found shape "
          + java.util.Arrays.toString(width));
    }
    SDVariable variance = sd.squaredNorm(centred, true, 1).div(width[0]);
    SDVariable inverseStd = sd.math.rsqrt(variance.add(eps));                 // [rows, 1]
    SDVariable scale = sd.mmul(inverseStd, sd.reshape(gamma, 1, -1));        // [rows, D]
    return sd.nn.biasAdd(centred.mul(scale), beta, false);
  }
}
