package io.github.stablerep.models.vit;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import io.github.stablerep.core.train.TrainingPart;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The handle {@link ProjectionHead#define} returns: the head's output on one SameDiff, in
 * training or inference mode, and (in training mode) the per-chunk batch statistics with the
 * step that folds them into the running statistics.
 *
 * <p>As a {@link TrainingPart} of a {@code TrainStep}, which is how a training loop uses it:
 * its parameters are {@link #parameterNames()}; in training mode the step fetches {@link
 * #statisticNames()} from its forward pass and calls {@link #updateRunningStatistics} after the
 * optimiser step.
 *
 * <p>Not thread-safe: the update writes the running statistics in place.
 */
public final class ProjectionHeadGraph implements TrainingPart {

  private final ProjectionHead head;
  private final SameDiff sd;
  private final SDVariable output;
  private final boolean training;
  private final int viewChunks;
  private final List<String> statisticNames;

  ProjectionHeadGraph(
      ProjectionHead head, SameDiff sd, SDVariable output, boolean training, int viewChunks, List<String> statisticNames) {
    this.head = head;
    this.sd = sd;
    this.output = output;
    this.training = training;
    this.viewChunks = viewChunks;
    this.statisticNames = List.copyOf(statisticNames);
  }

  /** [N, outputDim]: the embedding the loss sees. */
  public SDVariable output() {
    return output;
  }

  public boolean training() {
    return training;
  }

  public int viewChunks() {
    return viewChunks;
  }

  public ProjectionHead head() {
    return head;
  }

  /** SameDiff names of the trainable parameters. */
  @Override
  public List<String> parameterNames() {
    return head.parameterNames();
  }

  /**
   * Names of the batch statistics, per BatchNorm layer in order: its chunks' means, then its
   * chunks' unbiased variances, each [viewChunks, hiddenDim]. Empty in inference mode or without
   * BatchNorm.
   */
  @Override
  public List<String> statisticNames() {
    return statisticNames;
  }

  /**
   * Folds one training step's batch statistics into the running statistics, as torch's
   * BatchNorm does when the reference applies the MLP to each chunk in turn: for chunk c = 0, 1,
   * … {@code running_mean ← (1 − m)·running_mean + m·mean_c} and {@code running_var ← (1 −
   * m)·running_var + m·unbiasedVar_c}, and {@code num_batches_tracked} grows by one per chunk.
   * The arithmetic runs in float64 and is rounded once into the statistics' data type.
   *
   * @param outputs at least the arrays named by {@link #statisticNames()} from the same forward
   *     pass (extra entries are ignored)
   * @throws IllegalStateException in inference mode
   * @throws IllegalArgumentException if a statistic is missing or of the wrong shape, or not
   *     finite (a chunk of one row has no unbiased variance); nothing is changed then
   */
  public void updateRunningStatistics(Map<String, INDArray> outputs) {
    checkState(training, "updateRunningStatistics: expected a training-mode graph, found inference mode");
    checkArgument(outputs != null, "outputs: expected a map holding %s, found null", statisticNames);
    for (String name : statisticNames) {
      INDArray a = outputs.get(name);
      checkArgument(a != null, "outputs: expected the statistic '%s', found keys %s", name, outputs.keySet());
      long[] expected = {viewChunks, head.hiddenDim()};
      checkArgument(
          Arrays.equals(a.shape(), expected),
          "outputs: expected '%s' of shape %s, found %s", name, Arrays.toString(expected), Arrays.toString(a.shape()));
      checkArgument(
          !a.isNaN().any() && !a.isInfinite().any(),
          "outputs: expected finite values in '%s' (chunks of at least 2 rows), found NaN or infinity", name);
    }
    double m = head.bnMomentum();
    for (int s = 0; s < statisticNames.size(); s += 2) {
      String bn = "bn" + (s / 2 + 1) + ".";
      INDArray mean = outputs.get(statisticNames.get(s)).castTo(DataType.DOUBLE);
      INDArray var = outputs.get(statisticNames.get(s + 1)).castTo(DataType.DOUBLE);
      INDArray runningMean = head.array(sd, bn + ProjectionHead.RUNNING_MEAN);
      INDArray runningVar = head.array(sd, bn + ProjectionHead.RUNNING_VAR);
      INDArray rm = runningMean.castTo(DataType.DOUBLE);
      INDArray rv = runningVar.castTo(DataType.DOUBLE);
      for (int c = 0; c < viewChunks; c++) {
        rm.muli(1.0 - m).addi(mean.getRow(c).mul(m));
        rv.muli(1.0 - m).addi(var.getRow(c).mul(m));
      }
      runningMean.assign(rm.castTo(runningMean.dataType()));
      runningVar.assign(rv.castTo(runningVar.dataType()));
      INDArray tracked = head.array(sd, bn + ProjectionHead.NUM_BATCHES_TRACKED);
      tracked.assign(tracked.getLong(0) + viewChunks);
    }
  }

  /**
   * {@link #updateRunningStatistics} in training mode; nothing in inference mode, where the
   * BatchNorm layers use their running statistics and have no batch statistics to fold in.
   */
  @Override
  public void updateStatistics(Map<String, INDArray> outputs) {
    if (training) {
      updateRunningStatistics(outputs);
    }
  }
}
