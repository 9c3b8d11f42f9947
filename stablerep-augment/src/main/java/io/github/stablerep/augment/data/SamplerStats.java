package io.github.stablerep.augment.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of a {@link MultiViewSampler}'s counters, cumulative over its lifetime.
 *
 * @param decoded images decoded successfully
 * @param skipped image reads that failed and were skipped (each failure counts, also when the
 *     same file fails again in a later batch)
 * @param skippedByReason {@code skipped} split by the failure's exception class simple name
 *     ({@code ImageDecodeException}, {@code NoSuchFileException}, ...)
 * @param firstSkips the first {@value MultiViewSampler#RECORDED_SKIPS} skipped files with the
 *     failure message, for a log-free look at what went wrong
 * @param refilled images taken from a caption's spare images to replace a skipped one
 * @param replacedCaptions caption slots that could not be completed from their own caption
 *     and were given another caption (see {@link MultiViewSampler})
 * @param batches batches handed to the consumer
 * @param captionsTooSmall captions excluded because they have fewer images than views per
 *     caption
 * @param droppedGroups groups of views planned but not handed out because they did not fill a
 *     last batch, summed over the epochs started
 */
public record SamplerStats(
    long decoded,
    long skipped,
    Map<String, Long> skippedByReason,
    List<SkippedImage> firstSkips,
    long refilled,
    long replacedCaptions,
    long batches,
    int captionsTooSmall,
    long droppedGroups) {
  public SamplerStats {
    skippedByReason = Map.copyOf(skippedByReason);
    firstSkips = List.copyOf(firstSkips);
  }

  /** A file that could not be read, and why. */
  public record SkippedImage(Path path, String reason) {}
}
