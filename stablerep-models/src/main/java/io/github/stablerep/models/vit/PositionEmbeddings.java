package io.github.stablerep.models.vit;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Resampling of a learned absolute position embedding to another patch grid, as timm's {@code
 * resample_abs_pos_embed} does when a checkpoint trained at one resolution is loaded at another.
 *
 * <p>The class token's embedding is kept as it is; the grid part [1, gh·gw, D] is read as the
 * image [1, D, gh, gw] and resized with PyTorch's {@code F.interpolate(mode='bicubic',
 * align_corners=False, antialias=False)}: source coordinate (dst + 0.5)·in/out − 0.5 (not
 * clamped, as PyTorch's cubic path does not clamp it), Keys' cubic convolution with A = −0.75,
 * and the four taps' indices clamped to the border. Computed in double whatever the input type,
 * so the only rounding left is the final cast back.
 */
final class PositionEmbeddings {

  /** PyTorch's (and OpenCV's) cubic convolution coefficient; Keys' paper uses −0.5. */
  static final double CUBIC_A = -0.75;

  private PositionEmbeddings() {}

  static INDArray resample(INDArray posEmbed, int oldH, int oldW, int newH, int newW) {
    checkArgument(posEmbed != null, "posEmbed: expected an array [1, 1 + gh*gw, D], found null");
    checkArgument(oldH >= 1 && oldW >= 1, "oldGrid: expected a height and width >= 1, found %sx%s", oldH, oldW);
    checkArgument(newH >= 1 && newW >= 1, "newGrid: expected a height and width >= 1, found %sx%s", newH, newW);
    long[] s = posEmbed.shape();
    checkArgument(
        s.length == 3 && s[0] == 1 && s[1] == 1L + (long) oldH * oldW && s[2] >= 1,
        "posEmbed: expected shape [1, %s, D] (class token + %sx%s grid), found %s",
        1L + (long) oldH * oldW, oldH, oldW, Arrays.toString(s));
    checkArgument(posEmbed.dataType().isFPType(), "posEmbed: expected a floating-point array, found %s", posEmbed.dataType());
    int d = (int) s[2];
    double[][] src = posEmbed.castTo(DataType.DOUBLE).reshape(s[1], d).toDoubleMatrix();
    double[][] out = new double[1 + newH * newW][];
    out[0] = src[0].clone();  // the class token is not part of the grid
    int[][] yIdx = new int[newH][];
    double[][] yW = new double[newH][];
    taps(oldH, newH, yIdx, yW);
    int[][] xIdx = new int[newW][];
    double[][] xW = new double[newW][];
    taps(oldW, newW, xIdx, xW);
    double[] rows = new double[4];
    for (int oy = 0; oy < newH; oy++) {
      for (int ox = 0; ox < newW; ox++) {
        double[] o = new double[d];
        for (int c = 0; c < d; c++) {
          // PyTorch's order: interpolate each of the four rows along x, then those along y
          for (int i = 0; i < 4; i++) {
            int base = 1 + yIdx[oy][i] * oldW;
            rows[i] = src[base + xIdx[ox][0]][c] * xW[ox][0] + src[base + xIdx[ox][1]][c] * xW[ox][1]
                + src[base + xIdx[ox][2]][c] * xW[ox][2] + src[base + xIdx[ox][3]][c] * xW[ox][3];
          }
          o[c] = rows[0] * yW[oy][0] + rows[1] * yW[oy][1] + rows[2] * yW[oy][2] + rows[3] * yW[oy][3];
        }
        out[1 + oy * newW + ox] = o;
      }
    }
    return Nd4j.createFromArray(out).reshape(1, out.length, d).castTo(posEmbed.dataType());
  }

  /** The four source indices (clamped) and weights of each output position along one axis. */
  private static void taps(int in, int out, int[][] idx, double[][] w) {
    double scale = (double) in / out;
    for (int o = 0; o < out; o++) {
      double real = scale * (o + 0.5) - 0.5;
      int base = (int) Math.floor(real);
      double t = real - base;
      idx[o] = new int[4];
      for (int k = 0; k < 4; k++) {
        idx[o][k] = Math.min(Math.max(base - 1 + k, 0), in - 1);
      }
      w[o] = new double[] {
          cubic2(t + 1.0), cubic1(t), cubic1(1.0 - t), cubic2(2.0 - t)};
    }
  }

  /** Keys' kernel for |x| <= 1, written as PyTorch's cubic_convolution1. */
  private static double cubic1(double x) {
    return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1;
  }

  /** Keys' kernel for 1 < |x| < 2, written as PyTorch's cubic_convolution2. */
  private static double cubic2(double x) {
    return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A;
  }
}
