package io.github.stablerep.core.optim;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * AdamW (Loshchilov &amp; Hutter, 2019), the optimiser StableRep trains with, computing exactly
 * what {@code torch.optim.AdamW} computes.
 *
 * <p>For a parameter p with gradient g at its t-th step (t from 1), learning rate η_t from the
 * schedule and weight decay λ (0 for parameters that {@link ParameterGroups} excludes):
 *
 * <pre>
 *   p ← p − η_t·λ·p                                   (decoupled decay, on the old p)
 *   m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
 *   m̂ = m / (1 − β1^t)             v̂ = v / (1 − β2^t)
 *   p ← p − η_t · m̂ / (√v̂ + ε)
 * </pre>
 *
 * Note where ε goes: on √v̂, as torch does. ND4J's {@code Adam} adds it to √v instead, which
 * differs while v is of order ε² (early steps, tiny gradients).
 *
 * <p>Defaults are the paper's: β = (0.9, 0.98), ε = 1e-8, λ = 0.1, no decay on biases and norm
 * parameters ({@link ParameterGroups#defaults()}). The learning rate is a schedule evaluated at
 * the optimiser's step count before each step, normally a {@link WarmupCosineSchedule}; the
 * default is a constant {@code WarmupCosineSchedule.baseLr(2e-4, 256)}, i.e. 2e-4.
 *
 * <h2>Training styles</h2>
 *
 * <ul>
 *   <li><b>Your own loop</b> (supported, exact): {@code core.train.TrainStep} runs the whole
 *       step for a SameDiff model (gradients with array reuse, optional {@link
 *       GradientClipping}, this optimiser, noise feeds and BatchNorm statistics); with gradients
 *       from elsewhere (eager code, small graphs' {@code sd.calculateGradients}, which keeps
 *       every activation of the step allocated: more than 20 GB for ViT-B/16 at batch 16),
 *       call {@link #step(SameDiff, Map)} or {@link #step(Map, Map)}. Parameter groups follow
 *       any {@link ParameterGroups} rule, names included, and the state can be saved with {@code
 *       SafeTensors} ({@link #exportState()}, {@link #importState(Map)}). This is also the only
 *       style in which you see the loss (SameDiff's listeners report 0.0 during {@code fit}).
 *   <li><b>SameDiff {@code fit}</b> (supported, with one limit): {@link #trainingConfig(SameDiff)}
 *       returns a {@code TrainingConfig.Builder} with {@link TorchAdam} (the same Adam update,
 *       ε on √v̂) and {@link DecoupledWeightDecay}. SameDiff applies regularisation after the
 *       updater and before subtracting, so p ← p − (η·Adam + η·λ·p_old): the same decoupled
 *       update. ND4J passes a regularisation only the array, never the variable's name, so in
 *       {@code fit} decay can be excluded by <em>rank</em> only. {@code trainingConfig} therefore
 *       checks every trainable variable and refuses a rule that excludes a parameter of rank ≥ 2
 *       by name (use your own loop for that). For a ViT with BN head the default rule is
 *       rank-only in effect, so {@code fit} trains it faithfully. {@code fit}'s state lives in
 *       SameDiff ({@code sd.save(file, true)}), not in this object; gradient clipping is not
 *       available there.
 * </ul>
 *
 * <p>Not thread-safe: it holds the moment estimates and step counts.
 */
public final class AdamW {

  public static final double DEFAULT_BETA1 = 0.9;
  /** The paper's β2 ({@code --beta2 0.98} in the launch command; the script's own default is 0.95). */
  public static final double DEFAULT_BETA2 = 0.98;
  public static final double DEFAULT_EPSILON = 1e-8;
  public static final double DEFAULT_WEIGHT_DECAY = 0.1;

  /** Key of the global step count in {@link #exportState()}. */
  public static final String STEP_KEY = "step";
  static final String EXP_AVG = ".exp_avg";
  static final String EXP_AVG_SQ = ".exp_avg_sq";
  static final String PARAM_STEP = ".step";

  private final ISchedule learningRate;
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private final ParameterGroups groups;
  private final long stepsPerEpoch;

  private final Map<String, Moments> state = new LinkedHashMap<>();
  /** Work buffers for the update's temporaries, per type (see workBuffers). */
  private final Map<DataType, INDArray[]> work = new java.util.EnumMap<>(DataType.class);
  private long stepCount;

  /** One parameter's moments; step counts per parameter, as torch does, so skipped ones lag. */
  private static final class Moments {
    final INDArray expAvg;
    final INDArray expAvgSq;
    long step;

    Moments(INDArray expAvg, INDArray expAvgSq, long step) {
      this.expAvg = expAvg;
      this.expAvgSq = expAvgSq;
      this.step = step;
    }
  }

  private AdamW(Builder b) {
    this.learningRate = b.learningRate;
    this.beta1 = b.beta1;
    this.beta2 = b.beta2;
    this.epsilon = b.epsilon;
    this.weightDecay = b.weightDecay;
    this.groups = b.groups;
    this.stepsPerEpoch = b.stepsPerEpoch;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The configuration only: the returned builder makes an optimiser with fresh state. */
  public Builder toBuilder() {
    return new Builder()
        .learningRate(learningRate)
        .betas(beta1, beta2)
        .epsilon(epsilon)
        .weightDecay(weightDecay)
        .parameterGroups(groups)
        .stepsPerEpoch(stepsPerEpoch);
  }

  /**
   * One AdamW step, updating {@code params} in place. Parameters without a gradient are left
   * alone and their step counts do not advance (torch's {@code grad is None}). Everything is
   * validated before anything changes, so a bad call leaves parameters and state untouched.
   *
   * @param params name → parameter array, floating point; updated in place
   * @param grads name → gradient of the same shape; each key must be a parameter
   * @return the learning rate this step used
   * @throws IllegalArgumentException for a gradient whose key is not a parameter, whose shape
   *     differs from its parameter's, or that holds NaN or infinity, naming the key, the
   *     expectation and the finding
   */
  public double step(Map<String, INDArray> params, Map<String, INDArray> grads) {
    checkArgument(params != null, "params: expected a map of parameters, found null");
    checkArgument(grads != null, "grads: expected a map of gradients, found null");
    List<String> names = new ArrayList<>(grads.size());
    for (Map.Entry<String, INDArray> e : grads.entrySet()) {
      String name = e.getKey();
      INDArray p = params.get(name);
      if (p == null) {
        throw new IllegalArgumentException(
            "grads: unknown parameter key '" + name + "'; expected one of " + params.keySet());
      }
      checkArrays(name, p, e.getValue());
      names.add(name);
    }
    double lr = currentLearningRate();
    checkArgument(
        Double.isFinite(lr) && lr >= 0,
        "learningRate: expected the schedule to give a finite value >= 0 at step %s, found %s", (Object) stepCount, lr);
    for (String name : names) {
      update(name, params.get(name), grads.get(name), lr);
    }
    stepCount++;
    return lr;
  }

  /**
   * As {@link #step(Map, Map)} on {@code sd}'s variable arrays, for a loop around {@code
   * sd.calculateGradients(placeholders, variableNames)}: its result can be passed as is. For a
   * model of any size use {@code core.train.TrainStep}, which calls this with gradients computed
   * with array reuse.
   *
   * @throws IllegalArgumentException if a key is not a variable of {@code sd} that holds an array
   */
  public double step(SameDiff sd, Map<String, INDArray> gradients) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(gradients != null, "gradients: expected a map of gradients, found null");
    Map<String, INDArray> params = new LinkedHashMap<>();
    for (String name : gradients.keySet()) {
      SDVariable v = sd.hasVariable(name) ? sd.getVariable(name) : null;
      INDArray arr = v == null ? null : v.getArr();
      if (arr == null) {
        List<String> trainable = new ArrayList<>();
        for (SDVariable t : sd.variables()) {
          if (t.getVariableType() == org.nd4j.autodiff.samediff.VariableType.VARIABLE) {
            trainable.add(t.name());
          }
        }
        throw new IllegalArgumentException(
            "gradients: unknown parameter key '" + name + "'; expected a variable of sd, one of " + trainable);
      }
      params.put(name, arr);
    }
    return step(params, gradients);
  }

  /** The learning rate the next step will use. */
  public double currentLearningRate() {
    int iteration = (int) Math.min(stepCount, Integer.MAX_VALUE);
    int epoch = (int) Math.min(stepCount / stepsPerEpoch, Integer.MAX_VALUE);
    return learningRate.valueAt(iteration, epoch);
  }

  /** Number of {@link #step} calls so far (restored by {@link #importState}). */
  public long stepCount() {
    return stepCount;
  }

  /**
   * The optimiser state, ready for {@code SafeTensors.write}: for each parameter that has taken
   * a step, {@code <name>.exp_avg} and {@code <name>.exp_avg_sq} (fp32, or fp64 for fp64
   * parameters; copies) and {@code <name>.step} (int64 scalar), plus {@value #STEP_KEY}, the
   * global step count (int64 scalar) that drives the schedule. The names are torch's.
   */
  public Map<String, INDArray> exportState() {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, Moments> e : state.entrySet()) {
      out.put(e.getKey() + EXP_AVG, e.getValue().expAvg.dup());
      out.put(e.getKey() + EXP_AVG_SQ, e.getValue().expAvgSq.dup());
      out.put(e.getKey() + PARAM_STEP, Nd4j.scalar(e.getValue().step));
    }
    out.put(STEP_KEY, Nd4j.scalar(stepCount));
    return out;
  }

  /**
   * Replaces this optimiser's state with one from {@link #exportState()} (arrays are copied).
   * Continuing from it gives bit-for-bit the parameters an uninterrupted run would have.
   *
   * @throws IllegalArgumentException if {@value #STEP_KEY} is missing, a key is not one of the
   *     three per-parameter kinds, or a parameter lacks one of its three entries, or the moments
   *     differ in shape
   */
  public void importState(Map<String, INDArray> exported) {
    checkArgument(exported != null, "state: expected a map from exportState(), found null");
    INDArray global = exported.get(STEP_KEY);
    checkArgument(global != null, "state: expected the key '%s' (global step count), found keys %s", STEP_KEY, exported.keySet());
    Map<String, Moments> restored = new LinkedHashMap<>();
    for (String key : exported.keySet()) {
      if (key.equals(STEP_KEY)) {
        continue;
      }
      String name = stripSuffix(key);
      if (name == null) {
        throw new IllegalArgumentException(
            "state: expected keys '<param>" + EXP_AVG + "', '<param>" + EXP_AVG_SQ + "', '<param>"
                + PARAM_STEP + "' or '" + STEP_KEY + "', found '" + key + "'");
      }
      if (restored.containsKey(name)) {
        continue;
      }
      INDArray m = exported.get(name + EXP_AVG);
      INDArray v = exported.get(name + EXP_AVG_SQ);
      INDArray t = exported.get(name + PARAM_STEP);
      checkArgument(
          m != null && v != null && t != null,
          "state: expected %s, %s and %s together, found %s",
          name + EXP_AVG, name + EXP_AVG_SQ, name + PARAM_STEP,
          Arrays.asList(m != null ? "exp_avg" : "no exp_avg", v != null ? "exp_avg_sq" : "no exp_avg_sq",
              t != null ? "step" : "no step"));
      checkArgument(
          Arrays.equals(m.shape(), v.shape()),
          "state: expected %s to have the shape of %s %s, found %s",
          name + EXP_AVG_SQ, name + EXP_AVG, Arrays.toString(m.shape()), Arrays.toString(v.shape()));
      DataType type = m.dataType() == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
      restored.put(name, new Moments(m.castTo(type).dup(), v.castTo(type).dup(), t.getLong(0)));
    }
    state.clear();
    state.putAll(restored);
    stepCount = global.getLong(0);
  }

  /**
   * A {@code TrainingConfig} builder for SameDiff's {@code fit} with this optimiser's update:
   * {@link TorchAdam} on the learning-rate schedule plus {@link DecoupledWeightDecay} for
   * parameters of rank ≥ {@link ParameterGroups#excludeBelowRank()}. Add your data-set mappings
   * and call {@code build()}. The schedule runs on SameDiff's global iteration counter.
   *
   * @throws IllegalArgumentException if the parameter groups exclude (or force) a trainable
   *     variable by name in a way a rank rule cannot express, naming the variables
   */
  public TrainingConfig.Builder trainingConfig(SameDiff sd) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    List<String> byName = new ArrayList<>();
    for (SDVariable v : sd.variables()) {
      if (v.getVariableType() == org.nd4j.autodiff.samediff.VariableType.VARIABLE
          && v.dataType().isFPType()
          && v.getArr() != null
          && !groups.decidesByRankOnly(v.name(), v.getArr().shape())) {
        byName.add(v.name() + Arrays.toString(v.getArr().shape()));
      }
    }
    checkArgument(
        byName.isEmpty(),
        "parameterGroups: SameDiff fit can exclude parameters from weight decay by rank only "
            + "(below %s); these variables are decided by name: %s. Train with step(sd, gradients) instead",
        groups.excludeBelowRank(), byName);
    TrainingConfig.Builder b = TrainingConfig.builder()
        .updater(new TorchAdam(learningRate, beta1, beta2, epsilon));
    if (weightDecay > 0) {
      b.addRegularization(new DecoupledWeightDecay(weightDecay, groups.excludeBelowRank()));
    }
    return b;
  }

  public ISchedule learningRate() {
    return learningRate;
  }

  public double beta1() {
    return beta1;
  }

  public double beta2() {
    return beta2;
  }

  public double epsilon() {
    return epsilon;
  }

  public double weightDecay() {
    return weightDecay;
  }

  public ParameterGroups parameterGroups() {
    return groups;
  }

  @Override
  public String toString() {
    return "AdamW{lr=" + learningRate + ", betas=(" + beta1 + ", " + beta2 + "), eps=" + epsilon
        + ", weightDecay=" + weightDecay + ", groups=" + groups + ", stepCount=" + stepCount + "}";
  }

  private void update(String name, INDArray param, INDArray grad, double lr) {
    DataType type = param.dataType() == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
    Moments s = state.get(name);
    if (s == null) {
      s = new Moments(Nd4j.zeros(type, param.shape()), Nd4j.zeros(type, param.shape()), 0);
      state.put(name, s);
    }
    // half-precision parameters are updated in fp32 and rounded once, like torch's master weights
    INDArray p = param.dataType() == type ? param : param.castTo(type);
    INDArray g = grad.castTo(type);
    s.step++;
    double decay = groups.decays(name, param.shape()) ? weightDecay : 0.0;
    if (decay != 0.0) {
      p.muli(1.0 - lr * decay);
    }
    // the temporaries go to two reused work buffers: fresh arrays the size of the parameters
    // are page-faulted in on every step and only freed when the JVM happens to collect them
    INDArray[] work = workBuffers(type, param.shape());
    INDArray t = work[0];
    s.expAvg.muli(beta1).addi(g.mul(1.0 - beta1, t));
    s.expAvgSq.muli(beta2).addi(g.mul(1.0 - beta2, t).muli(g));
    double biasCorrection1 = 1.0 - Math.pow(beta1, s.step);
    double biasCorrection2Sqrt = Math.sqrt(1.0 - Math.pow(beta2, s.step));
    INDArray denom = Transforms.sqrt(work[1].assign(s.expAvgSq), false).divi(biasCorrection2Sqrt).addi(epsilon);
    p.addi(s.expAvg.mul(-lr / biasCorrection1, t).divi(denom));
    if (p != param) {
      param.assign(p.castTo(param.dataType()));
    }
  }

  /** Two C-order views of this type and shape on flat buffers grown to the largest parameter. */
  private INDArray[] workBuffers(DataType type, long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    INDArray[] flat = work.get(type);
    if (flat == null || flat[0].length() < n) {
      flat = new INDArray[] {
        Nd4j.createUninitializedDetached(type, n), Nd4j.createUninitializedDetached(type, n)
      };
      work.put(type, flat);
    }
    long[] strides = Nd4j.getStrides(shape, 'c');
    return new INDArray[] {
      Nd4j.create(flat[0].data(), shape, strides, 0, 'c'), Nd4j.create(flat[1].data(), shape, strides, 0, 'c')
    };
  }

  private static void checkArrays(String name, INDArray param, INDArray grad) {
    checkArgument(grad != null, "grads: expected an array for '%s', found null", name);
    checkArgument(
        param.dataType().isFPType(),
        "params: expected a floating-point array for '%s', found %s", name, param.dataType());
    checkArgument(
        grad.dataType().isFPType(),
        "grads: expected a floating-point gradient for '%s', found %s", name, grad.dataType());
    if (!Arrays.equals(param.shape(), grad.shape())) {
      throw new IllegalArgumentException(
          "grads: expected shape " + Arrays.toString(param.shape()) + " for '" + name
              + "' (its parameter's), found " + Arrays.toString(grad.shape()));
    }
    // one reduction on the fast path; a sum can overflow on finite input, so scan before blaming
    if (!Double.isFinite(grad.sumNumber().doubleValue()) && (grad.isNaN().any() || grad.isInfinite().any())) {
      throw new IllegalArgumentException(
          "grads: expected finite values for '" + name + "', found "
              + (grad.isNaN().any() ? "NaN" : "infinity"));
    }
  }

  private static String stripSuffix(String key) {
    for (String suffix : List.of(EXP_AVG_SQ, EXP_AVG, PARAM_STEP)) {
      if (key.endsWith(suffix) && key.length() > suffix.length()) {
        return key.substring(0, key.length() - suffix.length());
      }
    }
    return null;
  }

  /** Defaults from the paper: β (0.9, 0.98), ε 1e-8, weight decay 0.1, timm's parameter groups. */
  public static final class Builder {
    private ISchedule learningRate =
        new FixedSchedule(WarmupCosineSchedule.baseLr(WarmupCosineSchedule.STABLEREP_BLR, WarmupCosineSchedule.REFERENCE_BATCH));
    private double beta1 = DEFAULT_BETA1;
    private double beta2 = DEFAULT_BETA2;
    private double epsilon = DEFAULT_EPSILON;
    private double weightDecay = DEFAULT_WEIGHT_DECAY;
    private ParameterGroups groups = ParameterGroups.defaults();
    private long stepsPerEpoch = Long.MAX_VALUE;

    private Builder() {}

    /** The schedule, evaluated at (step count, step count / stepsPerEpoch) before each step. */
    public Builder learningRate(ISchedule schedule) {
      this.learningRate = schedule;
      return this;
    }

    /** A constant learning rate. */
    public Builder learningRate(double lr) {
      checkArgument(Double.isFinite(lr) && lr >= 0, "learningRate: expected a finite value >= 0, found %s", lr);
      this.learningRate = new FixedSchedule(lr);
      return this;
    }

    /** (β1, β2) in [0, 1); StableRep uses (0.9, 0.98). */
    public Builder betas(double beta1, double beta2) {
      this.beta1 = beta1;
      this.beta2 = beta2;
      return this;
    }

    /** Added to √v̂; must be finite and > 0. Default 1e-8. */
    public Builder epsilon(double epsilon) {
      this.epsilon = epsilon;
      return this;
    }

    /** Decoupled weight decay λ ≥ 0 for the decayed group; StableRep uses 0.1. */
    public Builder weightDecay(double weightDecay) {
      this.weightDecay = weightDecay;
      return this;
    }

    /** Which parameters are decayed; default {@link ParameterGroups#defaults()}. */
    public Builder parameterGroups(ParameterGroups groups) {
      this.groups = groups;
      return this;
    }

    /**
     * Steps per epoch, only to give epoch-based ND4J schedules their epoch; {@link
     * WarmupCosineSchedule} ignores it. Default: unbounded (epoch 0 throughout).
     */
    public Builder stepsPerEpoch(long stepsPerEpoch) {
      this.stepsPerEpoch = stepsPerEpoch;
      return this;
    }

    public AdamW build() {
      checkArgument(learningRate != null, "learningRate: expected a schedule, found null");
      checkArgument(beta1 >= 0 && beta1 < 1, "beta1: expected a value in [0, 1) (StableRep uses 0.9), found %s", beta1);
      checkArgument(beta2 >= 0 && beta2 < 1, "beta2: expected a value in [0, 1) (StableRep uses 0.98), found %s", beta2);
      checkArgument(
          Double.isFinite(epsilon) && epsilon > 0, "epsilon: expected a finite value > 0 (default 1e-8), found %s", epsilon);
      checkArgument(
          Double.isFinite(weightDecay) && weightDecay >= 0,
          "weightDecay: expected a finite value >= 0 (StableRep uses 0.1), found %s", weightDecay);
      checkArgument(groups != null, "parameterGroups: expected a ParameterGroups, found null");
      checkArgument(stepsPerEpoch > 0, "stepsPerEpoch: expected > 0, found %s", stepsPerEpoch);
      return new AdamW(this);
    }
  }
}
