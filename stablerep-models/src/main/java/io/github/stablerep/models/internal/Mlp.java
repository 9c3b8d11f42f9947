package io.github.stablerep.models.internal;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.function.UnaryOperator;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The transformer feed-forward fc2(act(fc1(x))) on a matrix [rows, dim], as timm's and
 * transformers' {@code Mlp} ({@code fc1}, {@code fc2}) and diffusers' {@code FeedForward} with
 * GEGLU ({@code net.0.proj}, {@code net.2}). Both Linears have a bias. Not part of the public API.
 */
public final class Mlp {

  /** The activation between the two Linears. */
  public enum Activation {
    /** Exact GELU, 0.5·x·(1 + erf(x/√2)) (timm's ViT, OpenCLIP). */
    GELU,
    /** CLIP's QuickGELU, x·σ(1.702x). */
    QUICK_GELU,
    /**
     * diffusers' GEGLU: fc1 projects to twice the hidden width, split into value and gate
     * halves (in that order), value · GELU(gate).
     */
    GEGLU
  }

  private final int dim;
  private final int hidden;
  private final Activation activation;
  private final String fc1;
  private final String fc2;
  private final boolean javaKernel;

  private Mlp(int dim, int hidden, Activation activation, String fc1, String fc2) {
    this(dim, hidden, activation, fc1, fc2, false);
  }

  private Mlp(int dim, int hidden, Activation activation, String fc1, String fc2, boolean javaKernel) {
    checkArgument(dim >= 1, "dim: expected >= 1, found %s", dim);
    checkArgument(hidden >= 1, "hidden: expected >= 1, found %s", hidden);
    checkArgument(activation != null, "activation: expected GELU, QUICK_GELU or GEGLU, found null");
    this.dim = dim;
    this.hidden = hidden;
    this.activation = activation;
    this.fc1 = fc1;
    this.fc2 = fc2;
    this.javaKernel = javaKernel;
  }

  /**
   * This MLP with its GEGLU gating as {@link FusedGeglu}'s Java kernel in FLOAT graphs, for
   * inference graphs that stay in this process ({@link GraphKernels}); other activations are unchanged.
   */
  public Mlp withJavaKernel() {
    return new Mlp(dim, hidden, activation, fc1, fc2, true);
  }

  /** timm's and transformers' {@code Mlp}: {@code fc1}, {@code act}, {@code fc2} (GELU or QUICK_GELU). */
  public static Mlp timm(int dim, int hidden, Activation activation) {
    checkArgument(activation != Activation.GEGLU, "activation: expected GELU or QUICK_GELU for fc1/fc2, found GEGLU");
    return new Mlp(dim, hidden, activation, "fc1", "fc2");
  }

  /** diffusers' {@code FeedForward(activation_fn="geglu")}: {@code net.0.proj} (to 2·hidden), {@code net.2}. */
  public static Mlp geglu(int dim, int hidden) {
    return new Mlp(dim, hidden, Activation.GEGLU, "net.0.proj", "net.2");
  }

  public int dim() { return dim; }
  public int hidden() { return hidden; }
  public Activation activation() { return activation; }

  /** Without dropout. */
  public SDVariable apply(LayerParams p, String prefix, SDVariable x) {
    return apply(p, prefix, x, null, null);
  }

  /**
   * @param x [rows, dim]
   * @param drop1 null, or dropout after the activation ([rows, hidden], timm's {@code drop1})
   * @param drop2 null, or dropout after fc2 ([rows, dim], timm's {@code drop2})
   * @return [rows, dim]
   */
  public SDVariable apply(LayerParams p, String prefix, SDVariable x, UnaryOperator<SDVariable> drop1,
      UnaryOperator<SDVariable> drop2) {
    SameDiff sd = p.sd();
    SDVariable h = switch (activation) {
      case GELU -> GraphLayers.gelu(sd, linear(p, prefix + "." + fc1, x, dim, hidden));
      case QUICK_GELU -> GraphLayers.quickGelu(sd, linear(p, prefix + "." + fc1, x, dim, hidden));
      case GEGLU -> geglu(p, prefix + "." + fc1, x);
    };
    if (drop1 != null) {
      h = drop1.apply(h);
    }
    SDVariable y = linear(p, prefix + "." + fc2, h, hidden, dim);
    return drop2 == null ? y : drop2.apply(y);
  }

  /**
   * value · GELU(gate) with the projection's weight and bias split into their value and gate
   * halves, which are small, instead of the projected activations, which are not (two copies of
   * [N·T, hidden] per call otherwise).
   */
  private SDVariable geglu(LayerParams p, String key, SDVariable x) {
    SameDiff sd = p.sd();
    SDVariable w = p.linearWeight(key + ".weight", 2 * hidden, dim);
    SDVariable b = p.bias(key + ".bias", 2 * hidden, dim);
    SDVariable value = GraphLayers.linear(sd, x, w.get(SDIndex.all(), SDIndex.interval(0, hidden)),
        b.get(SDIndex.interval(0, hidden)));
    SDVariable gate = GraphLayers.linear(sd, x, w.get(SDIndex.all(), SDIndex.interval(hidden, 2 * hidden)),
        b.get(SDIndex.interval(hidden, 2 * hidden)));
    return javaKernel && value.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT
        ? FusedGeglu.apply(key + ".kernel", value, gate)
        : value.mul(GraphLayers.gelu(sd, gate));
  }

  private static SDVariable linear(LayerParams p, String key, SDVariable x, int in, int out) {
    SDVariable w = p.linearWeight(key + ".weight", out, in);
    return GraphLayers.linear(p.sd(), x, w, p.bias(key + ".bias", out, in));
  }

  @Override
  public String toString() {
    return "Mlp{dim=" + dim + ", hidden=" + hidden + ", activation=" + activation + ", " + fc1 + "/" + fc2 + "}";
  }
}
