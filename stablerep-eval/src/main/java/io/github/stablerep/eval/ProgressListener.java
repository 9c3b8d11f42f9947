package io.github.stablerep.eval;

/**
 * Receives progress of a long-running evaluation step (for example {@link FeatureExtractor}),
 * called on the caller's thread after each unit of work. Core has no progress type, so eval
 * defines this one; a lambda suffices: {@code (done, total) -> bar.update(done)}.
 */
@FunctionalInterface
public interface ProgressListener {

  /** A listener that ignores everything. */
  ProgressListener NONE = (done, total) -> {};

  /** {@code done} of {@code total} items are finished; {@code done} only increases. */
  void onProgress(long done, long total);
}
