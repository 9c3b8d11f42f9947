package io.github.stablerep.core.optim;

import static com.google.common.base.Preconditions.checkArgument;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * StableRep's learning-rate schedule: linear warm-up from 0, then a half-cycle cosine down to a
 * minimum, evaluated at every iteration.
 *
 * <p>With base rate η, minimum η_min, warm-up W and total T (in iterations, possibly fractional),
 * the rate used by iteration s (0-based, the s-th optimiser step) is
 *
 * <pre>
 *   η(s) = η · s / W                                                   s &lt; W
 *   η(s) = η_min + (η − η_min) · ½ · (1 + cos(π · (s − W) / (T − W)))   W ≤ s ≤ T
 *   η(s) = η_min                                                       s &gt; T
 * </pre>
 *
 * This is the reference's {@code util/misc.py adjust_learning_rate}, which the training loop calls
 * before every step with the fractional epoch {@code step_in_epoch / steps_per_epoch + epoch}:
 * with W = warmup_epochs · L and T = epochs · L for L steps per epoch the two agree up to the
 * rounding of that division (a few ulp). The reference's warm-up epochs are fractional (0.5 for
 * the 1x schedule), which is why W and T are doubles; {@link Builder#epochs} builds them that
 * way. The very first step therefore runs at lr 0, as in the reference. Past T the reference
 * would climb the cosine back up; it never gets there, and this schedule holds η_min instead.
 * Values are clamped to [η_min, η] after warm-up, where the formula can round one ulp outside.
 *
 * <p>As an ND4J {@link ISchedule} it is evaluated on {@code iteration}, which SameDiff's {@code
 * fit} counts globally across epochs and calls; {@code epoch} is ignored. It is immutable,
 * {@link java.io.Serializable}, and round-trips through ND4J's JSON (shaded Jackson) as part of a
 * {@code TrainingConfig}.
 *
 * <pre>{@code
 * ISchedule lr = WarmupCosineSchedule.builder()
 *     .baseLr(WarmupCosineSchedule.baseLr(2e-4, 8256))
 *     .epochs(0.5, 15, stepsPerEpoch)       // warm-up 0.5 epochs of 15, as the paper's 1x schedule
 *     .build();
 * }</pre>
 */
public final class WarmupCosineSchedule implements ISchedule {

  private static final long serialVersionUID = 1L;

  /** The batch size at which a base learning rate is stated: lr = blr · batch / 256. */
  public static final int REFERENCE_BATCH = 256;

  /** StableRep's base learning rate ({@code --blr 2.0e-4}). */
  public static final double STABLEREP_BLR = 2e-4;

  private final double baseLr;
  private final double minLr;
  private final double warmupSteps;
  private final double totalSteps;

  @JsonCreator
  private WarmupCosineSchedule(
      @JsonProperty("baseLr") double baseLr,
      @JsonProperty("minLr") double minLr,
      @JsonProperty("warmupSteps") double warmupSteps,
      @JsonProperty("totalSteps") double totalSteps) {
    this.baseLr = baseLr;
    this.minLr = minLr;
    this.warmupSteps = warmupSteps;
    this.totalSteps = totalSteps;
    validate();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().baseLr(baseLr).minLr(minLr).warmupSteps(warmupSteps).totalSteps(totalSteps);
  }

  /**
   * The linear scaling rule in its common form (Goyal et al., 2017; MAE's {@code --blr}):
   * {@code blr · batchSize / 256}, with {@code batchSize} the number of images in one optimiser
   * step over all workers.
   *
   * <p>The reference computes something else; see {@link #stableRepReferenceLr}. For its launch
   * command the two differ by a factor of 2.
   */
  public static double baseLr(double blr, int batchSize) {
    checkArgument(Double.isFinite(blr) && blr > 0, "blr: expected a finite value > 0, found %s", blr);
    checkArgument(batchSize > 0, "batchSize: expected > 0, found %s", batchSize);
    return blr * batchSize / REFERENCE_BATCH;
  }

  /**
   * The absolute lr exactly as {@code main_stablerep.py} derives it from {@code --blr}:
   *
   * <pre>
   *   lr = blr · (batch_size · world_size) · n_img / 256 · num_crop / 2
   * </pre>
   *
   * where {@code captionsPerStep} is {@code batch_size · world_size} (its {@code --batch_size} counts
   * captions per GPU), {@code imagesPerCaption} is {@code n_img} and {@code cropsPerImage} is
   * {@code num_crop}. The trailing {@code num_crop / 2} is there because the formula was written
   * for two crops; StableRep runs with {@code num_crop = 1}, so this is blr · images / 512, half
   * of {@link #baseLr(double, int)} on the same image count. The published run (32 GPUs × 43
   * captions × 6 images, one crop, blr 2e-4) uses 2e-4 · 8256 / 512 = 3.225e-3.
   */
  public static double stableRepReferenceLr(
      double blr, int captionsPerStep, int imagesPerCaption, int cropsPerImage) {
    checkArgument(Double.isFinite(blr) && blr > 0, "blr: expected a finite value > 0, found %s", blr);
    checkArgument(captionsPerStep > 0, "captionsPerStep: expected > 0, found %s", captionsPerStep);
    checkArgument(imagesPerCaption > 0, "imagesPerCaption: expected > 0, found %s", imagesPerCaption);
    checkArgument(cropsPerImage > 0, "cropsPerImage: expected > 0, found %s", cropsPerImage);
    double lr = blr * captionsPerStep * imagesPerCaption / REFERENCE_BATCH;
    return lr * cropsPerImage / 2;
  }

  /** The rate for the optimiser step with 0-based index {@code step}. */
  public double valueAt(double step) {
    if (step < warmupSteps) {
      return baseLr * step / warmupSteps;
    }
    if (step >= totalSteps) {
      return minLr;
    }
    double progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    double lr = minLr + (baseLr - minLr) * 0.5 * (1.0 + Math.cos(Math.PI * progress));
    // min + (base − min) can round one ulp above base; keep the documented bounds exact
    return Math.min(baseLr, Math.max(minLr, lr));
  }

  /** {@link #valueAt(double)} at {@code iteration}; ND4J's epoch counter is not used. */
  @Override
  public double valueAt(int iteration, int epoch) {
    return valueAt((double) iteration);
  }

  /** Immutable, so a copy is only needed to honour ISchedule's contract of an independent object. */
  @Override
  public WarmupCosineSchedule clone() {
    return new WarmupCosineSchedule(baseLr, minLr, warmupSteps, totalSteps);
  }

  @JsonProperty("baseLr")
  public double baseLr() {
    return baseLr;
  }

  @JsonProperty("minLr")
  public double minLr() {
    return minLr;
  }

  @JsonProperty("warmupSteps")
  public double warmupSteps() {
    return warmupSteps;
  }

  @JsonProperty("totalSteps")
  public double totalSteps() {
    return totalSteps;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WarmupCosineSchedule s
        && Double.compare(baseLr, s.baseLr) == 0
        && Double.compare(minLr, s.minLr) == 0
        && Double.compare(warmupSteps, s.warmupSteps) == 0
        && Double.compare(totalSteps, s.totalSteps) == 0;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(baseLr, minLr, warmupSteps, totalSteps);
  }

  @Override
  public String toString() {
    return "WarmupCosineSchedule{baseLr=" + baseLr + ", minLr=" + minLr + ", warmupSteps="
        + warmupSteps + ", totalSteps=" + totalSteps + "}";
  }

  private void validate() {
    checkArgument(
        Double.isFinite(baseLr) && baseLr > 0,
        "baseLr: expected a finite value > 0 (e.g. WarmupCosineSchedule.baseLr(2e-4, batch)), found %s", baseLr);
    checkArgument(
        Double.isFinite(minLr) && minLr >= 0 && minLr <= baseLr,
        "minLr: expected a finite value in [0, baseLr = %s], found %s", baseLr, minLr);
    checkArgument(
        Double.isFinite(warmupSteps) && warmupSteps >= 0,
        "warmupSteps: expected a finite value >= 0, found %s", warmupSteps);
    checkArgument(
        Double.isFinite(totalSteps) && totalSteps > warmupSteps,
        "totalSteps: expected a finite value > warmupSteps = %s, found %s", warmupSteps, totalSteps);
  }

  /**
   * Defaults from the paper's 1x schedule shape: no floor ({@code minLr} 0, the reference's
   * {@code --min_lr} default). {@code baseLr} and {@code totalSteps} depend on the run and must
   * be set.
   */
  public static final class Builder {
    private double baseLr = Double.NaN;
    private double minLr = 0.0;
    private double warmupSteps = 0.0;
    private double totalSteps = Double.NaN;

    private Builder() {}

    /** Peak rate reached at the end of warm-up; see {@link WarmupCosineSchedule#baseLr(double, int)}. */
    public Builder baseLr(double baseLr) {
      this.baseLr = baseLr;
      return this;
    }

    /** Floor of the cosine, reached at {@code totalSteps}; in [0, baseLr]. Default 0. */
    public Builder minLr(double minLr) {
      this.minLr = minLr;
      return this;
    }

    /** Iterations of linear warm-up; may be fractional. Default 0 (start on the cosine). */
    public Builder warmupSteps(double warmupSteps) {
      this.warmupSteps = warmupSteps;
      return this;
    }

    /** Iterations of the whole run, warm-up included; must exceed {@code warmupSteps}. */
    public Builder totalSteps(double totalSteps) {
      this.totalSteps = totalSteps;
      return this;
    }

    /**
     * Sets warm-up and total from epochs, as the reference's {@code --warmup_epochs} (fractional,
     * 0.5 for the 1x schedule) and {@code --epochs}, with {@code stepsPerEpoch} optimiser steps
     * per epoch ({@code len(data_loader)}).
     */
    public Builder epochs(double warmupEpochs, double epochs, long stepsPerEpoch) {
      checkArgument(stepsPerEpoch > 0, "stepsPerEpoch: expected > 0, found %s", stepsPerEpoch);
      this.warmupSteps = warmupEpochs * stepsPerEpoch;
      this.totalSteps = epochs * stepsPerEpoch;
      return this;
    }

    public WarmupCosineSchedule build() {
      return new WarmupCosineSchedule(baseLr, minLr, warmupSteps, totalSteps);
    }
  }
}
