package io.github.stablerep.augment;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.augment.SimClrAugmentation.SampleParameters;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A {@link SimClrAugmentation} defined into a SameDiff graph on an image placeholder
 * ({@link SimClrAugmentation#define}). The output is {@code [N, 3, size, size]}, equal to
 * {@link SimClrAugmentation#apply} for the same seed within float32 rounding (see
 * {@code AugmentationGraphTest} for the measured difference).
 *
 * <p><b>Randomness comes in through placeholders.</b> ND4J 1.0.0-M2.1's in-graph random ops
 * return the same values on every run, so every random choice is drawn on the host by the same
 * seeded sampler as the eager form ({@link SimClrAugmentation#sampleParameters}) and fed by
 * {@link #feed}. Per-sample parameters are needed because ND4J's image ops take one scalar per
 * batch; they are therefore composed from plain ops:
 *
 * <ul>
 *   <li>crop, resize (and the optional downsample-upsample) are linear per axis, so each sample
 *       gets a row matrix {@code [size, H]} and a column matrix {@code [W, size]} holding the
 *       antialiased triangle weights of {@link ImageOps#resizedCrop}; the graph applies them as
 *       two batched matmuls;
 *   <li>each of the four ColorJitter positions is one blend {@code clamp(f·x + (1 − f)·ref)}
 *       with a per-sample reference (0 for brightness, the grayscale mean for contrast, the
 *       grayscale image for saturation) followed by a per-sample-masked hue rotation composed
 *       from torchvision's HSV formulas; a sample's order decides which slot holds which op;
 *   <li>grayscale and solarize are masked selections; masks are exactly 0 or 1, so an unselected
 *       sample passes through unchanged;
 *   <li>the Gaussian blur (with reflect padding) and the horizontal flip are again two matrices
 *       per sample, the identity when a sample is neither blurred nor flipped;
 *   <li>normalisation uses constants.
 * </ul>
 *
 * <p>Nothing in the graph is trainable, and its image ops need no gradient. The eager form is
 * the faster one here and the library default (benchmarks/README.md, "Augmentation"); this form
 * is for pipelines that want the augmentation inside one graph.
 */
public final class AugmentationGraph {

  /** Per-sample scalar columns of the {@code params} placeholder. */
  static final int JITTER_SLOT = 5;

  static final int GRAY = 4 * JITTER_SLOT;
  static final int SOLARIZE = GRAY + 1;
  static final int PARAMS = SOLARIZE + 1;

  private final SimClrAugmentation aug;
  private final SameDiff sd;
  private final SDVariable images;
  private final int height;
  private final int width;
  private final String prefix;
  private final SDVariable output;

  AugmentationGraph(SimClrAugmentation aug, SameDiff sd, String prefix, SDVariable images) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(images != null, "images: expected a placeholder [N, 3, H, W], found null");
    long[] shape = images.getShape();
    checkArgument(shape != null && shape.length == 4 && shape[1] == 3 && shape[2] > 0
            && shape[3] > 0,
        "images: expected shape [N, 3, H, W] with H and W known, found %s",
        shape == null ? "no shape" : Arrays.toString(shape));
    checkArgument(prefix != null && !prefix.isEmpty(), "prefix: expected a non-empty name");
    this.aug = aug;
    this.sd = sd;
    this.images = images;
    this.height = (int) shape[2];
    this.width = (int) shape[3];
    this.prefix = prefix;
    this.output = build();
  }

  /** The augmented batch {@code [N, 3, size, size]}, FLOAT. */
  public SDVariable output() {
    return output;
  }

  /** The image placeholder this graph was defined on. */
  public SDVariable input() {
    return images;
  }

  /** Names of the parameter placeholders {@link #feed} fills (the images not included). */
  public List<String> parameterNames() {
    return List.of(name("params"), name("rows"), name("cols"), name("blur_rows"),
        name("blur_cols"));
  }

  /** Placeholder values for a batch of {@code n} images under {@code seed}, as apply draws them. */
  public Map<String, INDArray> feed(int n, long seed) {
    checkArgument(n >= 1, "n: expected a batch size >= 1, found %s", n);
    return feed(aug.sampleParameters(n, height, width, seed));
  }

  /** Placeholder values for the given per-sample parameters (one per image, in batch order). */
  public Map<String, INDArray> feed(List<SampleParameters> parameters) {
    checkArgument(parameters != null && !parameters.isEmpty(),
        "parameters: expected one SampleParameters per image, found none");
    int n = parameters.size();
    int s = aug.size();
    float[] params = new float[n * PARAMS];
    float[] rows = new float[n * s * height];
    float[] cols = new float[n * width * s];
    float[] blurRows = new float[n * s * s];
    float[] blurCols = new float[n * s * s];
    double[] strength = aug.jitterStrengths();
    for (int i = 0; i < n; i++) {
      SampleParameters p = parameters.get(i);
      double[][] r = rowMatrix(p.cropHeight(), p.top(), height, s, p.downsampleResolution(),
          true);
      double[][] c = rowMatrix(p.cropWidth(), p.left(), width, s, p.downsampleResolution(),
          false);
      for (int o = 0; o < s; o++) {
        for (int j = 0; j < height; j++) {
          rows[(i * s + o) * height + j] = (float) r[o][j];
        }
        for (int j = 0; j < width; j++) {
          cols[(i * width + j) * s + o] = (float) c[o][j];
        }
      }
      int base = i * PARAMS;
      for (int slot = 0; slot < 4; slot++) {
        int at = base + slot * JITTER_SLOT;
        params[at] = 1f; // identity blend unless this slot holds brightness/contrast/saturation
        int op = p.jitterOrder()[slot];
        if (!p.jitter() || strength[op] <= 0) {
          continue;
        }
        switch (op) {
          case 0 -> params[at] = (float) p.brightness();
          case 1 -> {
            params[at] = (float) p.contrast();
            params[at + 1] = 1f;
          }
          case 2 -> {
            params[at] = (float) p.saturation();
            params[at + 2] = 1f;
          }
          default -> {
            params[at + 3] = (float) p.hue();
            params[at + 4] = 1f;
          }
        }
      }
      params[base + GRAY] = p.grayscale() ? 1f : 0f;
      params[base + SOLARIZE] = p.solarize() ? 1f : 0f;
      double[][] blur = blurMatrix(s, p.blur() ? p.blurSigma() : 0);
      for (int o = 0; o < s; o++) {
        for (int j = 0; j < s; j++) {
          blurRows[(i * s + o) * s + j] = (float) blur[o][j];
          // Columns act as x · B: B[j][o] is input column j's weight in output column o, and
          // a flip reads output column s − 1 − o.
          int src = p.flip() ? s - 1 - o : o;
          blurCols[(i * s + j) * s + o] = (float) blur[src][j];
        }
      }
    }
    Map<String, INDArray> feed = new HashMap<>();
    feed.put(name("params"), Nd4j.createFromArray(params).reshape(n, PARAMS));
    feed.put(name("rows"), Nd4j.createFromArray(rows).reshape(n, s, height));
    feed.put(name("cols"), Nd4j.createFromArray(cols).reshape(n, width, s));
    feed.put(name("blur_rows"), Nd4j.createFromArray(blurRows).reshape(n, s, s));
    feed.put(name("blur_cols"), Nd4j.createFromArray(blurCols).reshape(n, s, s));
    return feed;
  }

  /**
   * Runs the graph on {@code batch} ({@code [N, 3, H, W]} in [0, 1], H and W as defined) with the
   * parameters {@link SimClrAugmentation#apply} would draw under {@code seed}.
   */
  public INDArray apply(INDArray batch, long seed) {
    checkArgument(batch != null && batch.rank() == 4 && batch.size(1) == 3
            && batch.size(2) == height && batch.size(3) == width,
        "batch: expected shape [N, 3, %s, %s], found %s", height, width,
        batch == null ? "null" : Arrays.toString(batch.shape()));
    Map<String, INDArray> feed = feed((int) batch.size(0), seed);
    feed.put(images.name(), batch.castTo(images.dataType()));
    return sd.output(feed, output.name()).get(output.name());
  }

  private String name(String what) {
    return prefix + "_" + what;
  }

  // ------------------------------------------------------------------ graph

  private SDVariable build() {
    int s = aug.size();
    SDVariable params = sd.placeHolder(name("params"), DataType.FLOAT, -1, PARAMS);
    SDVariable rows = sd.placeHolder(name("rows"), DataType.FLOAT, -1, s, height);
    SDVariable cols = sd.placeHolder(name("cols"), DataType.FLOAT, -1, width, s);
    SDVariable blurRows = sd.placeHolder(name("blur_rows"), DataType.FLOAT, -1, s, s);
    SDVariable blurCols = sd.placeHolder(name("blur_cols"), DataType.FLOAT, -1, s, s);

    SDVariable x = images.dataType() == DataType.FLOAT ? images : images.castTo(DataType.FLOAT);
    x = separable(x, rows, cols, height, width, s);
    for (int slot = 0; slot < 4; slot++) {
      int at = slot * JITTER_SLOT;
      SDVariable f = column(params, at);
      SDVariable gray = gray(x);
      SDVariable ref = column(params, at + 1).mul(sd.mean(gray, true, 1, 2, 3))
          .add(column(params, at + 2).mul(gray));
      x = sd.math.clipByValue(f.mul(x).add(f.rsub(1.0).mul(ref)), 0.0, 1.0);
      x = select(column(params, at + 4), hue(x, column(params, at + 3)), x);
    }
    x = select(column(params, GRAY), gray(x), x);
    x = separable(x, blurRows, blurCols, s, s, s);
    if (aug.solarizeEnabled()) {
      SDVariable flipped = x.gte(aug.solarizeThreshold()).castTo(DataType.FLOAT)
          .mul(column(params, SOLARIZE));
      x = select(flipped, x.rsub(1.0), x);
    }
    if (aug.normalizeEnabled()) {
      SDVariable mean = sd.constant(name("mean"),
          Nd4j.createFromArray(toFloat(aug.mean())).reshape(1, 3, 1, 1));
      SDVariable std = sd.constant(name("std"),
          Nd4j.createFromArray(toFloat(aug.std())).reshape(1, 3, 1, 1));
      x = x.sub(mean).div(std);
    }
    return sd.identity(name("output"), x);
  }

  /** {@code rowsM · x_c · colsM} per sample and channel: [N,3,h,w] to [N,3,s,s]. */
  private SDVariable separable(SDVariable x, SDVariable rowsM, SDVariable colsM, int h, int w,
      int s) {
    SDVariable t = sd.mmul(sd.reshape(x, -1, 3L * h, w), colsM); // [N, 3h, s]
    t = sd.permute(sd.reshape(t, -1, 3, h, s), 0, 2, 1, 3); // [N, h, 3, s]
    t = sd.mmul(rowsM, sd.reshape(t, -1, h, 3L * s)); // [N, s, 3s]
    return sd.permute(sd.reshape(t, -1, s, 3, s), 0, 2, 1, 3); // [N, 3, s, s]
  }

  /** Column {@code k} of the params placeholder as [N, 1, 1, 1]. */
  private SDVariable column(SDVariable params, int k) {
    return sd.reshape(params.get(SDIndex.all(), SDIndex.interval(k, k + 1)), -1, 1, 1, 1);
  }

  /** {@code m·a + (1 − m)·b}: exactly a or b for a mask of 0 or 1 and finite values. */
  private static SDVariable select(SDVariable m, SDVariable a, SDVariable b) {
    return m.mul(a).add(m.rsub(1.0).mul(b));
  }

  private static SDVariable channel(SDVariable x, int c) {
    return x.get(SDIndex.all(), SDIndex.interval(c, c + 1), SDIndex.all(), SDIndex.all());
  }

  /** torchvision's rgb_to_grayscale weights, [N, 1, h, w]. */
  private static SDVariable gray(SDVariable x) {
    return channel(x, 0).mul(ImageKernels.LUMA_R).add(channel(x, 1).mul(ImageKernels.LUMA_G))
        .add(channel(x, 2).mul(ImageKernels.LUMA_B));
  }

  /**
   * torchvision's tensor adjust_hue on [N,3,h,w] with a per-sample shift [N,1,1,1]: _rgb2hsv,
   * (h + shift) mod 1, _hsv2rgb with its sector masks, as {@link ImageOps#adjustHue}.
   */
  private SDVariable hue(SDVariable x, SDVariable shift) {
    SDVariable r = channel(x, 0);
    SDVariable g = channel(x, 1);
    SDVariable b = channel(x, 2);
    SDVariable maxc = sd.math.max(r, sd.math.max(g, b));
    SDVariable minc = sd.math.min(r, sd.math.min(g, b));
    SDVariable eqc = sd.eq(maxc, minc).castTo(DataType.FLOAT);
    SDVariable cr = maxc.sub(minc);
    SDVariable ones = eqc.rsub(1.0);
    SDVariable s = cr.div(eqc.add(ones.mul(maxc)));
    SDVariable crDiv = eqc.add(ones.mul(cr));
    SDVariable rc = maxc.sub(r).div(crDiv);
    SDVariable gc = maxc.sub(g).div(crDiv);
    SDVariable bc = maxc.sub(b).div(crDiv);
    SDVariable isR = sd.eq(maxc, r).castTo(DataType.FLOAT);
    SDVariable isG = sd.eq(maxc, g).castTo(DataType.FLOAT).mul(isR.rsub(1.0));
    SDVariable isB = isR.rsub(1.0).sub(isG);
    SDVariable h = isR.mul(bc.sub(gc)).add(isG.mul(rc.sub(bc).add(2.0)))
        .add(isB.mul(gc.sub(rc).add(4.0)));
    h = h.div(6.0).add(1.0);
    h = h.sub(sd.math.floor(h)); // fmod(h, 1) for h >= 0
    h = h.add(shift);
    h = h.sub(sd.math.floor(h)); // remainder(h, 1)
    SDVariable h6 = h.mul(6.0);
    SDVariable i = sd.math.floor(h6);
    SDVariable f = h6.sub(i);
    SDVariable sector = i.sub(sd.math.floor(i.div(6.0)).mul(6.0));
    SDVariable v = maxc;
    SDVariable p = sd.math.clipByValue(v.mul(s.rsub(1.0)), 0.0, 1.0);
    SDVariable q = sd.math.clipByValue(v.mul(s.mul(f).rsub(1.0)), 0.0, 1.0);
    SDVariable t = sd.math.clipByValue(v.mul(s.mul(f.rsub(1.0)).rsub(1.0)), 0.0, 1.0);
    SDVariable[] m = new SDVariable[6];
    for (int k = 0; k < 6; k++) {
      m[k] = sd.eq(sector, (double) k).castTo(DataType.FLOAT);
    }
    SDVariable[][] table = {{v, q, p, p, t, v}, {t, v, v, q, p, p}, {p, p, t, v, v, q}};
    SDVariable[] out = new SDVariable[3];
    for (int c = 0; c < 3; c++) {
      SDVariable acc = m[0].mul(table[c][0]);
      for (int k = 1; k < 6; k++) {
        acc = acc.add(m[k].mul(table[c][k]));
      }
      out[c] = acc;
    }
    return sd.concat(1, out);
  }

  // ------------------------------------------------------------------ matrices

  /**
   * The resampling matrix [s, in] along one axis: the crop {@code [start, start + length)}
   * resized to {@code s}, after the optional downsample to {@code res} on the shorter side and
   * back, composed in double.
   */
  private double[][] rowMatrix(int length, int start, int in, int s, int res, boolean vertical) {
    double[][] crop = new double[s][in];
    ImageKernels.Filter f = ImageKernels.Filter.antialiased(length, s);
    for (int o = 0; o < s; o++) {
      for (int j = 0; j < f.size[o]; j++) {
        crop[o][start + f.start[o] + j] = f.weight[o][j];
      }
    }
    if (res <= 0) {
      return crop;
    }
    int d = downsampledLength(res, vertical);
    double[][] down = filterMatrix(ImageKernels.Filter.antialiased(in, d), in);
    double[][] up = filterMatrix(ImageKernels.Filter.antialiased(d, in), d);
    return multiply(crop, multiply(up, down));
  }

  private int downsampledLength(int res, boolean vertical) {
    int h = height;
    int w = width;
    int dh = h <= w ? res : (int) ((long) res * h / w);
    int dw = h <= w ? (int) ((long) res * w / h) : res;
    return vertical ? dh : dw;
  }

  private static double[][] filterMatrix(ImageKernels.Filter f, int in) {
    double[][] m = new double[f.start.length][in];
    for (int o = 0; o < m.length; o++) {
      for (int j = 0; j < f.size[o]; j++) {
        m[o][f.start[o] + j] = f.weight[o][j];
      }
    }
    return m;
  }

  private static double[][] multiply(double[][] a, double[][] b) {
    int k = b.length;
    int m = b[0].length;
    double[][] c = new double[a.length][m];
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < k; j++) {
        double aij = a[i][j];
        if (aij != 0) {
          for (int l = 0; l < m; l++) {
            c[i][l] += aij * b[j][l];
          }
        }
      }
    }
    return c;
  }

  /**
   * The blur along one axis of length {@code s} as a matrix with torch's reflect padding folded
   * in ({@code x[−1] = x[1]}); the identity for {@code sigma = 0} (no blur).
   */
  private double[][] blurMatrix(int s, double sigma) {
    double[][] m = new double[s][s];
    if (sigma <= 0) {
      for (int o = 0; o < s; o++) {
        m[o][o] = 1;
      }
      return m;
    }
    int k = aug.blurKernelSize();
    int half = k / 2;
    float[] kern = ImageKernels.gaussianKernel(k, sigma);
    int[] reflect = ImageKernels.reflectIndex(s, half);
    for (int o = 0; o < s; o++) {
      for (int j = 0; j < k; j++) {
        m[o][reflect[o + j]] += kern[j];
      }
    }
    return m;
  }

  private static float[] toFloat(double[] v) {
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    return f;
  }
}
