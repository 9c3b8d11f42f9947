package io.github.stablerep.augment.data;

import java.nio.file.Path;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One batch of {@code n} captions times {@code m} views, in view-major order as StableRep's
 * model builds its labels ({@code label.repeat(n_views)}): row {@code v * n + i} is view
 * {@code v} of the batch's caption {@code i}.
 *
 * <p>The int arrays are handed over without copying (a batch is built once per step and the
 * copies would be waste); as for any record with array components, {@code equals} compares them
 * by identity.
 *
 * @param images {@code FLOAT [n*m, 3, H, W]}: augmented (and normalised, if the augmentation
 *     does so) when the sampler has an augmentation, else the decoded pixels in [0, 1]
 * @param positionalIds length {@code n*m}: {@code [0..n-1]} repeated {@code m} times, the
 *     per-batch caption ids that the contrastive loss takes
 * @param captionIndices length {@code n*m}: each row's caption as its index in the dataset's
 *     {@link CaptionDataset#captions()}
 * @param captionIds length {@code n}: the batch's caption ids, in positional order
 * @param paths length {@code n*m}: each row's source file
 * @param epoch the epoch this batch belongs to
 * @param index the batch's index within its epoch
 */
public record MultiViewBatch(
    INDArray images,
    int[] positionalIds,
    int[] captionIndices,
    List<String> captionIds,
    List<Path> paths,
    int epoch,
    int index) {
  public MultiViewBatch {
    captionIds = List.copyOf(captionIds);
    paths = List.copyOf(paths);
  }

  /** Captions per batch. */
  public int captions() {
    return captionIds.size();
  }

  /** Views per caption. */
  public int views() {
    return positionalIds.length / captionIds.size();
  }
}
