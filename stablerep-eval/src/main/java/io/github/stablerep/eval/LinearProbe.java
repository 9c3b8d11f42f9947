package io.github.stablerep.eval;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.SortedMap;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The linear-probe protocol of CLIP/SynCLR: multinomial logistic regression on frozen, z-scored
 * features, fitted by L-BFGS, with the L2 strength chosen on a validation split.
 *
 * <p>For a given λ it minimises, over W [K, d] and an unpenalised bias b [K],
 *
 * <pre>
 *   f(W, b) = (1/n) Σ_i −log softmax(W x̃_i + b)[y_i] + (λ/2) ‖W‖²
 * </pre>
 *
 * on features z-scored with training statistics, x̃ = (x − μ) / σ (population σ; σ = 0 → 1).
 * scikit-learn's {@code LogisticRegression(multi_class="multinomial", C=1/(λ n))} solves the
 * same problem.
 *
 * <p>Protocol of {@link #fit(INDArray, int[])}: with more than one λ, the training set is split
 * (stratified by class, seeded) into a fitting part and a validation part of
 * {@code validationFraction}, unless {@link #fit(INDArray, int[], INDArray, int[])} is given one.
 * λ is swept over {@code count} log-spaced values from large to small, each fit warm-started from
 * the previous solution (a large λ is an easy problem whose solution is a good start for the next
 * one). The λ with the best validation accuracy wins; ties go to the larger λ, the simpler
 * model. The winner is refit on train + validation (re-standardised on their union) and
 * returned.
 *
 * <p>Precision: the GEMMs run in {@code dataType} (default float64); the softmax, the loss and
 * the L-BFGS vectors are always float64. Measured on the digits parity set (LinearProbeGoldenTest):
 * at scikit-learn's own solution our objective agrees to 6e-16 relative with float64 GEMMs and to
 * 1.3e-7 with float32; fitted, both land within 1.4e-6 of scikit-learn's optimum (tolerance 1e-4).
 * float64 is the default because it leaves the solver's stopping tests free of GEMM rounding
 * (float32 gradients carry about 1e-7 relative noise, which matters for small λ on
 * ill-conditioned features); float32 runs on the faster oneDNN GEMM path and is the choice for
 * large feature sets.
 *
 * <pre>{@code
 * LinearProbeModel model = LinearProbe.builder().build().fit(trainX, trainY);
 * ProbeResult result = model.evaluate(testX, testY);
 * }</pre>
 */
public final class LinearProbe {

  private static final Logger LOG = LoggerFactory.getLogger(LinearProbe.class);

  private final double lambdaMin;
  private final double lambdaMax;
  private final int lambdaCount;
  private final double validationFraction;
  private final int maxIterations;
  private final int history;
  private final double gradientTolerance;
  private final double relativeTolerance;
  private final long seed;
  private final int numClasses;
  private final DataType dataType;

  private LinearProbe(Builder b) {
    this.lambdaMin = b.lambdaMin;
    this.lambdaMax = b.lambdaMax;
    this.lambdaCount = b.lambdaCount;
    this.validationFraction = b.validationFraction;
    this.maxIterations = b.maxIterations;
    this.history = b.history;
    this.gradientTolerance = b.gradientTolerance;
    this.relativeTolerance = b.relativeTolerance;
    this.seed = b.seed;
    this.numClasses = b.numClasses;
    this.dataType = b.dataType;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder()
        .regularizationSweep(lambdaMin, lambdaMax, lambdaCount)
        .validationFraction(validationFraction)
        .maxIterations(maxIterations)
        .history(history)
        .gradientTolerance(gradientTolerance)
        .relativeTolerance(relativeTolerance)
        .seed(seed)
        .numClasses(numClasses)
        .dataType(dataType);
  }

  /** The swept λ values, ascending: λ_i = λ_min · (λ_max/λ_min)^(i/(count−1)). */
  public double[] lambdas() {
    double[] grid = new double[lambdaCount];
    if (lambdaCount == 1) {
      grid[0] = lambdaMin;
      return grid;
    }
    double lo = Math.log10(lambdaMin);
    double hi = Math.log10(lambdaMax);
    for (int i = 0; i < lambdaCount; i++) {
      // as numpy.logspace, so the grid is the one scikit-learn is swept over in the goldens
      grid[i] = Math.pow(10, lo + (hi - lo) * i / (lambdaCount - 1));
    }
    return grid;
  }

  /** Fits with a validation split of the training set (none when a single λ is given). */
  public LinearProbeModel fit(INDArray trainX, int[] trainY) {
    Inputs.checkFeatures("trainX", trainX, -1);
    int classes = Inputs.classCount("trainY", trainY, trainX.rows(), numClasses);
    if (lambdaCount == 1) {
      return refit(trainX, trainY, classes, lambdaMin, null, new TreeMap<>());
    }
    int[][] split = Splits.stratified(trainY, classes, validationFraction, seed);
    INDArray fitX = rows(trainX, split[0]);
    INDArray valX = rows(trainX, split[1]);
    return sweepAndRefit(fitX, Splits.select(trainY, split[0]), valX, Splits.select(trainY, split[1]), classes,
        trainX, trainY);
  }

  /** Fits with a given validation set; the refit uses train + validation. */
  public LinearProbeModel fit(INDArray trainX, int[] trainY, INDArray valX, int[] valY) {
    Inputs.checkFeatures("trainX", trainX, -1);
    Inputs.checkFeatures("valX", valX, trainX.columns());
    int classes = Inputs.classCount("trainY", trainY, trainX.rows(), numClasses);
    Inputs.checkLabels("valY", valY, valX.rows(), classes);
    INDArray allX = Nd4j.vstack(trainX.castTo(DataType.DOUBLE), valX.castTo(DataType.DOUBLE));
    int[] allY = new int[trainY.length + valY.length];
    System.arraycopy(trainY, 0, allY, 0, trainY.length);
    System.arraycopy(valY, 0, allY, trainY.length, valY.length);
    if (lambdaCount == 1) {
      return refit(allX, allY, classes, lambdaMin, null, new TreeMap<>());
    }
    return sweepAndRefit(trainX, trainY, valX, valY, classes, allX, allY);
  }

  private LinearProbeModel sweepAndRefit(INDArray fitX, int[] fitY, INDArray valX, int[] valY,
      int classes, INDArray allX, int[] allY) {
    Standardizer st = Standardizer.fit(fitX);
    INDArray xb = st.applyWithBias(fitX, dataType);
    double[] grid = lambdas();
    SortedMap<Double, Double> curve = new TreeMap<>();
    double[] theta = new double[classes * (int) xb.columns()];
    SoftmaxObjective objective = new SoftmaxObjective(xb, fitY, classes, grid[grid.length - 1]);
    double bestAcc = -1;
    double bestLambda = grid[grid.length - 1];
    double[] bestTheta = theta;
    for (int i = grid.length - 1; i >= 0; i--) {
      double lambda = grid[i];
      objective.setLambda(lambda);
      Lbfgs.Result r = solve(objective, theta, lambda);
      theta = r.x();
      LinearProbeModel m = new LinearProbeModel(st, theta, classes, lambda, new TreeMap<>(),
          r.value(), r.iterations(), r.converged(), dataType);
      double acc = ProbeResult.of(valY, m.predict(valX), classes, lambda, curve).top1();
      curve.put(lambda, acc);
      // strictly better only: walking down from the largest λ, ties keep the larger one
      if (acc > bestAcc) {
        bestAcc = acc;
        bestLambda = lambda;
        bestTheta = theta;
      }
    }
    return refit(allX, allY, classes, bestLambda, bestTheta, curve);
  }

  private LinearProbeModel refit(INDArray x, int[] y, int classes, double lambda, double[] init,
      SortedMap<Double, Double> curve) {
    Standardizer st = Standardizer.fit(x);
    INDArray xb = st.applyWithBias(x, dataType);
    SoftmaxObjective objective = new SoftmaxObjective(xb, y, classes, lambda);
    double[] start = init != null ? init : new double[objective.dimension()];
    Lbfgs.Result r = solve(objective, start, lambda);
    return new LinearProbeModel(st, r.x(), classes, lambda, curve, r.value(), r.iterations(),
        r.converged(), dataType);
  }

  private Lbfgs.Result solve(SoftmaxObjective objective, double[] start, double lambda) {
    Lbfgs.Result r = Lbfgs.minimize(objective::evaluate, start, maxIterations, history,
        gradientTolerance, relativeTolerance);
    if (r.stop() == Lbfgs.Stop.MAX_ITERATIONS) {
      LOG.warn("L-BFGS stopped at maxIterations={} for lambda={} before converging: max|grad| = {}"
              + " > gradientTolerance={}, objective {}", maxIterations, lambda,
          r.gradientMaxNorm(), gradientTolerance, r.value());
    } else if (r.stop() == Lbfgs.Stop.LINE_SEARCH) {
      LOG.debug("L-BFGS for lambda={} stopped after {} iterations: the line search found no"
          + " decrease (rounding floor), max|grad| = {}", lambda, r.iterations(), r.gradientMaxNorm());
    }
    return r;
  }


  private static INDArray rows(INDArray x, int[] idx) {
    return x.getRows(idx);
  }

  /** Defaults: the 45-value sweep over [1e-6, 1e5], 20 % validation, 1000 iterations, fp64. */
  public static final class Builder {
    private double lambdaMin = 1e-6;
    private double lambdaMax = 1e5;
    private int lambdaCount = 45;
    private double validationFraction = 0.2;
    private int maxIterations = 1000;
    private int history = 15;
    private double gradientTolerance = 1e-6;
    private double relativeTolerance = 1e-10;
    private long seed = 0;
    private int numClasses = 0;
    private DataType dataType = DataType.DOUBLE;

    private Builder() {}

    /**
     * Does nothing: L-BFGS is this class's only solver, and no setting of this builder selects
     * another. The SGD protocol (StableRep's ImageNet probe: parallel heads over learning rates,
     * no λ sweep) is a separate class with its own model type, {@link SgdProbe}; choose between
     * the two by the class you build. The L-BFGS settings are {@link #history},
     * {@link #gradientTolerance}, {@link #relativeTolerance} and {@link #maxIterations}.
     *
     * @deprecated a no-op kept so that existing builder chains compile; drop the call. To be
     *     removed.
     */
    @Deprecated(forRemoval = true)
    public Builder lbfgs() {
      return this;
    }

    /** λ over {@code count} log-spaced values in [min, max]; a single λ is (l, l, 1). */
    public Builder regularizationSweep(double min, double max, int count) {
      this.lambdaMin = min;
      this.lambdaMax = max;
      this.lambdaCount = count;
      return this;
    }

    /** Fraction of train held out (stratified) to choose λ when no validation set is given. */
    public Builder validationFraction(double fraction) {
      this.validationFraction = fraction;
      return this;
    }

    public Builder maxIterations(int maxIterations) {
      this.maxIterations = maxIterations;
      return this;
    }

    /** Number of (s, y) pairs L-BFGS keeps. */
    public Builder history(int history) {
      this.history = history;
      return this;
    }

    /** Converged when max|∇f| is at most this. */
    public Builder gradientTolerance(double tolerance) {
      this.gradientTolerance = tolerance;
      return this;
    }

    /** Converged when (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) is at most this. */
    public Builder relativeTolerance(double tolerance) {
      this.relativeTolerance = tolerance;
      return this;
    }

    /** Seed of the stratified validation split. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Number of classes K; 0 (default) infers max(trainY) + 1. */
    public Builder numClasses(int numClasses) {
      this.numClasses = numClasses;
      return this;
    }

    /** Type of the GEMMs: FLOAT or DOUBLE (default). */
    public Builder dataType(DataType dataType) {
      this.dataType = dataType;
      return this;
    }

    public LinearProbe build() {
      checkArgument(Double.isFinite(lambdaMin) && lambdaMin > 0,
          "lambdaMin: expected a finite value > 0, found %s", lambdaMin);
      checkArgument(Double.isFinite(lambdaMax) && lambdaMax >= lambdaMin,
          "lambdaMax: expected a finite value >= lambdaMin (%s), found %s", lambdaMin, lambdaMax);
      checkArgument(lambdaCount >= 1, "lambdaCount: expected >= 1, found %s", lambdaCount);
      checkArgument(lambdaCount == 1 || lambdaMax > lambdaMin,
          "lambdaMax: expected > lambdaMin (%s) for a sweep of %s values, found %s", lambdaMin,
          lambdaCount, lambdaMax);
      checkArgument(lambdaCount > 1 || lambdaMax == lambdaMin,
          "lambdaMax: expected == lambdaMin (%s) for a single lambda, found %s", lambdaMin, lambdaMax);
      checkArgument(validationFraction > 0 && validationFraction < 1,
          "validationFraction: expected a value in (0, 1), found %s", validationFraction);
      checkArgument(maxIterations >= 1, "maxIterations: expected >= 1, found %s", maxIterations);
      checkArgument(history >= 1 && history <= 1000,
          "history: expected a value in [1, 1000], found %s", history);
      checkArgument(gradientTolerance >= 0 && Double.isFinite(gradientTolerance),
          "gradientTolerance: expected a finite value >= 0, found %s", gradientTolerance);
      checkArgument(relativeTolerance >= 0 && Double.isFinite(relativeTolerance),
          "relativeTolerance: expected a finite value >= 0, found %s", relativeTolerance);
      checkArgument(numClasses >= 0, "numClasses: expected >= 0 (0 infers), found %s", numClasses);
      checkArgument(dataType == DataType.FLOAT || dataType == DataType.DOUBLE,
          "dataType: expected FLOAT or DOUBLE, found %s", dataType);
      return new LinearProbe(this);
    }
  }
}
