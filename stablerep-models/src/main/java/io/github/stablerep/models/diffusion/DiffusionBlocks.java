package io.github.stablerep.models.diffusion;

import static io.github.stablerep.models.internal.ImageLayers.conv2d;
import static io.github.stablerep.models.internal.ImageLayers.fromTokens;
import static io.github.stablerep.models.internal.ImageLayers.groupNorm;
import static io.github.stablerep.models.internal.ImageLayers.linear3d;
import static io.github.stablerep.models.internal.ImageLayers.silu;
import static io.github.stablerep.models.internal.ImageLayers.toTokens;

import io.github.stablerep.models.internal.Attention;
import io.github.stablerep.models.internal.FusedGroupNorm;
import io.github.stablerep.models.internal.FusedLayerNorm;
import io.github.stablerep.models.internal.GraphLayers;
import io.github.stablerep.models.internal.ImageLayers;
import io.github.stablerep.models.internal.Mlp;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The building blocks of diffusers' UNet2DConditionModel and AutoencoderKL (v0.21 semantics),
 * each defined under its state-dict prefix. Dropout is absent: these are inference graphs.
 */
final class DiffusionBlocks {
  /** Transformer2DModel's GroupNorm and the VAE attention's eps are fixed in diffusers. */
  static final double TRANSFORMER_GROUP_NORM_EPS = 1e-6;
  /** BasicTransformerBlock's LayerNorm eps (diffusers' default; the UNet does not pass one). */
  static final double LAYER_NORM_EPS = 1e-5;

  private DiffusionBlocks() {}

  static SDVariable groupNormLayer(ModuleParams p, String key, SDVariable x, int groups, int channels, double eps) {
    return groupNormLayer(p, key, x, groups, channels, eps, false);
  }

  /** GroupNorm then SiLU, as one kernel in inference graphs with Java kernels. */
  static SDVariable groupNormSilu(ModuleParams p, String key, SDVariable x, int groups, int channels, double eps) {
    return groupNormLayer(p, key, x, groups, channels, eps, true);
  }

  private static SDVariable groupNormLayer(ModuleParams p, String key, SDVariable x, int groups, int channels,
      double eps, boolean silu) {
    SDVariable gamma = p.normWeight(key + ".weight", channels);
    SDVariable beta = p.normBias(key + ".bias", channels);
    if (p.javaKernels() && x.dataType() == DataType.FLOAT) {
      return FusedGroupNorm.apply(p.sd(), key + ".kernel", x, groups, channels, gamma, beta, eps, silu);
    }
    SDVariable y = groupNorm(p.sd(), x, groups, channels, gamma, beta, eps);
    return silu ? silu(p.sd(), y) : y;
  }

  /** {@code nn.Conv2d(in, out, k, stride, padding)} with bias. */
  static SDVariable conv(ModuleParams p, String key, SDVariable x, int in, int out, int k, int stride, int padding) {
    SDVariable w = p.convWeight(key + ".weight", out, in, k);
    SDVariable b = p.bias(key + ".bias", out, in * k * k);
    return conv2d(p.sd(), x, w, b, k, stride, padding);
  }

  /** {@code nn.Linear(in, out)} on a matrix [rows, in]. */
  static SDVariable linear(ModuleParams p, String key, SDVariable x, int in, int out, boolean bias) {
    SDVariable w = p.linearWeight(key + ".weight", out, in);
    return GraphLayers.linear(p.sd(), x, w, bias ? p.bias(key + ".bias", out, in) : null);
  }

  /** {@code nn.Linear(in, out)} on [N, T, in]. */
  static SDVariable linear3(ModuleParams p, String key, SDVariable x, int in, int out, boolean bias) {
    SDVariable w = p.linearWeight(key + ".weight", out, in);
    return linear3d(p.sd(), x, w, bias ? p.bias(key + ".bias", out, in) : null, in, out);
  }

  /**
   * ResnetBlock2D ("default" time-embedding shift): norm1, SiLU, conv1, plus the projected time
   * embedding, norm2, SiLU, conv2, plus the input (through a 1x1 conv when channels change),
   * divided by {@code outputScale}.
   *
   * @param temb [N, tembChannels] or null (the VAE has no time embedding)
   */
  static SDVariable resnet(ModuleParams p, String key, SDVariable x, SDVariable temb, int in, int out,
      int tembChannels, int groups, double eps, double outputScale) {
    SameDiff sd = p.sd();
    SDVariable h = groupNormSilu(p, key + ".norm1", x, groups, in, eps);
    h = conv(p, key + ".conv1", h, in, out, 3, 1, 1);
    if (temb != null) {
      SDVariable t = linear(p, key + ".time_emb_proj", silu(sd, temb), tembChannels, out, true);
      h = h.add(sd.reshape(t, -1, out, 1, 1));
    }
    h = groupNormSilu(p, key + ".norm2", h, groups, out, eps);
    h = conv(p, key + ".conv2", h, out, out, 3, 1, 1);
    SDVariable shortcut = in == out ? x : conv(p, key + ".conv_shortcut", x, in, out, 1, 1, 0);
    SDVariable y = shortcut.add(h);
    return outputScale == 1.0 ? y : y.div(outputScale);
  }

  /**
   * Downsample2D with a conv: 3x3, stride 2. Padding 1 (the UNet) pads every side; padding 0 (the
   * VAE encoder) first pads one zero row and column at the bottom and right, as diffusers does.
   */
  static SDVariable downsample(ModuleParams p, String key, SDVariable x, int channels, int padding) {
    SDVariable in = padding == 0 ? ImageLayers.padBottomRight(p.sd(), x) : x;
    return conv(p, key + ".conv", in, channels, channels, 3, 2, padding);
  }

  /** Upsample2D with a conv: nearest 2x, then 3x3 conv with padding 1. */
  static SDVariable upsample(ModuleParams p, String key, SDVariable x, int channels) {
    return conv(p, key + ".conv", ImageLayers.upsampleNearest2x(p.sd(), x), channels, channels, 3, 1, 1);
  }

  /**
   * diffusers' Attention on tokens [N, T, dim]: q from x, k and v from {@code context} (x itself
   * for self-attention), heads of {@code headDim}, output projection {@code to_out.0}.
   */
  static SDVariable attentionLayer(ModuleParams p, String key, SDVariable x, SDVariable context, int dim,
      int contextDim, int heads, int headDim, boolean qkvBias, int tokens) {
    Attention.Builder b = Attention.diffusers(dim, heads).headDim(headDim).contextDim(contextDim).qkvBias(qkvBias)
        .sequence();
    Attention attention = (p.javaKernelFor(tokens, headDim) ? b.javaKernel() : b).build();
    return attention.apply(p, key, x, context, null, null, null);
  }

  /**
   * The VAE's mid-block attention: GroupNorm, single-head self-attention over all positions with
   * biased projections, plus the input.
   */
  static SDVariable vaeAttention(ModuleParams p, String key, SDVariable x, int channels, int groups, double eps) {
    SameDiff sd = p.sd();
    SDVariable tokens = toTokens(sd, groupNormLayer(p, key + ".group_norm", x, groups, channels, eps), channels);
    SDVariable out = attentionLayer(p, key, tokens, null, channels, channels, 1, channels, true, -1);
    return fromTokens(sd, out, x, channels).add(x);
  }

  /** LayerNorm with eps over the last axis of [N, T, dim]. */
  private static SDVariable layerNorm3(ModuleParams p, String key, SDVariable x, int dim) {
    SameDiff sd = p.sd();
    SDVariable gamma = p.normWeight(key + ".weight", dim);
    SDVariable beta = p.normBias(key + ".bias", dim);
    if (p.javaKernels() && x.dataType() == DataType.FLOAT) {
      return FusedLayerNorm.apply(key + ".kernel", x, dim, gamma, beta, LAYER_NORM_EPS);
    }
    SDVariable y = GraphLayers.layerNorm(sd, sd.reshape(x, -1, dim), gamma, beta, LAYER_NORM_EPS);
    return sd.reshape(y, sd.shape(x));
  }

  /**
   * BasicTransformerBlock: pre-LayerNorm self-attention, cross-attention to {@code context}, and
   * a GEGLU feed-forward (dim -> 2·4·dim, value times exact GELU of gate, -> dim), each residual.
   */
  static SDVariable basicTransformerBlock(ModuleParams p, String key, SDVariable h, SDVariable context, int dim,
      int contextDim, int heads, int headDim, int tokens) {
    SameDiff sd = p.sd();
    h = h.add(attentionLayer(p, key + ".attn1", layerNorm3(p, key + ".norm1", h, dim), null, dim, dim, heads,
        headDim, false, tokens));
    h = h.add(attentionLayer(p, key + ".attn2", layerNorm3(p, key + ".norm2", h, dim), context, dim, contextDim,
        heads, headDim, false, tokens));
    SDVariable n = sd.reshape(layerNorm3(p, key + ".norm3", h, dim), -1, dim);
    Mlp mlp = Mlp.geglu(dim, 4 * dim);
    SDVariable ff = (p.javaKernels() ? mlp.withJavaKernel() : mlp).apply(p, key + ".ff", n);
    return h.add(sd.reshape(ff, sd.shape(h)));
  }

  /**
   * Transformer2DModel (continuous input): GroupNorm(eps 1e-6), proj_in (1x1 conv, or linear on
   * tokens with {@code linearProjection}), {@code layers} transformer blocks, proj_out, plus the
   * input.
   */
  static SDVariable transformer2d(ModuleParams p, String key, SDVariable x, SDVariable context, int channels,
      int contextDim, int heads, int headDim, int layers, int groups, boolean linearProjection, int tokens) {
    SameDiff sd = p.sd();
    int inner = heads * headDim;
    SDVariable n = groupNormLayer(p, key + ".norm", x, groups, channels, TRANSFORMER_GROUP_NORM_EPS);
    SDVariable h = linearProjection
        ? linear3(p, key + ".proj_in", toTokens(sd, n, channels), channels, inner, true)
        : toTokens(sd, conv(p, key + ".proj_in", n, channels, inner, 1, 1, 0), inner);
    for (int i = 0; i < layers; i++) {
      h = basicTransformerBlock(p, key + ".transformer_blocks." + i, h, context, inner, contextDim, heads, headDim,
          tokens);
    }
    SDVariable out = linearProjection
        ? fromTokens(sd, linear3(p, key + ".proj_out", h, inner, channels, true), x, channels)
        : conv(p, key + ".proj_out", fromTokens(sd, h, x, inner), inner, channels, 1, 1, 0);
    return out.add(x);
  }

  /**
   * The sinusoidal timestep embedding of diffusers' {@code get_timestep_embedding}: frequencies
   * exp(-ln(10000)·i/(half - shift)), [sin, cos] (or [cos, sin] with {@code flipSinToCos}), a zero
   * column for odd sizes. Computed in float32 as diffusers does, then cast.
   *
   * @param timesteps [N], any numeric type (fractional allowed)
   */
  static SDVariable timestepSinusoid(SameDiff sd, SDVariable timesteps, int dim, boolean flipSinToCos,
      double freqShift, DataType type) {
    int half = dim / 2;
    float[] freqs = new float[half];
    float logMax = (float) -Math.log(10000.0);
    for (int i = 0; i < half; i++) {
      float exponent = (logMax * i) / (float) (half - freqShift);
      freqs[i] = (float) Math.exp(exponent);
    }
    SDVariable args = sd.reshape(timesteps.castTo(DataType.FLOAT), -1, 1)
        .mul(sd.constant(Nd4j.createFromArray(freqs).reshape(1, half)));
    SDVariable sin = sd.math.sin(args);
    SDVariable cos = sd.math.cos(args);
    SDVariable emb = flipSinToCos ? sd.concat(1, cos, sin) : sd.concat(1, sin, cos);
    if (dim % 2 == 1) {
      emb = sd.nn.pad(emb, sd.constant(Nd4j.createFromArray(new int[][] {{0, 0}, {0, 1}})), 0.0);
    }
    return emb.castTo(type);
  }

  /** TimestepEmbedding: linear_1, SiLU, linear_2. */
  static SDVariable timestepEmbedding(ModuleParams p, String key, SDVariable sinusoid, int in, int dim) {
    SDVariable h = silu(p.sd(), linear(p, key + ".linear_1", sinusoid, in, dim, true));
    return linear(p, key + ".linear_2", h, dim, dim, true);
  }
}
