package io.github.stablerep.core.train;

import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A part of a model in a SameDiff graph as a {@link TrainStep} sees it: its trainable
 * parameters, plus what it needs beyond gradients at every step.
 *
 * <p>Why an interface in core: SameDiff works around two things a training step has to do by
 * hand, and only the model knows how (core cannot depend on the models module):
 *
 * <ul>
 *   <li><b>per-step feeds</b>: ND4J 1.0.0-M2.1's in-graph random ops repeat the same values at
 *       every execution, so training-mode noise (drop path, dropout) is drawn in Java and fed
 *       as placeholders ({@link #stepFeeds});
 *   <li><b>statistics updates</b>: a BatchNorm layer's running mean and variance are not
 *       trainable variables, so the step fetches the batch statistics from its forward pass
 *       ({@link #statisticNames}) and folds them in afterwards ({@link #updateStatistics}).
 * </ul>
 *
 * The models module's {@code VitGraph} (noise) and {@code ProjectionHeadGraph} (BatchNorm
 * running statistics) implement it.
 */
public interface TrainingPart {

  /** SameDiff names of this part's trainable variables. */
  List<String> parameterNames();

  /**
   * The placeholders this part needs at a training step for a batch of {@code batchSize}
   * samples, drawn from {@code seed} (the same seed gives the same arrays). Default: none.
   */
  default Map<String, INDArray> stepFeeds(int batchSize, long seed) {
    return Map.of();
  }

  /** Names of forward values of the step's pass that {@link #updateStatistics} reads. Default: none. */
  default List<String> statisticNames() {
    return List.of();
  }

  /**
   * Folds one step's forward values (at least those named by {@link #statisticNames}) into this
   * part's non-trainable state. Called once per step, after the optimiser step. Default: nothing.
   */
  default void updateStatistics(Map<String, INDArray> outputs) {}
}
