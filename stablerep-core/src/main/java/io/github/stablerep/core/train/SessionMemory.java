package io.github.stablerep.core.train;

import static com.google.common.base.Preconditions.checkArgument;

import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Array reuse for repeated {@code sd.output} calls, the one piece of this package's memory
 * handling that inference code needs (the diffusion pipeline's UNet and VAE loops); training
 * gets it through {@link TrainStep}.
 *
 * <p>Why: SameDiff 1.0.0-M2.1's own array cache matches exact shapes only, and every fresh
 * multi-megabyte buffer is page-faulted in again on first touch.
 */
public final class SessionMemory {

  private SessionMemory() {}

  /**
   * Gives {@code sd}'s inference session on the calling thread a memory manager that hands a
   * released buffer out again for the next array of the same data type and length, whatever its
   * shape (keeping one already installed), and turns {@code sd}'s array cache on, so that
   * repeated {@code sd.output} calls on this thread take their intermediate arrays from earlier
   * calls' released buffers. Arrays a call returns are never released, so they stay valid after
   * later calls. Idempotent; cheap to call before every call.
   *
   * @throws IllegalArgumentException if {@code sd} is null
   */
  public static void reuseBuffers(SameDiff sd) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    sd.setEnableCache(true);
    ReusingMemoryManager.installOn(sd);
  }
}
