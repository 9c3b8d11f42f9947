package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * The fields every scheduler's builder shares, named as diffusers' config keys (camel case).
 * Defaults are Stable Diffusion v1.5's ({@code scaled_linear} 0.00085..0.012 over 1000 steps,
 * {@code steps_offset} 1, epsilon prediction); each scheduler's {@code fromConfig} instead starts
 * from diffusers' constructor defaults, since that is what a config file without the key means.
 */
abstract class SchedulerBuilder<B extends SchedulerBuilder<B>> {
  /** The longest training schedule accepted, 10^6 steps (every published model uses 1000). */
  public static final int MAX_TRAIN_TIMESTEPS = 1_000_000;

  int numTrainTimesteps = 1000;
  double betaStart = 0.00085;
  double betaEnd = 0.012;
  BetaSchedule betaSchedule = BetaSchedule.SCALED_LINEAR;
  double[] trainedBetas;
  PredictionType predictionType = PredictionType.EPSILON;
  TimestepSpacing timestepSpacing;
  int stepsOffset = 1;

  SchedulerBuilder(TimestepSpacing defaultSpacing) {
    this.timestepSpacing = defaultSpacing;
  }

  abstract B self();

  /** {@code num_train_timesteps}: T, the length of the training noise schedule. */
  public B numTrainTimesteps(int numTrainTimesteps) {
    this.numTrainTimesteps = numTrainTimesteps;
    return self();
  }

  /** {@code beta_start}: β_0 of the linear schedules. */
  public B betaStart(double betaStart) {
    this.betaStart = betaStart;
    return self();
  }

  /** {@code beta_end}: β_{T-1} of the linear schedules. */
  public B betaEnd(double betaEnd) {
    this.betaEnd = betaEnd;
    return self();
  }

  /** {@code beta_schedule}. */
  public B betaSchedule(BetaSchedule betaSchedule) {
    this.betaSchedule = betaSchedule;
    return self();
  }

  /** {@code trained_betas}: explicit β values (length T) that replace the schedule; null for none. */
  public B trainedBetas(double[] trainedBetas) {
    this.trainedBetas = trainedBetas == null ? null : trainedBetas.clone();
    return self();
  }

  /** {@code prediction_type}. */
  public B predictionType(PredictionType predictionType) {
    this.predictionType = predictionType;
    return self();
  }

  /** {@code timestep_spacing}. */
  public B timestepSpacing(TimestepSpacing timestepSpacing) {
    this.timestepSpacing = timestepSpacing;
    return self();
  }

  /** {@code steps_offset}: added to every timestep of the {@code leading} spacing. */
  public B stepsOffset(int stepsOffset) {
    this.stepsOffset = stepsOffset;
    return self();
  }

  /**
   * Reads the shared keys. Absent keys first take diffusers' constructor defaults (these are the
   * same for all four schedulers except {@code timestep_spacing}, passed in).
   */
  void readCommon(DiffusersConfig c, TimestepSpacing diffusersDefaultSpacing) {
    String src = c.source();
    numTrainTimesteps = c.getInt("num_train_timesteps", 1000);
    betaStart = c.getDouble("beta_start", 0.0001);
    betaEnd = c.getDouble("beta_end", 0.02);
    betaSchedule = BetaSchedule.fromConfigName(c.getString("beta_schedule", "linear"), src);
    trainedBetas = c.has("trained_betas") ? c.getDoubleArray("trained_betas") : null;
    predictionType = PredictionType.fromConfigName(c.getString("prediction_type", "epsilon"), src);
    timestepSpacing = c.has("timestep_spacing")
        ? TimestepSpacing.fromConfigName(c.getString("timestep_spacing"), src)
        : diffusersDefaultSpacing;
    stepsOffset = c.getInt("steps_offset", 0);
  }

  /** Rejects a config key that is set to something other than what is implemented. */
  static void requireUnsetOr(DiffusersConfig c, String key, boolean implemented, String why) {
    if (c.has(key) && c.getBoolean(key, false) != implemented) {
      throw new IllegalArgumentException(String.format(
          "config %s: key '%s': expected %s, found %s (%s)", c.source(), key, implemented, !implemented, why));
    }
  }

  void validateCommon() {
    // bounded: the schedule is tabulated (2^31 - 1 from a hostile scheduler_config.json threw
    // OutOfMemoryError); every published model uses 1000
    checkArgument(numTrainTimesteps >= 1 && numTrainTimesteps <= MAX_TRAIN_TIMESTEPS,
        "numTrainTimesteps: expected a value in [1, %s], found %s", MAX_TRAIN_TIMESTEPS, numTrainTimesteps);
    checkArgument(betaSchedule != null, "betaSchedule: expected one of %s, found null", BetaSchedule.names());
    checkArgument(predictionType != null, "predictionType: expected a PredictionType, found null");
    checkArgument(timestepSpacing != null, "timestepSpacing: expected a TimestepSpacing, found null");
    checkArgument(stepsOffset >= 0, "stepsOffset: expected >= 0, found %s", stepsOffset);
    if (trainedBetas != null) {
      checkArgument(trainedBetas.length == numTrainTimesteps,
          "trainedBetas: expected numTrainTimesteps = %s values, found %s", numTrainTimesteps, trainedBetas.length);
      for (int i = 0; i < trainedBetas.length; i++) {
        checkArgument(trainedBetas[i] >= 0 && trainedBetas[i] < 1,
            "trainedBetas[%s]: expected a value in [0, 1), found %s", (Object) i, trainedBetas[i]);
      }
    } else if (betaSchedule != BetaSchedule.SQUAREDCOS_CAP_V2) {
      checkArgument(betaStart >= 0 && betaStart < 1, "betaStart: expected a value in [0, 1), found %s", betaStart);
      checkArgument(betaEnd >= 0 && betaEnd < 1, "betaEnd: expected a value in [0, 1), found %s", betaEnd);
    }
  }

  /** β in float32; DDIM's builder overrides this to rescale for zero terminal SNR. */
  float[] betas() {
    return NoiseSchedule.betas(numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas);
  }

  float[] alphasCumprod() {
    return NoiseSchedule.alphasCumprod(betas());
  }

  /** The shared part of a builder's {@code toString}, in config key order. */
  String commonFields() {
    return "numTrainTimesteps=" + numTrainTimesteps + ", betaStart=" + betaStart + ", betaEnd=" + betaEnd
        + ", betaSchedule=" + betaSchedule.configName() + ", trainedBetas=" + (trainedBetas == null ? "null"
        : trainedBetas.length + " values") + ", predictionType=" + predictionType.configName()
        + ", timestepSpacing=" + timestepSpacing.configName() + ", stepsOffset=" + stepsOffset;
  }

  void copyCommonFrom(SchedulerBuilder<?> o) {
    numTrainTimesteps = o.numTrainTimesteps;
    betaStart = o.betaStart;
    betaEnd = o.betaEnd;
    betaSchedule = o.betaSchedule;
    trainedBetas = o.trainedBetas == null ? null : o.trainedBetas.clone();
    predictionType = o.predictionType;
    timestepSpacing = o.timestepSpacing;
    stepsOffset = o.stepsOffset;
  }
}
