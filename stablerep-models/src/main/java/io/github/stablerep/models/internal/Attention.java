package io.github.stablerep.models.internal;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.function.UnaryOperator;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Multi-head scaled dot-product attention with its projections, softmax(q·kᵀ/√d + mask)·v per
 * head, as timm's {@code Attention}, transformers' {@code CLIPAttention} and diffusers' {@code
 * Attention} compute it. One implementation for the ViT, the CLIP text encoder and the UNet/VAE;
 * the variants are options:
 *
 * <ul>
 *   <li>projections: one fused {@code qkv} Linear (timm, self-attention only; its output is laid
 *       out [3, heads, d] as timm's) or separate q, k, v Linears (transformers, diffusers), with or
 *       without their bias; the output projection always has one;
 *   <li>parameter names: the torch module names under the layer's prefix ({@link #timm}, {@link
 *       #clip}, {@link #diffusers});
 *   <li>an additive mask on the scores (e.g. {@link #causalMask}) and cross-attention to a
 *       context (k and v from another sequence of another width);
 *   <li>token layout: {@linkplain Builder#tokens(int) a matrix [N·T, dim]} with T known when the
 *       graph is defined (ViT, CLIP: plain reshapes, which is how those graphs were tuned), or
 *       {@linkplain Builder#sequence() a sequence [N, T, dim]} whose T is read at run time, so
 *       that one UNet graph serves every latent size;
 *   <li>dropout sites on the attention probabilities and after the output projection, supplied
 *       by the caller (a training graph's noise placeholders), the identity otherwise.
 * </ul>
 *
 * <p>The op sequence of each layout is the one its model used before the layers were shared, so
 * graphs, numbers and speed are unchanged: q is scaled by 1/√d as soon as it is a tensor of its
 * own (after the projection when separate, after the head split when fused), heads are split by
 * reshape and permute to [N, heads, T, d], and the two matrix products are {@code sd.mmul} on
 * rank 4 ({@code sd.batchMmul} corrupts the heap in M2.1, see docs/ARCHITECTURE.md). Not
 * part of the public API.
 */
public final class Attention {

  /** An additive mask value that makes exp() exactly 0 after softmax's max subtraction. */
  public static final double MASKED = -1e9;

  private final int dim;
  private final int contextDim;
  private final int heads;
  private final int headDim;
  private final boolean qkvBias;
  private final boolean fused;
  private final String qkvName;
  private final String qName;
  private final String kName;
  private final String vName;
  private final String outName;
  private final int tokens;   // 0: sequence layout
  private final boolean javaKernel;

  private Attention(Builder b) {
    this.dim = b.dim;
    this.contextDim = b.contextDim != null ? b.contextDim : b.dim;
    this.heads = b.heads;
    this.headDim = b.headDim != null ? b.headDim : b.dim / b.heads;
    this.qkvBias = b.qkvBias;
    this.fused = b.qkvName != null;
    this.qkvName = b.qkvName;
    this.qName = b.qName;
    this.kName = b.kName;
    this.vName = b.vName;
    this.outName = b.outName;
    this.tokens = b.tokens;
    this.javaKernel = b.javaKernel;
  }

  /** timm's {@code Attention}: fused {@code qkv}, output {@code proj}, heads of dim/heads. */
  public static Builder timm(int dim, int heads) {
    return new Builder(dim, heads).fused("qkv", "proj");
  }

  /** transformers' {@code CLIPAttention}: {@code q_proj, k_proj, v_proj, out_proj}, heads of dim/heads. */
  public static Builder clip(int dim, int heads) {
    return new Builder(dim, heads).separate("q_proj", "k_proj", "v_proj", "out_proj");
  }

  /** diffusers' {@code Attention}: {@code to_q, to_k, to_v, to_out.0}; set the head size with {@link Builder#headDim}. */
  public static Builder diffusers(int dim, int heads) {
    return new Builder(dim, heads).separate("to_q", "to_k", "to_v", "to_out.0");
  }

  /**
   * A causal additive mask [T, T] for {@link #apply}: 0 on and below the diagonal, {@link
   * #MASKED} above, so token i attends to tokens 0..i. One constant serves every layer.
   */
  public static SDVariable causalMask(SameDiff sd, String name, int tokens, DataType type) {
    checkArgument(tokens >= 1, "tokens: expected >= 1, found %s", tokens);
    double[][] causal = new double[tokens][tokens];
    for (int i = 0; i < tokens; i++) {
      for (int j = i + 1; j < tokens; j++) {
        causal[i][j] = MASKED;
      }
    }
    return sd.constant(name, Nd4j.createFromArray(causal).castTo(type));
  }

  public int dim() { return dim; }
  public int contextDim() { return contextDim; }
  public int heads() { return heads; }
  public int headDim() { return headDim; }
  /** heads · headDim, the width of q, k and v. */
  public int innerDim() { return heads * headDim; }

  /** Self-attention without mask or dropout. */
  public SDVariable apply(LayerParams p, String prefix, SDVariable x) {
    return apply(p, prefix, x, null, null, null, null);
  }

  /**
   * Attention of {@code x} to {@code context} (itself when null) under {@code prefix}.
   *
   * @param x [N·T, dim] (matrix layout) or [N, T, dim] (sequence layout)
   * @param context null, or [N, S, contextDim] (sequence layout only)
   * @param mask null, or an additive mask broadcastable to the scores [N, heads, T, S]
   * @param attnDrop null, or dropout on the probabilities [N, heads, T, S]
   * @param projDrop null, or dropout on the output
   * @return x's shape
   */
  public SDVariable apply(LayerParams p, String prefix, SDVariable x, SDVariable context, SDVariable mask,
      UnaryOperator<SDVariable> attnDrop, UnaryOperator<SDVariable> projDrop) {
    checkArgument(context == null || (!fused && tokens == 0),
        "context: cross-attention needs separate projections and the sequence layout, found %s",
        fused ? "a fused qkv projection" : "the matrix layout");
    SameDiff sd = p.sd();
    int inner = innerDim();
    double scale = 1.0 / Math.sqrt(headDim);
    if (javaKernel && mask == null && attnDrop == null && projDrop == null && x.dataType() == DataType.FLOAT) {
      if (context == null) {
        return kernelSelfAttention(p, prefix, x, scale);
      }
      long[] cs = context.getShape();
      if (cs != null && cs.length == 3 && cs[1] > 0 && context.dataType() == DataType.FLOAT) {
        return kernelCrossAttention(p, prefix, x, context, (int) cs[1], scale);
      }
    }
    SDVariable q;
    SDVariable k;
    SDVariable v;
    SDVariable qProj = null;
    if (fused) {
      SDVariable qkv = linear(p, prefix + "." + qkvName, x, dim, 3 * inner, qkvBias);
      // [N·T, 3·inner] -> [N, T, 3, H, d] -> [3, N, H, T, d]: timm's qkv layout (q, k, v each head-major)
      SDVariable split = sd.permute(sd.reshape(qkv, -1, tokens, 3, heads, headDim), 2, 0, 3, 1, 4);
      SDVariable[] parts = sd.unstack(split, 0, 3);
      q = parts[0].mul(scale);
      k = parts[1];
      v = parts[2];
    } else {
      SDVariable kv = context == null ? x : context;
      int kvDim = context == null ? dim : contextDim;
      qProj = linear(p, prefix + "." + qName, x, dim, inner, qkvBias);
      SDVariable kProj = linear(p, prefix + "." + kName, kv, kvDim, inner, qkvBias);
      SDVariable vProj = linear(p, prefix + "." + vName, kv, kvDim, inner, qkvBias);
      q = splitHeads(sd, qProj.mul(scale));
      k = splitHeads(sd, kProj);
      v = splitHeads(sd, vProj);
    }
    SDVariable scores = sd.mmul(q, k, false, true, false);                 // [N, H, T, S]
    if (mask != null) {
      scores = scores.add(mask);
    }
    SDVariable probs = sd.nn.softmax(scores, 3);
    if (attnDrop != null) {
      probs = attnDrop.apply(probs);
    }
    SDVariable merged = sd.permute(sd.mmul(probs, v), 0, 2, 1, 3);        // [N, T, H, d]
    // the sequence layout merges back into q's run-time shape [N, T, inner]
    merged = tokens == 0 ? sd.reshape(merged, sd.shape(qProj)) : sd.reshape(merged, -1, inner);
    SDVariable out = linear(p, prefix + "." + outName, merged, inner, dim, true);
    return projDrop == null ? out : projDrop.apply(out);
  }

  /**
   * Self-attention through {@link FusedAttention}: q, k and v from one product with the three
   * weights side by side (the same parameters, requested in the same order), the kernel's
   * stand-in, the output projection.
   */
  private SDVariable kernelSelfAttention(LayerParams p, String prefix, SDVariable x, double scale) {
    SameDiff sd = p.sd();
    int inner = innerDim();
    SDVariable[] w = new SDVariable[3];
    SDVariable[] b = new SDVariable[3];
    String[] names = {qName, kName, vName};
    for (int i = 0; i < 3; i++) {
      w[i] = p.linearWeight(prefix + "." + names[i] + ".weight", inner, dim);
      b[i] = qkvBias ? p.bias(prefix + "." + names[i] + ".bias", inner, dim) : null;
    }
    SDVariable qkv = ImageLayers.linear3d(sd, x, sd.concat(1, w), qkvBias ? sd.concat(0, b) : null, dim, 3 * inner);
    SDVariable merged = FusedAttention.self(sd, prefix + ".attention_kernel", qkv, heads, headDim, scale);
    return linear(p, prefix + "." + outName, merged, inner, dim, true);
  }

  /** Cross-attention through {@link FusedAttention#cross}: the three projections as in graph mode, then the kernel. */
  private SDVariable kernelCrossAttention(LayerParams p, String prefix, SDVariable x, SDVariable context,
      int contextLength, double scale) {
    int inner = innerDim();
    SDVariable q = linear(p, prefix + "." + qName, x, dim, inner, qkvBias);
    SDVariable k = linear(p, prefix + "." + kName, context, contextDim, inner, qkvBias);
    SDVariable v = linear(p, prefix + "." + vName, context, contextDim, inner, qkvBias);
    SDVariable merged = FusedAttention.cross(p.sd(), prefix + ".attention_kernel", q, k, v, contextLength, heads,
        headDim, scale);
    return linear(p, prefix + "." + outName, merged, inner, dim, true);
  }

  /** [N·T, inner] (matrix) or [N, T, inner] (sequence) -> [N, H, T, d]. */
  private SDVariable splitHeads(SameDiff sd, SDVariable x) {
    SDVariable split;
    if (tokens == 0) {
      SDVariable s = sd.shape(x);
      split = sd.reshape(x, sd.concat(0, s.get(SDIndex.interval(0, 2)),
          sd.constant(Nd4j.createFromArray((long) heads, headDim))));
    } else {
      split = sd.reshape(x, -1, tokens, heads, headDim);
    }
    return sd.permute(split, 0, 2, 1, 3);
  }

  /** A Linear on the layout's last axis: a matrix product in the matrix layout, via [N·T, in] in the sequence layout. */
  private SDVariable linear(LayerParams p, String key, SDVariable x, int in, int out, boolean bias) {
    SDVariable w = p.linearWeight(key + ".weight", out, in);
    SDVariable b = bias ? p.bias(key + ".bias", out, in) : null;
    return tokens == 0 ? ImageLayers.linear3d(p.sd(), x, w, b, in, out) : GraphLayers.linear(p.sd(), x, w, b);
  }

  @Override
  public String toString() {
    return "Attention{dim=" + dim + ", contextDim=" + contextDim + ", heads=" + heads + ", headDim=" + headDim
        + ", qkvBias=" + qkvBias + ", projections=" + (fused ? qkvName : qName + "/" + kName + "/" + vName) + "+"
        + outName + ", layout=" + (tokens == 0 ? "sequence" : "matrix of " + tokens + " tokens") + "}";
  }

  /** Starts from {@link #timm}, {@link #clip} or {@link #diffusers}; the layout must be chosen. */
  public static final class Builder {
    private final int dim;
    private final int heads;
    private Integer contextDim;
    private Integer headDim;
    private boolean qkvBias = true;
    private String qkvName;
    private String qName;
    private String kName;
    private String vName;
    private String outName;
    private int tokens = -1;
    private boolean javaKernel;

    private Builder(int dim, int heads) {
      this.dim = dim;
      this.heads = heads;
    }

    private Builder fused(String qkv, String out) {
      this.qkvName = qkv;
      this.outName = out;
      return this;
    }

    private Builder separate(String q, String k, String v, String out) {
      this.qName = q;
      this.kName = k;
      this.vName = v;
      this.outName = out;
      return this;
    }

    /** The size of one head; dim/heads unless set. */
    public Builder headDim(int headDim) {
      this.headDim = headDim;
      return this;
    }

    /** The width of a cross-attention context; dim unless set. */
    public Builder contextDim(int contextDim) {
      this.contextDim = contextDim;
      return this;
    }

    /** Whether the q, k, v projections have a bias (true unless set); the output projection always has one. */
    public Builder qkvBias(boolean qkvBias) {
      this.qkvBias = qkvBias;
      return this;
    }

    /** The matrix layout: inputs [N·T, dim] with T = {@code tokens} fixed when the graph is defined. */
    public Builder tokens(int tokens) {
      this.tokens = tokens;
      return this;
    }

    /** The sequence layout: inputs [N, T, dim] with N and T read at run time. */
    public Builder sequence() {
      this.tokens = 0;
      return this;
    }

    /**
     * Attention without mask or dropout runs as {@link FusedAttention}'s Java kernel (FLOAT
     * graphs, separate projections, sequence layout; cross-attention when the context's length is
     * known when the graph is defined); anything else still uses graph ops.
     * For inference graphs that stay in this process.
     */
    public Builder javaKernel() {
      this.javaKernel = true;
      return this;
    }

    public Attention build() {
      checkArgument(dim >= 1, "dim: expected >= 1, found %s", dim);
      checkArgument(heads >= 1, "heads: expected >= 1, found %s", heads);
      checkArgument(headDim != null || dim % heads == 0,
          "heads: expected a divisor of dim %s (or an explicit headDim), found %s", dim, heads);
      checkArgument(headDim == null || headDim >= 1, "headDim: expected >= 1, found %s", headDim);
      checkArgument(contextDim == null || contextDim >= 1, "contextDim: expected >= 1, found %s", contextDim);
      checkArgument(tokens >= 0, "tokens: expected tokens(T >= 1) or sequence(), found %s",
          tokens == -1 ? "neither" : String.valueOf(tokens));
      checkArgument(qkvName == null || tokens > 0,
          "tokens: a fused qkv projection needs the matrix layout, found sequence()");
      checkArgument(!javaKernel || (tokens == 0 && qkvName == null),
          "javaKernel: expected separate projections and the sequence layout");
      return new Attention(this);
    }
  }
}
