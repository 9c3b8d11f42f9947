package io.github.stablerep.models.vit;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.train.TrainingPart;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * What {@link VisionTransformer#define} added to a graph: its outputs and the names of its
 * trainable variables (in definition order, each prefixed with the model's {@code name}).
 *
 * <p>As a {@link TrainingPart} of a {@code TrainStep}: its parameters are {@link
 * #variableNames()}, and each step's feeds are {@link #noiseFeed} (empty for an inference graph
 * or without drop path and dropout).
 */
public final class VitGraph implements TrainingPart {

  private final SDVariable tokens;
  private final SDVariable classToken;
  private final SDVariable pooled;
  private final List<String> variableNames;
  private final List<SDVariable> dropPathMasks;
  private final TrainingNoise noise;

  VitGraph(SDVariable tokens, SDVariable classToken, SDVariable pooled, List<String> variableNames,
      List<SDVariable> dropPathMasks, TrainingNoise noise) {
    this.tokens = tokens;
    this.classToken = classToken;
    this.pooled = pooled;
    this.variableNames = List.copyOf(variableNames);
    this.dropPathMasks = List.copyOf(dropPathMasks);
    this.noise = noise;
  }

  /** All tokens after the final LayerNorm, [N, 1 + patches, D]; the class token is first. */
  public SDVariable tokens() {
    return tokens;
  }

  /** The class token after the final LayerNorm, [N, D]: StableRep's feature. */
  public SDVariable classToken() {
    return classToken;
  }

  /** The feature chosen by the builder's {@link Pooling}, [N, D]. */
  public SDVariable pooled() {
    return pooled;
  }

  /**
   * The per-sample drop-path masks [N, 1, 1] of a training graph, two per block with a rate
   * &gt; 0 (attention branch, then MLP branch), in block order: each value is 0 (dropped) or
   * 1/keep. Empty for an inference graph or a rate of 0.
   */
  public List<SDVariable> dropPathMasks() {
    return dropPathMasks;
  }

  /**
   * The noise placeholders a training graph needs for a batch of {@code batchSize}, drawn from
   * {@code seed} (the same seed gives the same masks; use a new one per step, e.g. the step
   * number): uniform noise in [0, 1) for drop path ({@code name_drop_path_noise}, [batchSize,
   * masks]) and for each dropout site ({@code name_site.noise}, shaped like the site's
   * activation). An empty map for a graph without drop path and dropout, so a training loop can
   * always add it to its feeds.
   */
  public Map<String, INDArray> noiseFeed(int batchSize, long seed) {
    checkArgument(batchSize >= 1, "batchSize: expected >= 1, found %s", batchSize);
    return noise.feed(batchSize, seed);
  }

  /** The names of the noise placeholders that {@link #noiseFeed} fills; empty for an inference graph. */
  public List<String> noisePlaceholders() {
    return noise.names();
  }

  /** The trainable variables' names in {@code sd}, in definition order. */
  public List<String> variableNames() {
    return variableNames;
  }

  /** {@link #variableNames()}. */
  @Override
  public List<String> parameterNames() {
    return variableNames;
  }

  /** {@link #noiseFeed}: the training graph's drop-path and dropout noise for this step. */
  @Override
  public Map<String, INDArray> stepFeeds(int batchSize, long seed) {
    return noiseFeed(batchSize, seed);
  }
}
