package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What one {@link Scheduler#step} gives, as diffusers' {@code SchedulerOutput} / {@code
 * DDIMSchedulerOutput}: the sample at the next timestep ({@code prev_sample}) and, where the
 * scheduler computes it as diffusers' does, the predicted denoised sample x̂₀ ({@code
 * pred_original_sample}), for previews and guidance.
 *
 * <p>As in diffusers 0.21.4, DDIM and Euler report x̂₀ (DDIM after clipping, when {@code
 * clip_sample} is on); PNDM and DPM-Solver++ do not, and {@link #predOriginalSample()} is empty
 * for them. The arrays are fresh; the scheduler keeps no reference to them.
 */
public final class SchedulerOutput {
  private final INDArray prevSample;
  private final INDArray predOriginalSample;

  /**
   * @param prevSample the next sample, not null
   * @param predOriginalSample x̂₀, or null when the scheduler does not report it
   */
  public SchedulerOutput(INDArray prevSample, INDArray predOriginalSample) {
    checkArgument(prevSample != null, "prevSample: expected an array, found null");
    this.prevSample = prevSample;
    this.predOriginalSample = predOriginalSample;
  }

  /** x_{t-1}: the sample at the timestep after {@code t} in the list (diffusers' {@code prev_sample}). */
  public INDArray prevSample() {
    return prevSample;
  }

  /** x̂₀ as the step computed it (diffusers' {@code pred_original_sample}); empty for PNDM and DPM-Solver++. */
  public Optional<INDArray> predOriginalSample() {
    return Optional.ofNullable(predOriginalSample);
  }

  @Override
  public String toString() {
    return "SchedulerOutput{prevSample=" + java.util.Arrays.toString(prevSample.shape()) + ", predOriginalSample="
        + (predOriginalSample == null ? "none" : java.util.Arrays.toString(predOriginalSample.shape())) + "}";
  }
}
