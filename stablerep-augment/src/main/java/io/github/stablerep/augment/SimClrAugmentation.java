package io.github.stablerep.augment;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The seeded SimCLR augmentation pipeline, as StableRep's strong recipe composes torchvision's
 * transforms, applied eagerly to a batch with {@link ImageOps}'s kernels ({@link #apply}, the
 * default and the faster form) or defined into a SameDiff graph ({@link #define}, an order of
 * magnitude slower: about 300 small ops per batch, each writing a fresh array;
 * benchmarks/README.md, "Augmentation"):
 *
 * <ol>
 *   <li>optional downsample-and-upsample (StableRep's {@code DownSampleAndUpsample}: the shorter
 *       side resized to a resolution drawn uniformly from a list, then back to the input size),
 *       probability 0 by default;
 *   <li>RandomResizedCrop to {@code size × size}, scale [0.08, 1], ratio [3/4, 4/3], with
 *       torchvision's sampling: up to 10 attempts of (area fraction uniform, log-ratio uniform,
 *       {@code w = round(√(A·r))}, {@code h = round(√(A/r))}, Python's half-to-even rounding),
 *       then its centre-crop fallback;
 *   <li>ColorJitter(0.4, 0.4, 0.4, 0.1) with probability 0.8: brightness, contrast, saturation
 *       and hue in a random order per sample (torchvision's {@code randperm(4)}); brightness,
 *       contrast and saturation factors uniform in {@code [max(0, 1 − s), 1 + s]}, the hue shift
 *       uniform in {@code [−h, h]}; an op whose strength is 0 is skipped, as torchvision does;
 *   <li>RandomGrayscale, probability 0.2 (three equal channels);
 *   <li>GaussianBlur with probability 0.5, sigma uniform in [0.1, 2.0], kernel about 10 % of the
 *       side rounded up to odd (23 at 224, SimCLR's choice). The official StableRep code blurs
 *       with PIL's {@code ImageFilter.GaussianBlur(radius=sigma)}, a different (box
 *       approximation) filter; this uses torchvision's tensor blur, see
 *       {@link ImageOps#gaussianBlur};
 *   <li>horizontal flip, probability 0.5;
 *   <li>solarize (threshold 0.5), probability 0 by default: not in StableRep, offered for
 *       BYOL-style recipes;
 *   <li>Normalize with the ImageNet mean and std (can be turned off).
 * </ol>
 *
 * <p><b>Randomness.</b> {@link #apply(INDArray, long)} derives one {@link SplittableRandom} per
 * sample from the seed ({@code new SplittableRandom(seed)}, split once per sample in order), and
 * each sample draws all its parameters from its own generator. So the same seed gives bitwise
 * identical output, samples get independent parameters, and sample {@code i}'s parameters do
 * not depend on the batch size beyond {@code i}. The draws are not torch's generator, so the
 * values differ from a torchvision run with the same seed; their distributions are the same.
 * Ops are applied only to the samples that drew them, so a sample that skips an op is untouched
 * by it bit for bit.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class SimClrAugmentation {

  /** ImageNet channel means, as torchvision's reference scripts and StableRep use. */
  public static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406};

  /** ImageNet channel standard deviations. */
  public static final double[] IMAGENET_STD = {0.229, 0.224, 0.225};

  private static final int CROP_ATTEMPTS = 10;

  private final Builder b;
  private final int blurKernel;

  private SimClrAugmentation(Builder builder) {
    this.b = builder.copy();
    this.blurKernel = b.blurKernelSize > 0 ? b.blurKernelSize : defaultKernel(b.size);
  }

  /** StableRep's recipe (see the class comment) producing {@code size × size} crops. */
  public static SimClrAugmentation stableRep(int size) {
    return builder().size(size).build();
  }

  /** A builder holding StableRep's recipe at 224. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this pipeline's settings. */
  public Builder toBuilder() {
    return b.copy();
  }

  /** SimCLR's kernel: {@code int(0.1 · size)}, plus one when even. */
  static int defaultKernel(int size) {
    int k = (int) (0.1 * size);
    return k % 2 == 0 ? k + 1 : k;
  }

  /** The output side. */
  public int size() {
    return b.size;
  }

  /** The blur kernel size in use (the explicit one, or about 10 % of the side, odd). */
  public int blurKernelSize() {
    return blurKernel;
  }

  /**
   * Defines this pipeline into {@code sd} on {@code images}, a FLOAT (or other floating-point)
   * variable {@code [N, 3, H, W]} with H and W known (usually a placeholder). Per-sample random
   * parameters become placeholders named {@code augment_*}, filled by
   * {@link AugmentationGraph#feed} from the same seeded sampler as {@link #apply}.
   */
  public AugmentationGraph define(SameDiff sd, SDVariable images) {
    return define(sd, "augment", images);
  }

  /** As {@link #define(SameDiff, SDVariable)}, with {@code prefix} naming the placeholders. */
  public AugmentationGraph define(SameDiff sd, String prefix, SDVariable images) {
    return new AugmentationGraph(this, sd, prefix, images);
  }

  double[] jitterStrengths() {
    return new double[] {b.brightness, b.contrast, b.saturation, b.hue};
  }

  boolean solarizeEnabled() {
    return b.solarizeProbability > 0;
  }

  double solarizeThreshold() {
    return b.solarizeThreshold;
  }

  boolean normalizeEnabled() {
    return b.normalize;
  }

  double[] mean() {
    return b.mean.clone();
  }

  double[] std() {
    return b.std.clone();
  }

  /** The random parameters of one sample; {@code downsampleResolution} is 0 when not applied. */
  public record SampleParameters(
      int downsampleResolution,
      int top,
      int left,
      int cropHeight,
      int cropWidth,
      boolean jitter,
      int[] jitterOrder,
      double brightness,
      double contrast,
      double saturation,
      double hue,
      boolean grayscale,
      boolean blur,
      double blurSigma,
      boolean flip,
      boolean solarize) {}

  /**
   * The parameters {@link #apply} would draw for a batch of {@code n} images of
   * {@code height × width} under {@code seed}.
   */
  public List<SampleParameters> sampleParameters(int n, int height, int width, long seed) {
    if (n < 0 || height < 1 || width < 1) {
      throw new IllegalArgumentException(
          "n/height/width: expected n >= 0 and a positive size, found n=" + n + ", " + height
              + "x" + width);
    }
    SplittableRandom root = new SplittableRandom(seed);
    List<SampleParameters> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(draw(root.split(), height, width));
    }
    return out;
  }

  private SampleParameters draw(SplittableRandom rnd, int height, int width) {
    // A fixed draw order per sample; every value is drawn whether used or not, so changing one
    // probability does not shift the other parameters of the same seed.
    boolean down = rnd.nextDouble() < b.downsampleProbability;
    int res = b.downsampleResolutions[rnd.nextInt(b.downsampleResolutions.length)];
    int[] crop = cropParameters(rnd, height, width);
    boolean jitter = rnd.nextDouble() < b.jitterProbability;
    int[] order = {0, 1, 2, 3};
    for (int k = 3; k > 0; k--) { // Fisher-Yates: a uniform random permutation
      int j = rnd.nextInt(k + 1);
      int t = order[k];
      order[k] = order[j];
      order[j] = t;
    }
    double brightness = uniform(rnd, Math.max(0, 1 - b.brightness), 1 + b.brightness);
    double contrast = uniform(rnd, Math.max(0, 1 - b.contrast), 1 + b.contrast);
    double saturation = uniform(rnd, Math.max(0, 1 - b.saturation), 1 + b.saturation);
    double hue = uniform(rnd, -b.hue, b.hue);
    boolean gray = rnd.nextDouble() < b.grayscaleProbability;
    boolean blur = rnd.nextDouble() < b.blurProbability;
    double sigma = uniform(rnd, b.blurSigmaMin, b.blurSigmaMax);
    boolean flip = rnd.nextDouble() < b.flipProbability;
    boolean solarize = rnd.nextDouble() < b.solarizeProbability;
    return new SampleParameters(down ? res : 0, crop[0], crop[1], crop[2], crop[3], jitter, order,
        brightness, contrast, saturation, hue, gray, blur, sigma, flip, solarize);
  }

  private static double uniform(SplittableRandom rnd, double lo, double hi) {
    return lo + (hi - lo) * rnd.nextDouble();
  }

  /** torchvision 0.14 RandomResizedCrop.get_params: {top, left, height, width}. */
  private int[] cropParameters(SplittableRandom rnd, int height, int width) {
    double area = (double) height * width;
    double logLo = Math.log(b.cropRatioMin);
    double logHi = Math.log(b.cropRatioMax);
    for (int attempt = 0; attempt < CROP_ATTEMPTS; attempt++) {
      double target = area * uniform(rnd, b.cropScaleMin, b.cropScaleMax);
      double ratio = Math.exp(uniform(rnd, logLo, logHi));
      int w = (int) Math.rint(Math.sqrt(target * ratio)); // Python's round: half to even
      int h = (int) Math.rint(Math.sqrt(target / ratio));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        int top = rnd.nextInt(height - h + 1);
        int left = rnd.nextInt(width - w + 1);
        return new int[] {top, left, h, w};
      }
    }
    double inRatio = (double) width / height;
    int w;
    int h;
    if (inRatio < b.cropRatioMin) {
      w = width;
      h = (int) Math.rint(w / b.cropRatioMin);
    } else if (inRatio > b.cropRatioMax) {
      h = height;
      w = (int) Math.rint(h * b.cropRatioMax);
    } else {
      w = width;
      h = height;
    }
    return new int[] {(height - h) / 2, (width - w) / 2, h, w};
  }

  /**
   * Augments every image of {@code batch} ({@code [N, 3, H, W]}, values in [0, 1]) once.
   *
   * <p>Each sample runs through the whole pipeline in per-thread scratch memory, in parallel
   * across samples, and only its final result is written to the output: one output array per
   * call instead of one per op. The arithmetic is that of the {@link ImageOps} batch functions
   * (the same kernels, in the same order), so the result equals composing them sample by
   * sample, bit for bit. Why fused: composed batch ops spent most of their time allocating
   * (benchmarks/README.md, "Augmentation").
   *
   * @return a new {@code FLOAT} array {@code [N, 3, size, size]}; normalised unless turned off
   */
  public INDArray apply(INDArray batch, long seed) {
    ImageOps.Batch in = checkedBatch(batch);
    // Untouched memory: each worker's first write faults in its own samples' pages, in
    // parallel, instead of the caller zeroing all 38 MB first (benchmarks/README.md).
    INDArray out = ImageOps.untouched(in.n, 3, b.size, b.size);
    run(in, seed, out);
    return out;
  }

  /**
   * As {@link #apply(INDArray, long)}, writing into {@code out} instead of a new array: a
   * {@code FLOAT}, C-order, contiguous {@code [N, 3, size, size]} array, every element of which
   * is overwritten. A training loop that is done with one batch before asking for the next can
   * reuse its output: the page faults of a fresh batch-sized array can cost more than the
   * augmentation itself (benchmarks/README.md, "Augmentation").
   *
   * @return {@code out}
   */
  public INDArray apply(INDArray batch, long seed, INDArray out) {
    ImageOps.Batch in = checkedBatch(batch);
    long[] want = {in.n, 3, b.size, b.size};
    if (out == null || !Arrays.equals(out.shape(), want) || out.dataType() != DataType.FLOAT
        || out.ordering() != 'c' || out.isView() || out.offset() != 0
        || out.data().length() < out.length()) {
      throw new IllegalArgumentException(
          "out: expected a contiguous C-order FLOAT array " + Arrays.toString(want) + ", found "
              + (out == null ? "null"
                  : out.dataType() + " " + Arrays.toString(out.shape()) + " order "
                      + out.ordering() + (out.isView() ? " (a view)" : "")));
    }
    if (overlap(out.data(), batch.data())) {
      throw new IllegalArgumentException(
          "out: expected memory apart from batch's, found an array sharing memory with batch");
    }
    run(in, seed, out);
    return out;
  }

  /** Whether the native ranges of the two buffers share a byte (views: their whole buffers). */
  private static boolean overlap(DataBuffer x, DataBuffer y) {
    long x0 = x.address();
    long y0 = y.address();
    long x1 = x0 + x.length() * x.getElementSize();
    long y1 = y0 + y.length() * y.getElementSize();
    return x0 < y1 && y0 < x1;
  }

  private static ImageOps.Batch checkedBatch(INDArray batch) {
    if (batch == null || batch.rank() != 4 || batch.size(1) != 3) {
      throw new IllegalArgumentException(
          "batch: expected shape [N, 3, H, W], found "
              + (batch == null ? "null" : Arrays.toString(batch.shape())));
    }
    return ImageOps.Batch.of("batch", batch);
  }

  private void run(ImageOps.Batch in, long seed, INDArray out) {
    List<SampleParameters> p = sampleParameters(in.n, in.h, in.w, seed);
    int s = b.size;
    FloatBuffer dst = ImageOps.writable(out);
    int[] reflect = ImageKernels.reflectIndex(s, blurKernel / 2);
    IntStream.range(0, in.n).parallel().forEach(i -> {
      float[][] rgb = augmentOne(in, i, p.get(i), reflect);
      for (int ch = 0; ch < 3; ch++) {
        dst.put((i * 3 + ch) * s * s, rgb[ch], 0, s * s);
      }
    });
    ImageOps.published(out);
  }

  /** The stages of {@link #augmentOne}, in the order it runs them. */
  enum Stage {
    LOAD, DOWNSAMPLE, CROP_RESIZE, BRIGHTNESS, CONTRAST, SATURATION, HUE, GRAYSCALE, BLUR, FLIP,
    SOLARIZE, NORMALIZE
  }

  /**
   * Told, after each stage that {@link #augmentOne} runs for a sample, which stage it was and the
   * mark taken before it: the seam through which {@code AugmentCpuProfile} (augment's tests)
   * times the pipeline's real stages instead of a copy of them. {@link #NONE} costs two calls
   * per stage.
   */
  interface StageTimer {
    StageTimer NONE = new StageTimer() {
      @Override
      public long mark() {
        return 0;
      }

      @Override
      public void done(Stage stage, long mark) {}
    };

    long mark();

    void done(Stage stage, long mark);
  }

  /** Sample {@code i} through the pipeline; the result is in the returned scratch planes. */
  float[][] augmentOne(ImageOps.Batch in, int i, SampleParameters p, int[] reflect) {
    return augmentOne(in, i, p, reflect, StageTimer.NONE);
  }

  /** As {@link #augmentOne(ImageOps.Batch, int, SampleParameters, int[])}, reporting to {@code t}. */
  float[][] augmentOne(ImageOps.Batch in, int i, SampleParameters p, int[] reflect, StageTimer t) {
    int h = in.h;
    int w = in.w;
    int inPlane = h * w;
    float[] src = Scratch.buffer(Scratch.Buffer.SAMPLE, 3 * inPlane);
    long m = t.mark();
    if (p.downsampleResolution() > 0) {
      in.src.get(i * 3 * inPlane, src, 0, 3 * inPlane);
      t.done(Stage.LOAD, m);
      m = t.mark();
      int res = p.downsampleResolution();
      // Resize(res) keeps the aspect ratio, res on the shorter side, as torchvision's Resize.
      int dh = h <= w ? res : (int) ((long) res * h / w);
      int dw = h <= w ? (int) ((long) res * w / h) : res;
      float[] small = Scratch.buffer(Scratch.Buffer.DOWNSAMPLED, 3 * dh * dw);
      ImageKernels.Filter downRows = ImageKernels.Filter.antialiased(h, dh);
      ImageKernels.Filter downCols = ImageKernels.Filter.antialiased(w, dw);
      ImageKernels.Filter upRows = ImageKernels.Filter.antialiased(dh, h);
      ImageKernels.Filter upCols = ImageKernels.Filter.antialiased(dw, w);
      for (int ch = 0; ch < 3; ch++) {
        ImageKernels.cropResizePlane(src, ch * inPlane, w, 0, 0, h, downRows, downCols, small,
            ch * dh * dw);
      }
      for (int ch = 0; ch < 3; ch++) {
        ImageKernels.cropResizePlane(small, ch * dh * dw, dw, 0, 0, dh, upRows, upCols, src,
            ch * inPlane);
      }
      t.done(Stage.DOWNSAMPLE, m);
    } else {
      // Only the crop's rows are read: copy those, at their usual place in src.
      for (int ch = 0; ch < 3; ch++) {
        int from = ch * inPlane + p.top() * w;
        in.src.get(i * 3 * inPlane + from, src, from, p.cropHeight() * w);
      }
      t.done(Stage.LOAD, m);
    }
    m = t.mark();
    int s = b.size;
    int plane = s * s;
    float[][] rgb = Scratch.rgb(plane);
    float[] r = rgb[0];
    float[] g = rgb[1];
    float[] bl = rgb[2];
    ImageKernels.Filter rows = ImageKernels.Filter.antialiased(p.cropHeight(), s);
    ImageKernels.Filter cols = ImageKernels.Filter.antialiased(p.cropWidth(), s);
    for (int ch = 0; ch < 3; ch++) {
      ImageKernels.cropResizePlane(src, ch * inPlane, w, p.top(), p.left(), p.cropHeight(), rows,
          cols, rgb[ch], 0);
    }
    t.done(Stage.CROP_RESIZE, m);
    if (p.jitter()) {
      for (int op : p.jitterOrder()) {
        m = t.mark();
        switch (op) {
          case 0 -> {
            if (b.brightness > 0) { // torchvision drops a jitter op whose range is the identity
              ImageKernels.brightness(r, g, bl, plane, p.brightness());
              t.done(Stage.BRIGHTNESS, m);
            }
          }
          case 1 -> {
            if (b.contrast > 0) {
              ImageKernels.contrast(r, g, bl, plane, p.contrast());
              t.done(Stage.CONTRAST, m);
            }
          }
          case 2 -> {
            if (b.saturation > 0) {
              ImageKernels.saturation(r, g, bl, plane, p.saturation());
              t.done(Stage.SATURATION, m);
            }
          }
          default -> {
            if (b.hue > 0) {
              ImageKernels.hue(r, g, bl, plane, p.hue());
              t.done(Stage.HUE, m);
            }
          }
        }
      }
    }
    if (p.grayscale()) {
      m = t.mark();
      ImageKernels.grayscale3(r, g, bl, plane);
      t.done(Stage.GRAYSCALE, m);
    }
    if (p.blur()) {
      m = t.mark();
      float[] kern = ImageKernels.gaussianKernel(blurKernel, p.blurSigma());
      for (float[] c : rgb) {
        ImageKernels.blurPlane(c, 0, s, s, kern, reflect, reflect);
      }
      t.done(Stage.BLUR, m);
    }
    if (p.flip()) {
      m = t.mark();
      for (float[] c : rgb) {
        ImageKernels.flipPlane(c, 0, s, s);
      }
      t.done(Stage.FLIP, m);
    }
    if (p.solarize()) {
      m = t.mark();
      for (float[] c : rgb) {
        ImageKernels.solarize(c, 0, plane, b.solarizeThreshold);
      }
      t.done(Stage.SOLARIZE, m);
    }
    if (b.normalize) {
      m = t.mark();
      for (int ch = 0; ch < 3; ch++) {
        ImageKernels.normalize(rgb[ch], 0, plane, b.mean[ch], b.std[ch]);
      }
      t.done(Stage.NORMALIZE, m);
    }
    return rgb;
  }

  /**
   * Settings of the pipeline, initialised to StableRep's recipe at 224. Every setter returns
   * this builder; {@link #build()} validates and names the offending field.
   */
  public static final class Builder {
    private int size = 224;
    private double cropScaleMin = 0.08;
    private double cropScaleMax = 1.0;
    private double cropRatioMin = 3.0 / 4.0;
    private double cropRatioMax = 4.0 / 3.0;
    private double jitterProbability = 0.8;
    private double brightness = 0.4;
    private double contrast = 0.4;
    private double saturation = 0.4;
    private double hue = 0.1;
    private double grayscaleProbability = 0.2;
    private double blurProbability = 0.5;
    private double blurSigmaMin = 0.1;
    private double blurSigmaMax = 2.0;
    private int blurKernelSize = 0; // 0: about 10 % of size, odd
    private double flipProbability = 0.5;
    private double solarizeProbability = 0.0;
    private double solarizeThreshold = 0.5;
    private double downsampleProbability = 0.0;
    private int[] downsampleResolutions = {64, 128};
    private boolean normalize = true;
    private double[] mean = IMAGENET_MEAN.clone();
    private double[] std = IMAGENET_STD.clone();

    private Builder() {}

    private Builder copy() {
      Builder c = new Builder();
      c.size = size;
      c.cropScaleMin = cropScaleMin;
      c.cropScaleMax = cropScaleMax;
      c.cropRatioMin = cropRatioMin;
      c.cropRatioMax = cropRatioMax;
      c.jitterProbability = jitterProbability;
      c.brightness = brightness;
      c.contrast = contrast;
      c.saturation = saturation;
      c.hue = hue;
      c.grayscaleProbability = grayscaleProbability;
      c.blurProbability = blurProbability;
      c.blurSigmaMin = blurSigmaMin;
      c.blurSigmaMax = blurSigmaMax;
      c.blurKernelSize = blurKernelSize;
      c.flipProbability = flipProbability;
      c.solarizeProbability = solarizeProbability;
      c.solarizeThreshold = solarizeThreshold;
      c.downsampleProbability = downsampleProbability;
      c.downsampleResolutions = downsampleResolutions.clone();
      c.normalize = normalize;
      c.mean = mean.clone();
      c.std = std.clone();
      return c;
    }

    /** Output side of the square crop; default 224. */
    public Builder size(int size) {
      this.size = size;
      return this;
    }

    /** RandomResizedCrop's area fraction range; default [0.08, 1]. */
    public Builder cropScale(double min, double max) {
      this.cropScaleMin = min;
      this.cropScaleMax = max;
      return this;
    }

    /** RandomResizedCrop's aspect ratio (w/h) range, sampled log-uniformly; default [3/4, 4/3]. */
    public Builder cropRatio(double min, double max) {
      this.cropRatioMin = min;
      this.cropRatioMax = max;
      return this;
    }

    /** Probability of applying ColorJitter; default 0.8. */
    public Builder jitterProbability(double p) {
      this.jitterProbability = p;
      return this;
    }

    /** ColorJitter strengths, as torchvision's arguments; default (0.4, 0.4, 0.4, 0.1). */
    public Builder colorJitter(double brightness, double contrast, double saturation, double hue) {
      this.brightness = brightness;
      this.contrast = contrast;
      this.saturation = saturation;
      this.hue = hue;
      return this;
    }

    /** Probability of RandomGrayscale; default 0.2. */
    public Builder grayscaleProbability(double p) {
      this.grayscaleProbability = p;
      return this;
    }

    /** Probability of the Gaussian blur; default 0.5. */
    public Builder blurProbability(double p) {
      this.blurProbability = p;
      return this;
    }

    /** Range of the blur's sigma, sampled uniformly; default [0.1, 2.0]. */
    public Builder blurSigma(double min, double max) {
      this.blurSigmaMin = min;
      this.blurSigmaMax = max;
      return this;
    }

    /** An explicit odd blur kernel size; 0 (the default) means about 10 % of the side, odd. */
    public Builder blurKernelSize(int kernelSize) {
      this.blurKernelSize = kernelSize;
      return this;
    }

    /** Probability of the horizontal flip; default 0.5. */
    public Builder flipProbability(double p) {
      this.flipProbability = p;
      return this;
    }

    /** Probability and threshold of solarize; default off (0) with threshold 0.5. */
    public Builder solarize(double probability, double threshold) {
      this.solarizeProbability = probability;
      this.solarizeThreshold = threshold;
      return this;
    }

    /**
     * StableRep's optional downsample augmentation: with {@code probability}, resize the image
     * so its shorter side is one of {@code resolutions} (uniformly chosen), then back to its
     * input size. Default off (0), resolutions {64, 128}; the reference ran it with p 0.05.
     * The reference resizes back to a fixed shorter side of 256 (its {@code up_size}), which is
     * the input size for its 256×256 generated images.
     */
    public Builder downsample(double probability, int... resolutions) {
      this.downsampleProbability = probability;
      this.downsampleResolutions = resolutions == null ? null : resolutions.clone();
      return this;
    }

    /** Whether to normalise at the end; default true, with the ImageNet mean and std. */
    public Builder normalize(boolean normalize) {
      this.normalize = normalize;
      return this;
    }

    /** Per-channel mean and std of the final normalisation; default ImageNet's. */
    public Builder normalization(double[] mean, double[] std) {
      this.mean = mean == null ? null : mean.clone();
      this.std = std == null ? null : std.clone();
      return this;
    }

    /** Validates every field and builds the pipeline. */
    public SimClrAugmentation build() {
      if (size < 1) {
        throw new IllegalArgumentException("size: expected >= 1, found " + size);
      }
      checkRange("cropScale", cropScaleMin, cropScaleMax, 0, 1, false);
      checkRange("cropRatio", cropRatioMin, cropRatioMax, 0, Double.MAX_VALUE, false);
      checkProbability("jitterProbability", jitterProbability);
      checkStrength("brightness", brightness, Double.MAX_VALUE);
      checkStrength("contrast", contrast, Double.MAX_VALUE);
      checkStrength("saturation", saturation, Double.MAX_VALUE);
      checkStrength("hue", hue, 0.5);
      checkProbability("grayscaleProbability", grayscaleProbability);
      checkProbability("blurProbability", blurProbability);
      checkRange("blurSigma", blurSigmaMin, blurSigmaMax, 0, Double.MAX_VALUE, false);
      int k = blurKernelSize > 0 ? blurKernelSize : defaultKernel(size);
      if (blurKernelSize < 0 || k % 2 == 0 || k / 2 >= size) {
        throw new IllegalArgumentException(
            "blurKernelSize: expected 0 (automatic) or an odd size with kernelSize / 2 < size = "
                + size + ", found " + blurKernelSize + " (effective " + k + ")");
      }
      checkProbability("flipProbability", flipProbability);
      checkProbability("solarizeProbability", solarizeProbability);
      if (!(solarizeThreshold >= 0 && solarizeThreshold <= 1)) {
        throw new IllegalArgumentException(
            "solarizeThreshold: expected a value in [0, 1], found " + solarizeThreshold);
      }
      checkProbability("downsampleProbability", downsampleProbability);
      if (downsampleResolutions == null || downsampleResolutions.length == 0
          || Arrays.stream(downsampleResolutions).anyMatch(r -> r < 1)
          || Arrays.stream(downsampleResolutions).distinct().count()
              != downsampleResolutions.length) {
        throw new IllegalArgumentException(
            "downsampleResolutions: expected distinct positive resolutions, found "
                + Arrays.toString(downsampleResolutions));
      }
      if (mean == null || std == null || mean.length != 3 || std.length != 3
          || Arrays.stream(mean).anyMatch(v -> !Double.isFinite(v))
          || Arrays.stream(std).anyMatch(v -> !(v > 0) || !Double.isFinite(v))) {
        throw new IllegalArgumentException(
            "normalization: expected 3 finite means and 3 finite positive stds, found mean "
                + Arrays.toString(mean) + ", std " + Arrays.toString(std));
      }
      return new SimClrAugmentation(this);
    }

    private static void checkProbability(String name, double p) {
      if (!(p >= 0 && p <= 1)) {
        throw new IllegalArgumentException(name + ": expected a probability in [0, 1], found " + p);
      }
    }

    private static void checkStrength(String name, double v, double max) {
      if (!(v >= 0 && v <= max)) {
        throw new IllegalArgumentException(
            name + ": expected a value in [0, " + (max == Double.MAX_VALUE ? "inf" : max)
                + "], found " + v);
      }
    }

    private static void checkRange(
        String name, double min, double max, double lo, double hi, boolean loInclusive) {
      boolean ok = (loInclusive ? min >= lo : min > lo) && min <= max && max <= hi
          && Double.isFinite(min) && Double.isFinite(max);
      if (!ok) {
        throw new IllegalArgumentException(
            name + ": expected " + lo + " < min <= max <= " + (hi == Double.MAX_VALUE ? "inf" : hi)
                + ", found [" + min + ", " + max + "]");
      }
    }
  }
}
