package io.github.stablerep.eval;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.linalg.Matmul;
import io.github.stablerep.core.optim.WarmupCosineSchedule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntFunction;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * StableRep's ImageNet linear-probe protocol ({@code main_linear.py} of
 * google-research/syn-rep-learn): several linear classifiers ("heads"), one per base learning
 * rate, trained side by side by SGD on the same mini-batches of frozen features; the head with
 * the best validation top-1 is reported.
 *
 * <p>Semantics, as in the reference:
 * <ul>
 *   <li>Head h: {@code Linear(d, K)}, weights drawn from N(0, 0.01²), bias 0; optionally behind a
 *       {@code BatchNorm1d(d, affine=False, eps=1e-6)} ({@code --use_bn}, off by default).
 *   <li>Learning rate {@code lr_h = blr_h · batchSize / 256}; default base rates
 *       {@link #STABLEREP_BASE_LRS} {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5}.
 *   <li>Loss: the sum over heads of each head's mean cross-entropy on the batch; since the heads
 *       share no parameters, each head follows its own gradient.
 *   <li>{@code torch.optim.SGD}: momentum 0.9 (no dampening, no Nesterov), weight decay (default 0)
 *       added to the gradient of every parameter, bias included.
 *   <li>{@code CosineAnnealingLR(T_max = epochs · ⌊n / batchSize⌋, eta_min = 0)} stepped after
 *       every optimiser step: step s runs at {@code lr_h · ½ (1 + cos(π s / T))}.
 *   <li>Each epoch visits a fresh seeded permutation of the training rows in batches of
 *       {@code batchSize}; the last incomplete batch is dropped ({@code drop_last=True}).
 *   <li>With batch norm, training normalises each batch by its own mean and biased variance and
 *       updates running statistics (momentum 0.1, unbiased variance, starting at 0 and 1);
 *       evaluation uses the running statistics. The normalisation has no parameters, so all heads
 *       share one.
 * </ul>
 *
 * <p>Selection differs in one point, on purpose: the reference reports the maximum over heads
 * of the ImageNet-val accuracy, measured every 10 epochs, i.e. it chooses on the set it reports.
 * Here the head is chosen once, after the last epoch, on a validation set: the one passed to
 * {@link #fit(INDArray, int[], INDArray, int[])}, or a stratified {@code validationFraction} of
 * the training rows held out by {@link #fit(INDArray, int[])}. Ties go to the smaller learning
 * rate (the reference's strict {@code >} in list order). Evaluate the chosen head on a separate
 * test set.
 *
 * <p>Inputs differ in one more point: the reference trains on a fresh augmentation of every
 * image each epoch ({@code RandomResizedCrop(224)} and a flip, features recomputed by the frozen
 * encoder), while this class trains on the features it is given, typically one centre-crop view
 * per image extracted once ({@link FeatureExtractor}). To follow the reference more closely, pass
 * features of augmented views (e.g. several views per image stacked as rows).
 *
 * <p>Computation: the heads are stacked into one [H·K, d + 1] matrix (bias as the last column), so
 * a step is two GEMMs through the {@code Mmul} op whatever the number of heads, plus an O(B·H·K)
 * softmax in float64. GEMMs and parameters are in {@code dataType} (default float32, the
 * reference's type; float64 for parity checks).
 *
 * <pre>{@code
 * SgdProbeModel m = SgdProbe.builder().epochs(90).batchSize(1024).build()
 *     .fit(trainX, trainY, valX, valY);
 * ProbeResult test = m.evaluate(testX, testY);     // the best head
 * }</pre>
 */
public final class SgdProbe {

  private static final Logger LOG = LoggerFactory.getLogger(SgdProbe.class);

  /** {@code --base_lrs} of the reference's linear probe. */
  public static final double[] STABLEREP_BASE_LRS =
      {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5};

  private final double[] baseLrs;
  private final int batchSize;
  private final int epochs;
  private final double momentum;
  private final double weightDecay;
  private final boolean batchNorm;
  private final double batchNormEps;
  private final double batchNormMomentum;
  private final double initStd;
  private final double validationFraction;
  private final long seed;
  private final int numClasses;
  private final DataType dataType;
  private final ProgressListener progress;

  private SgdProbe(Builder b) {
    this.baseLrs = b.baseLrs.clone();
    this.batchSize = b.batchSize;
    this.epochs = b.epochs;
    this.momentum = b.momentum;
    this.weightDecay = b.weightDecay;
    this.batchNorm = b.batchNorm;
    this.batchNormEps = b.batchNormEps;
    this.batchNormMomentum = b.batchNormMomentum;
    this.initStd = b.initStd;
    this.validationFraction = b.validationFraction;
    this.seed = b.seed;
    this.numClasses = b.numClasses;
    this.dataType = b.dataType;
    this.progress = b.progress;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().baseLearningRates(baseLrs).batchSize(batchSize).epochs(epochs)
        .momentum(momentum).weightDecay(weightDecay).batchNorm(batchNorm)
        .batchNormEps(batchNormEps).batchNormMomentum(batchNormMomentum).initStd(initStd)
        .validationFraction(validationFraction).seed(seed).numClasses(numClasses)
        .dataType(dataType).progress(progress);
  }

  /** The actual learning rates {@code blr · batchSize / 256}, one per head. */
  public double[] learningRates() {
    double[] lr = new double[baseLrs.length];
    for (int h = 0; h < lr.length; h++) {
      lr[h] = WarmupCosineSchedule.baseLr(baseLrs[h], batchSize);
    }
    return lr;
  }

  /** Trains on a stratified {@code 1 − validationFraction} of train, chooses on the rest. */
  public SgdProbeModel fit(INDArray trainX, int[] trainY) {
    Inputs.checkFeatures("trainX", trainX, -1);
    int classes = Inputs.classCount("trainY", trainY, trainX.rows(), numClasses);
    int[][] split = Splits.stratified(trainY, classes, validationFraction, seed);
    return fit(trainX.getRows(split[0]), Splits.select(trainY, split[0]),
        trainX.getRows(split[1]), Splits.select(trainY, split[1]));
  }

  /** Trains every head on train, chooses the head with the best top-1 on val. */
  public SgdProbeModel fit(INDArray trainX, int[] trainY, INDArray valX, int[] valY) {
    Inputs.checkFeatures("trainX", trainX, -1);
    Inputs.checkFeatures("valX", valX, trainX.columns());
    int classes = Inputs.classCount("trainY", trainY, trainX.rows(), numClasses);
    Inputs.checkLabels("valY", valY, valX.rows(), classes);
    int n = (int) trainX.rows();
    checkArgument(batchSize <= n,
        "batchSize: expected at most the %s training rows (the incomplete batch is dropped), found %s",
        n, batchSize);
    int d = (int) trainX.columns();
    Random random = new Random(seed);
    double[][] init = new double[baseLrs.length][classes * d];
    for (double[] w : init) {
      for (int i = 0; i < w.length; i++) {
        w[i] = initStd * random.nextGaussian();
      }
    }
    // one permutation per epoch, drawn when the epoch starts (in epoch order, so the stream is
    // fixed by the seed): 90 epochs of ImageNet's 1.28 M rows would not fit in memory at once
    return train(trainX, trainY, classes, init, epoch -> permutation(random, n), valX, valY);
  }

  /**
   * The training loop with given initial weights ({@code init[h]} is head h's [K, d] row-major)
   * and row order ({@code order.apply(e)}, called once per epoch in order: the rows of epoch e,
   * consumed in consecutive batches). Package-private so that the PyTorch parity test can feed
   * the reference's draws.
   */
  SgdProbeModel train(INDArray trainX, int[] trainY, int classes, double[][] init,
      IntFunction<int[]> order, INDArray valX, int[] valY) {
    int heads = baseLrs.length;
    int d = (int) trainX.columns();
    int cols = d + 1;
    int rows = heads * classes;
    int stepsPerEpoch = (int) (trainX.rows() / batchSize);
    long total = (long) epochs * stepsPerEpoch;
    double[] lrs = learningRates();

    RowSource source = new RowSource(trainX, dataType);
    double[] theta0 = new double[rows * cols];
    for (int h = 0; h < heads; h++) {
      for (int k = 0; k < classes; k++) {
        System.arraycopy(init[h], k * d, theta0, (h * classes + k) * cols, d);
      }
    }
    INDArray theta = Nd4j.create(theta0, new long[] {rows, cols}, 'c').castTo(dataType);
    // u_h = lr_h · v_h, torch's momentum buffer pre-scaled by the head's peak rate, so that the
    // per-head rates ride in the (P − Y) rows of the gradient GEMM and the update is one axpy
    // with the shared cosine factor: θ −= c(s) · u. Same arithmetic as torch up to rounding.
    INDArray velocity = Nd4j.zeros(dataType, rows, cols);
    INDArray grad = Nd4j.create(dataType, rows, cols);
    INDArray xb = Nd4j.create(dataType, batchSize, cols); // [x̃ | 1]
    INDArray logits = Nd4j.create(dataType, batchSize, rows);
    INDArray residual = Nd4j.create(dataType, batchSize, rows);
    double[] batch = new double[batchSize * cols];
    double[] runMean = new double[d];
    double[] runVar = new double[d];
    Arrays.fill(runVar, 1.0);
    double[][] epochLoss = new double[heads][epochs];
    WarmupCosineSchedule cosine = WarmupCosineSchedule.builder().baseLr(1.0).minLr(0)
        .warmupSteps(0).totalSteps(total).build();
    int[] batchIdx = new int[batchSize];
    int[] batchY = new int[batchSize];
    // views of each head's rows, made once: theta and grad are updated in place
    INDArray[] thetaOfHead = new INDArray[heads];
    INDArray[] gradOfHead = new INDArray[heads];
    for (int h = 0; h < heads; h++) {
      thetaOfHead[h] = theta.get(NDArrayIndex.interval(h * classes, (h + 1) * classes), NDArrayIndex.all());
      gradOfHead[h] = grad.get(NDArrayIndex.interval(h * classes, (h + 1) * classes), NDArrayIndex.all());
    }
    long done = 0;
    for (int e = 0; e < epochs; e++) {
      int[] epochOrder = order.apply(e);
      for (int b = 0; b < stepsPerEpoch; b++) {
        System.arraycopy(epochOrder, b * batchSize, batchIdx, 0, batchSize);
        for (int i = 0; i < batchSize; i++) {
          batchY[i] = trainY[batchIdx[i]];
        }
        source.gather(batchIdx, batch, cols);
        if (batchNorm) {
          normaliseBatch(batch, cols, runMean, runVar);
        }
        xb.data().setData(batch);
        Matmul.into(xb, theta, false, true, logits);
        double[] z = logits.data().asDouble();
        for (int h = 0; h < heads; h++) {
          epochLoss[h][e] +=
              softmaxResidual(z, batchY, h * classes, classes, rows, lrs[h]) / stepsPerEpoch;
        }
        residual.data().setData(z);
        Matmul.into(residual, xb, true, false, grad);
        if (weightDecay != 0) {
          // coupled decay, pre-scaled like the gradient: lr_h · wd · θ_h on head h's rows
          for (int h = 0; h < heads; h++) {
            Nd4j.getBlasWrapper().level1().axpy((long) classes * cols, weightDecay * lrs[h],
                thetaOfHead[h], gradOfHead[h]);
          }
        }
        velocity.muli(momentum).addi(grad);
        double c = cosine.valueAt((double) done);
        Nd4j.getBlasWrapper().level1().axpy(theta.length(), -c, velocity, theta);
        progress.onProgress(++done, total);
      }
      if (LOG.isDebugEnabled()) {
        double best = Double.POSITIVE_INFINITY;
        for (int h = 0; h < heads; h++) {
          best = Math.min(best, epochLoss[h][e]);
        }
        LOG.debug("SGD probe epoch {}/{}: lowest mean training loss over heads {}", e + 1, epochs, best);
      }
    }

    Standardizer st;
    if (batchNorm) {
      double[] scale = new double[d];
      for (int j = 0; j < d; j++) {
        scale[j] = Math.sqrt(runVar[j] + batchNormEps);
      }
      st = Standardizer.of(runMean, scale);
    } else {
      st = Standardizer.identity(d);
    }
    double[] thetaAll = theta.castTo(DataType.DOUBLE).data().asDouble();
    List<SgdProbeModel.Head> result = new ArrayList<>();
    for (int h = 0; h < heads; h++) {
      double[] th = Arrays.copyOfRange(thetaAll, h * classes * cols, (h + 1) * classes * cols);
      double finalLoss = epochLoss[h][epochs - 1];
      LinearProbeModel model = new LinearProbeModel(st, th, classes, weightDecay,
          new java.util.TreeMap<>(), finalLoss, (int) total, Double.isFinite(finalLoss), dataType);
      double valTop1 = ProbeResult.of(valY, model.predict(valX), classes, weightDecay,
          new java.util.TreeMap<>()).top1();
      result.add(new SgdProbeModel.Head(baseLrs[h], lrs[h], valTop1, epochLoss[h].clone(), model));
    }
    return new SgdProbeModel(result);
  }

  /**
   * Training-mode BatchNorm without affine parameters, in place on the first d columns of the
   * [B, d + 1] batch: batch mean and biased variance normalise; the running statistics take
   * the unbiased variance (torch's BatchNorm1d). Accumulated in float64.
   */
  private void normaliseBatch(double[] batch, int cols, double[] runMean, double[] runVar) {
    int d = cols - 1;
    int n = batch.length / cols;
    for (int j = 0; j < d; j++) {
      double mean = 0;
      for (int i = 0; i < n; i++) {
        mean += batch[i * cols + j];
      }
      mean /= n;
      double ss = 0;
      for (int i = 0; i < n; i++) {
        double t = batch[i * cols + j] - mean;
        ss += t * t;
      }
      double var = ss / n;
      double inv = 1.0 / Math.sqrt(var + batchNormEps);
      for (int i = 0; i < n; i++) {
        batch[i * cols + j] = (batch[i * cols + j] - mean) * inv;
      }
      double unbiased = n > 1 ? ss / (n - 1) : var;
      runMean[j] = (1 - batchNormMomentum) * runMean[j] + batchNormMomentum * mean;
      runVar[j] = (1 - batchNormMomentum) * runVar[j] + batchNormMomentum * unbiased;
    }
  }

  /**
   * For the K columns of one head starting at {@code offset} in the [B, stride] logits: returns
   * the mean cross-entropy and overwrites the logits with {@code scale} · ∂(mean CE)/∂logits =
   * scale · (P − Y) / B.
   */
  private static double softmaxResidual(double[] z, int[] y, int offset, int classes, int stride,
      double scale) {
    int n = y.length;
    double loss = 0;
    for (int i = 0; i < n; i++) {
      int o = i * stride + offset;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        max = Math.max(max, z[o + c]);
      }
      double zy = z[o + y[i]];
      double sum = 0;
      for (int c = 0; c < classes; c++) {
        double ex = Math.exp(z[o + c] - max);
        z[o + c] = ex;
        sum += ex;
      }
      loss += max + Math.log(sum) - zy;
      double inv = scale / (sum * n);
      for (int c = 0; c < classes; c++) {
        z[o + c] *= inv;
      }
      z[o + y[i]] -= scale / n;
    }
    return loss / n;
  }

  /**
   * Copies training rows into the Java batch buffer. {@code getRows} and the gather op cost
   * milliseconds per call on this backend (TAD-based paths), more than a step's GEMMs on small
   * problems, so features up to 2^28 values are copied once into a Java array and gathered in
   * Java; larger sets (ImageNet-sized) gather with {@code getRows}, whose cost is then small
   * next to the GEMMs.
   */
  private static final class RowSource {
    private static final long JAVA_COPY_LIMIT = 1L << 28;
    private final INDArray x;
    private final int d;
    private final float[] floats;
    private final double[] doubles;

    RowSource(INDArray trainX, DataType type) {
      this.x = trainX.dataType() == type ? trainX : trainX.castTo(type);
      this.d = (int) trainX.columns();
      boolean copy = trainX.length() <= JAVA_COPY_LIMIT;
      INDArray c = copy ? x.dup('c') : null;
      this.floats = copy && type == DataType.FLOAT ? c.data().asFloat() : null;
      this.doubles = copy && type == DataType.DOUBLE ? c.data().asDouble() : null;
    }

    /** Rows {@code idx} into {@code out} ([B, cols] row-major), the last column set to 1. */
    void gather(int[] idx, double[] out, int cols) {
      if (floats == null && doubles == null) {
        double[] rows = x.getRows(idx).dup('c').data().asDouble();
        for (int i = 0; i < idx.length; i++) {
          System.arraycopy(rows, i * d, out, i * cols, d);
          out[i * cols + d] = 1.0;
        }
        return;
      }
      for (int i = 0; i < idx.length; i++) {
        int src = idx[i] * d;
        int dst = i * cols;
        if (doubles != null) {
          System.arraycopy(doubles, src, out, dst, d);
        } else {
          for (int j = 0; j < d; j++) {
            out[dst + j] = floats[src + j];
          }
        }
        out[dst + d] = 1.0;
      }
    }
  }


  /** A uniformly random permutation of 0..n−1 (Fisher–Yates), drawn from {@code r}. */
  static int[] permutation(Random r, int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /**
   * Defaults from the reference's {@code main_linear.py}: its ten base learning rates, batch 128
   * (its per-device default, world size 1), 90 epochs, momentum 0.9, weight decay 0, no batch
   * norm (eps 1e-6 when enabled), init std 0.01; plus float32 and a 20 % validation hold-out
   * for {@link SgdProbe#fit(INDArray, int[])}.
   */
  public static final class Builder {
    private double[] baseLrs = STABLEREP_BASE_LRS.clone();
    private int batchSize = 128;
    private int epochs = 90;
    private double momentum = 0.9;
    private double weightDecay = 0;
    private boolean batchNorm = false;
    private double batchNormEps = 1e-6;
    private double batchNormMomentum = 0.1;
    private double initStd = 0.01;
    private double validationFraction = 0.2;
    private long seed = 0;
    private int numClasses = 0;
    private DataType dataType = DataType.FLOAT;
    private ProgressListener progress = ProgressListener.NONE;

    private Builder() {}

    /** One head per base rate; each trains at {@code blr · batchSize / 256}. */
    public Builder baseLearningRates(double... baseLrs) {
      this.baseLrs = baseLrs == null ? null : baseLrs.clone();
      return this;
    }

    /** Rows per step (the global batch: the learning rates scale with it). */
    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    public Builder epochs(int epochs) {
      this.epochs = epochs;
      return this;
    }

    public Builder momentum(double momentum) {
      this.momentum = momentum;
      return this;
    }

    /** torch's coupled weight decay, added to the gradient of weights and biases. */
    public Builder weightDecay(double weightDecay) {
      this.weightDecay = weightDecay;
      return this;
    }

    /** The reference's {@code --use_bn}: a parameter-free BatchNorm1d in front of every head. */
    public Builder batchNorm(boolean batchNorm) {
      this.batchNorm = batchNorm;
      return this;
    }

    public Builder batchNormEps(double eps) {
      this.batchNormEps = eps;
      return this;
    }

    /** Weight of the new batch in the running statistics (torch's BatchNorm momentum). */
    public Builder batchNormMomentum(double momentum) {
      this.batchNormMomentum = momentum;
      return this;
    }

    /** Standard deviation of the initial weights. */
    public Builder initStd(double initStd) {
      this.initStd = initStd;
      return this;
    }

    /** Fraction of train held out (stratified) to choose the head when no validation set is given. */
    public Builder validationFraction(double fraction) {
      this.validationFraction = fraction;
      return this;
    }

    /** Seed of the initial weights, the batch order and the validation split. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Number of classes K; 0 (default) infers max(trainY) + 1. */
    public Builder numClasses(int numClasses) {
      this.numClasses = numClasses;
      return this;
    }

    /** Type of the parameters and GEMMs: FLOAT (default) or DOUBLE. */
    public Builder dataType(DataType dataType) {
      this.dataType = dataType;
      return this;
    }

    /** Called after every step with (steps done, total steps). */
    public Builder progress(ProgressListener progress) {
      this.progress = progress;
      return this;
    }

    public SgdProbe build() {
      checkArgument(baseLrs != null && baseLrs.length >= 1,
          "baseLearningRates: expected at least one rate, found %s", Arrays.toString(baseLrs));
      for (int i = 0; i < baseLrs.length; i++) {
        checkArgument(Double.isFinite(baseLrs[i]) && baseLrs[i] > 0,
            "baseLearningRates: expected finite values > 0, found %s at index %s", baseLrs[i], (Object) i);
      }
      checkArgument(batchSize >= 1, "batchSize: expected >= 1, found %s", batchSize);
      checkArgument(epochs >= 1, "epochs: expected >= 1, found %s", epochs);
      checkArgument(momentum >= 0 && momentum < 1,
          "momentum: expected a value in [0, 1), found %s", momentum);
      checkArgument(Double.isFinite(weightDecay) && weightDecay >= 0,
          "weightDecay: expected a finite value >= 0, found %s", weightDecay);
      checkArgument(Double.isFinite(batchNormEps) && batchNormEps > 0,
          "batchNormEps: expected a finite value > 0, found %s", batchNormEps);
      checkArgument(batchNormMomentum > 0 && batchNormMomentum <= 1,
          "batchNormMomentum: expected a value in (0, 1], found %s", batchNormMomentum);
      checkArgument(Double.isFinite(initStd) && initStd >= 0,
          "initStd: expected a finite value >= 0, found %s", initStd);
      checkArgument(validationFraction > 0 && validationFraction < 1,
          "validationFraction: expected a value in (0, 1), found %s", validationFraction);
      checkArgument(numClasses >= 0, "numClasses: expected >= 0 (0 infers), found %s", numClasses);
      checkArgument(dataType == DataType.FLOAT || dataType == DataType.DOUBLE,
          "dataType: expected FLOAT or DOUBLE, found %s", dataType);
      checkArgument(progress != null, "progress: expected a listener (ProgressListener.NONE for none), found null");
      return new SgdProbe(this);
    }
  }
}
