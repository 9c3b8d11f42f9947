package io.github.stablerep.core.loss;

import com.google.common.base.Preconditions;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The value of a loss and its gradient with respect to the raw (un-normalised) embeddings that
 * were passed in. Arrays are fresh and owned by the caller.
 *
 * <p>In the distributed form of {@link MultiPositiveContrastiveLoss}, {@link #gradient()} is the
 * gradient through the local rows only and {@link #columnGradient()} the gradient through the
 * gathered columns; see {@link MultiPositiveContrastiveLoss#compute(INDArray, INDArray, INDArray,
 * INDArray, long)} for how ranks combine them.
 */
public final class LossResult {

  private final double value;
  private final INDArray gradient;
  private final INDArray columnGradient;

  private LossResult(double value, INDArray gradient, INDArray columnGradient) {
    this.value = value;
    this.gradient = Preconditions.checkNotNull(gradient, "gradient");
    this.columnGradient = columnGradient;
  }

  static LossResult of(double value, INDArray gradient) {
    return new LossResult(value, gradient, null);
  }

  static LossResult distributed(double value, INDArray rowGradient, INDArray columnGradient) {
    return new LossResult(value, rowGradient, Preconditions.checkNotNull(columnGradient));
  }

  /** The loss, a mean over the (local) rows. */
  public double value() {
    return value;
  }

  /** d loss / d embeddings, same shape and data type as the embeddings passed in. */
  public INDArray gradient() {
    return gradient;
  }

  /** In the distributed form, d loss / d global embeddings through the columns; else empty. */
  public Optional<INDArray> columnGradient() {
    return Optional.ofNullable(columnGradient);
  }

  @Override
  public String toString() {
    return "LossResult{value=" + value + ", gradient=" + java.util.Arrays.toString(gradient.shape())
        + (columnGradient == null ? "" : ", columnGradient=" + java.util.Arrays.toString(columnGradient.shape()))
        + "}";
  }
}
