package io.github.stablerep.core.optim;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Adam as torch computes it, as an ND4J {@link IUpdater} for SameDiff's {@code fit}: the update
 * at iteration i (t = i + 1) is
 *
 * <pre>
 *   m ← β1·m + (1 − β1)·g      v ← β2·v + (1 − β2)·g²
 *   u = η_i · (m / (1 − β1^t)) / (√v / √(1 − β2^t) + ε)
 * </pre>
 *
 * ND4J's {@code Adam} computes η·√(1 − β2^t)/(1 − β1^t) · m/(√v + ε), i.e. ε on √v rather than
 * on √v̂; the two differ while v is of order ε², which is why AdamW's {@code fit} path uses this
 * one. The step t comes from SameDiff's global iteration counter, so it is the same for every
 * parameter. Pair it with {@link DecoupledWeightDecay} for AdamW; see {@link
 * AdamW#trainingConfig}.
 */
public final class TorchAdam implements IUpdater {

  private static final long serialVersionUID = 1L;

  private ISchedule learningRate;
  private final double beta1;
  private final double beta2;
  private final double epsilon;

  @JsonCreator
  public TorchAdam(
      @JsonProperty("learningRate") ISchedule learningRate,
      @JsonProperty("beta1") double beta1,
      @JsonProperty("beta2") double beta2,
      @JsonProperty("epsilon") double epsilon) {
    checkArgument(learningRate != null, "learningRate: expected a schedule, found null");
    checkArgument(beta1 >= 0 && beta1 < 1, "beta1: expected a value in [0, 1), found %s", beta1);
    checkArgument(beta2 >= 0 && beta2 < 1, "beta2: expected a value in [0, 1), found %s", beta2);
    checkArgument(Double.isFinite(epsilon) && epsilon > 0, "epsilon: expected a finite value > 0, found %s", epsilon);
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
  }

  @JsonProperty("learningRate")
  public ISchedule learningRateSchedule() {
    return learningRate;
  }

  @JsonProperty("beta1")
  public double beta1() {
    return beta1;
  }

  @JsonProperty("beta2")
  public double beta2() {
    return beta2;
  }

  @JsonProperty("epsilon")
  public double epsilon() {
    return epsilon;
  }

  @Override
  public long stateSize(long numParams) {
    return 2 * numParams;
  }

  @Override
  public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
    Updater u = new Updater(this);
    if (viewArray != null) {
      u.setStateViewArray(viewArray, new long[] {viewArray.length() / 2}, 'c', initializeViewArray);
    }
    return u;
  }

  @Override
  public GradientUpdater instantiate(Map<String, INDArray> updaterState, boolean initializeStateArrays) {
    Updater u = new Updater(this);
    u.setState(updaterState, initializeStateArrays);
    return u;
  }

  @Override
  public TorchAdam clone() {
    return new TorchAdam(learningRate.clone(), beta1, beta2, epsilon);
  }

  @Override
  public double getLearningRate(int iteration, int epoch) {
    return learningRate.valueAt(iteration, epoch);
  }

  @Override
  public boolean hasLearningRate() {
    return true;
  }

  @Override
  public void setLrAndSchedule(double lr, ISchedule lrSchedule) {
    this.learningRate = lrSchedule != null ? lrSchedule : new FixedSchedule(lr);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TorchAdam a
        && learningRate.equals(a.learningRate)
        && Double.compare(beta1, a.beta1) == 0
        && Double.compare(beta2, a.beta2) == 0
        && Double.compare(epsilon, a.epsilon) == 0;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(learningRate, beta1, beta2, epsilon);
  }

  @Override
  public String toString() {
    return "TorchAdam{lr=" + learningRate + ", betas=(" + beta1 + ", " + beta2 + "), eps=" + epsilon + "}";
  }

  /** The per-variable state: m and v as views into SameDiff's updater-state array. */
  static final class Updater implements GradientUpdater<TorchAdam> {
    static final String M_STATE = "M";
    static final String V_STATE = "V";

    private final TorchAdam config;
    private INDArray m;
    private INDArray v;

    Updater(TorchAdam config) {
      this.config = config;
    }

    @Override
    public TorchAdam getConfig() {
      return config;
    }

    @Override
    public void setState(Map<String, INDArray> stateMap, boolean initialize) {
      checkArgument(
          stateMap != null && stateMap.size() == 2 && stateMap.containsKey(M_STATE) && stateMap.containsKey(V_STATE),
          "stateMap: expected exactly the keys [M, V], found %s", stateMap == null ? null : stateMap.keySet());
      this.m = stateMap.get(M_STATE);
      this.v = stateMap.get(V_STATE);
      if (initialize) {
        m.assign(0);
        v.assign(0);
      }
    }

    @Override
    public Map<String, INDArray> getState() {
      Map<String, INDArray> r = new HashMap<>();
      r.put(M_STATE, m);
      r.put(V_STATE, v);
      return r;
    }

    @Override
    public void setStateViewArray(INDArray viewArray, long[] gradientShape, char gradientOrder, boolean initialize) {
      if (initialize) {
        viewArray.assign(0);
      }
      INDArray flat = viewArray.reshape(viewArray.length());
      long n = flat.length() / 2;
      // views, not copies: SameDiff saves and restores updater state through this array
      m = Shape.newShapeNoCopy(flat.get(NDArrayIndex.interval(0, n)), gradientShape, gradientOrder == 'f');
      v = Shape.newShapeNoCopy(flat.get(NDArrayIndex.interval(n, 2 * n)), gradientShape, gradientOrder == 'f');
      if (m == null || v == null) {
        throw new IllegalStateException("TorchAdam: could not view the state array as " + java.util.Arrays.toString(gradientShape));
      }
    }

    @Override
    public void applyUpdater(INDArray gradient, int iteration, int epoch) {
      if (m == null) {
        throw new IllegalStateException("TorchAdam: updater used before its state array was set");
      }
      double lr = config.getLearningRate(iteration, epoch);
      long t = (long) iteration + 1;
      INDArray g = gradient.reshape(m.shape());
      m.muli(config.beta1).addi(g.mul(1.0 - config.beta1));
      v.muli(config.beta2).addi(g.mul(1.0 - config.beta2).muli(g));
      double biasCorrection1 = 1.0 - Math.pow(config.beta1, t);
      double biasCorrection2Sqrt = Math.sqrt(1.0 - Math.pow(config.beta2, t));
      INDArray denom = Transforms.sqrt(v, true).divi(biasCorrection2Sqrt).addi(config.epsilon);
      g.assign(m.mul(lr / biasCorrection1).divi(denom));
      if (g != gradient && g.data() != gradient.data()) {
        gradient.assign(g.reshape(gradient.shape()));
      }
    }
  }
}
