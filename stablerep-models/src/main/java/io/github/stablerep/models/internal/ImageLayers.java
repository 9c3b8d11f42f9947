package io.github.stablerep.models.internal;

import static com.google.common.base.Preconditions.checkArgument;

import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Graph building blocks on NCHW feature maps (UNet, VAE), composed to match PyTorch's numerics.
 * Only the batch size may be unknown when a graph is defined; where a shape must be rebuilt it is
 * taken from the tensor at run time ({@code sd.shape}), so one graph serves any spatial size.
 * Not part of the public API.
 */
public final class ImageLayers {
  private ImageLayers() {}

  /** SiLU, x·sigmoid(x) (ND4J calls it swish; one fused op with its own backward). */
  public static SDVariable silu(SameDiff sd, SDVariable x) {
    return sd.nn.swish(x);
  }

  /**
   * {@code torch.nn.GroupNorm}: statistics over each group of C/G channels and all positions,
   * biased variance, eps inside the square root, then a per-channel affine. ND4J has no GroupNorm
   * op (docs/ARCHITECTURE.md, "ND4J pitfalls"), so it is reshaped to [N, G, C/G, H·W] and composed.
   *
   * @param x [N, C, H, W] (any rank ≥ 2 with channels on axis 1)
   * @param gamma [C]
   * @param beta [C]
   */
  public static SDVariable groupNorm(SameDiff sd, SDVariable x, int groups, int channels,
      SDVariable gamma, SDVariable beta, double eps) {
    checkArgument(groups > 0 && channels % groups == 0,
        "groups: expected a divisor of the %s channels, found %s", channels, groups);
    // [N, G, C/G, H·W]: the statistics reduce the last two axes, and gamma·rstd is folded into one
    // small [N, G, C/G, 1] scale, so that the activation is read twice and rewritten three times
    // (sub, mul, add) instead of seven full passes; (x − mean)·(rstd·gamma) keeps the centring first.
    SDVariable shape = sd.shape(x);
    SDVariable grouped = sd.reshape(x, withBatch(sd, shape, groups, channels / groups, -1));
    // one moments op: ND4J's variance reduction alone takes 2.5x as long as mean and variance together
    SDVariable[] moments = sd.math.moments(grouped, new int[] {2, 3}, true);
    SDVariable mean = moments[0];
    SDVariable rstd = sd.math.rsqrt(moments[1].add(eps));
    SDVariable scale = rstd.mul(sd.reshape(gamma, 1, groups, channels / groups, 1));
    SDVariable normed = grouped.sub(mean).mul(scale).add(sd.reshape(beta, 1, groups, channels / groups, 1));
    return sd.reshape(normed, shape);
  }

  /**
   * {@code torch.nn.Conv2d} with square kernel, symmetric zero padding and no dilation.
   *
   * @param w [kH, kW, in, out] (YXIO: PyTorch's [out, in, kH, kW] permuted (2, 3, 1, 0), the one
   *     layout conv2d's backward accepts)
   * @param bias [out] or null
   */
  public static SDVariable conv2d(SameDiff sd, SDVariable x, SDVariable w, SDVariable bias, int kernel, int stride,
      int padding) {
    Conv2DConfig c = Conv2DConfig.builder().kH(kernel).kW(kernel).sH(stride).sW(stride).pH(padding).pW(padding)
        .dH(1).dW(1).paddingMode(PaddingMode.VALID).dataFormat(Conv2DConfig.NCHW).build();
    return bias == null ? sd.cnn.conv2d(x, w, c) : sd.cnn.conv2d(x, w, bias, c);
  }

  /** Zero padding of one row at the bottom and one column at the right of an NCHW map. */
  public static SDVariable padBottomRight(SameDiff sd, SDVariable x) {
    SDVariable paddings = sd.constant(Nd4j.createFromArray(new int[][] {{0, 0}, {0, 0}, {0, 1}, {0, 1}}));
    return sd.nn.pad(x, paddings, 0.0);
  }

  /**
   * Nearest-neighbour 2x upsampling of an NCHW map ({@code F.interpolate(scale_factor=2.0,
   * mode="nearest")}). The one-scale overload fails in 1.0.0-M2.1
   * (docs/ARCHITECTURE.md, "ND4J pitfalls").
   */
  public static SDVariable upsampleNearest2x(SameDiff sd, SDVariable x) {
    return sd.cnn.upsampling2d(x, 2, 2, true);
  }

  /** [N, C, H, W] -> [N, H·W, C]: the token layout attention works on. */
  public static SDVariable toTokens(SameDiff sd, SDVariable x, int channels) {
    SDVariable flat = sd.reshape(x, withBatch(sd, sd.shape(x), channels, -1));
    return sd.permute(flat, 0, 2, 1);
  }

  /** [N, H·W, C] -> [N, C, H, W], with N, H and W taken from {@code like} (any [N, ?, H, W] map). */
  public static SDVariable fromTokens(SameDiff sd, SDVariable tokens, SDVariable like, int channels) {
    SDVariable s = sd.shape(like);
    SDVariable shape = sd.concat(0, s.get(SDIndex.interval(0, 1)), sd.constant(Nd4j.createFromArray((long) channels)),
        s.get(SDIndex.interval(2, 4)));
    return sd.reshape(sd.permute(tokens, 0, 2, 1), shape);
  }

  /** {@code x·w + b} on the last axis of a rank-3 tensor [N, T, in] (sd.mmul needs equal ranks). */
  public static SDVariable linear3d(SameDiff sd, SDVariable x, SDVariable w, SDVariable bias, int in, int out) {
    SDVariable y = GraphLayers.linear(sd, sd.reshape(x, -1, in), w, bias);
    SDVariable s = sd.shape(x);
    return sd.reshape(y, sd.concat(0, s.get(SDIndex.interval(0, 2)), sd.constant(Nd4j.createFromArray((long) out))));
  }

  /** The batch size of {@code shape} followed by fixed sizes, as a shape for {@code sd.reshape}. */
  private static SDVariable withBatch(SameDiff sd, SDVariable shape, long... rest) {
    return sd.concat(0, shape.get(SDIndex.interval(0, 1)), sd.constant(Nd4j.createFromArray(rest)));
  }
}
