package io.github.stablerep.core.loss;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.Shapes;
import io.github.stablerep.core.linalg.Matmul;
import io.github.stablerep.core.loss.ContrastiveKernel.CrossEntropy;
import io.github.stablerep.core.loss.ContrastiveKernel.Normalized;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * StableRep's multi-positive contrastive loss (Tian et al., 2023, eq. 2-3).
 *
 * <p>For a batch of embeddings a_i with caption ids y_i, every other image generated from the
 * same caption is a positive. With f_i = a_i/‖a_i‖ and temperature τ:
 *
 * <pre>
 *   q_ij = exp(f_i·f_j/τ) / Σ_{k≠i} exp(f_i·f_k/τ)                 (j ≠ i)
 *   p_ij = 1[y_i = y_j, j ≠ i] / max(Σ_{k≠i} 1[y_i = y_k], 1)
 *   L    = −(1/N) Σ_i Σ_j p_ij log q_ij
 * </pre>
 *
 * i.e. the cross-entropy between the contrastive distribution q and the ground-truth
 * distribution p that spreads its mass evenly over the positives. This is exactly the official
 * {@code MultiPosConLoss}: the self column is masked by subtracting 1e9, the detached row max is
 * subtracted, and a row without positives contributes zero (the reference's {@code clamp(min=1)}
 * leaves p at zero there), so a caption with a single image in the batch is harmless.
 *
 * <p><b>SimCLR as a special case.</b> With exactly two views per id, each row has one positive,
 * p is one-hot, and L is SimCLR's NT-Xent (Chen et al., 2020) over the 2N views.
 *
 * <p>Half-precision inputs are computed in fp32; the returned gradient has the input's type.
 *
 * <pre>{@code
 * MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().temperature(0.1).build();
 * SDVariable l = loss.define(sd, projections, captionIds);   // trains: gradients reach the encoder
 * sd.setLossVariables(l);
 * LossResult r = loss.compute(embeddings, captionIds);      // eager value + d/d embeddings
 * }</pre>
 */
public final class MultiPositiveContrastiveLoss {

  /** StableRep's default temperature. */
  public static final double DEFAULT_TEMPERATURE = 0.1;

  private final double temperature;

  /** Whether the eager computations reuse the per-thread workspace (always, outside tests). */
  private final boolean reuseWorkspace;

  private MultiPositiveContrastiveLoss(Builder builder) {
    this(builder.temperature, true);
  }

  private MultiPositiveContrastiveLoss(double temperature, boolean reuseWorkspace) {
    this.temperature = temperature;
    this.reuseWorkspace = reuseWorkspace;
  }

  /**
   * This loss with ordinary allocations instead of the reused workspace: the reference a test
   * compares the workspace against, bit for bit.
   */
  MultiPositiveContrastiveLoss withoutWorkspaceReuse() {
    return new MultiPositiveContrastiveLoss(temperature, false);
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().temperature(temperature);
  }

  public double temperature() {
    return temperature;
  }

  /**
   * Adds the loss to {@code sd}: a scalar of {@code embeddings}' floating type (fp32 for half
   * inputs). The result is not registered as a loss variable, so it can be combined with other
   * terms; call {@code sd.setLossVariables(...)} on what you train.
   *
   * @param embeddings [N, D] raw (un-normalised) embeddings
   * @param captionIds [N] integer ids; equal ids are positives
   */
  public SDVariable define(SameDiff sd, SDVariable embeddings, SDVariable captionIds) {
    return define(sd, null, embeddings, captionIds);
  }

  /** As {@link #define(SameDiff, SDVariable, SDVariable)}, naming the output {@code name}. */
  public SDVariable define(SameDiff sd, String name, SDVariable embeddings, SDVariable captionIds) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(embeddings != null, "embeddings: expected a variable, found null");
    checkArgument(captionIds != null, "captionIds: expected a variable, found null");
    SDVariable f = GraphOps.l2Normalize(sd, GraphOps.atLeastFloat(embeddings));
    SDVariable logits = sd.mmul(f, f, false, true, false).div(temperature);
    SDVariable eye = GraphOps.identityLike(sd, f, logits.dataType());
    SDVariable ids = sd.reshape(captionIds, -1);
    SDVariable same = sd.eq(sd.reshape(ids, -1, 1), sd.reshape(ids, 1, -1)).castTo(logits.dataType());
    SDVariable positives = same.sub(eye);
    SDVariable masked = logits.sub(eye.mul(ContrastiveKernel.SELF_MASK));
    return GraphOps.softTargetCrossEntropy(sd, name, masked, positives);
  }

  /**
   * The loss and d loss / d embeddings for one batch.
   *
   * @param embeddings [N, D] raw embeddings, any floating type
   * @param captionIds N integer ids (any numeric type holding whole numbers)
   * @throws IllegalArgumentException on a shape mismatch or a non-finite embedding
   */
  public LossResult compute(INDArray embeddings, INDArray captionIds) {
    Shapes.checkMatrix("embeddings", embeddings);
    long[] ids = Shapes.integerLabels("captionIds", captionIds, embeddings.rows());
    ContrastiveKernel.checkFinite("embeddings", embeddings);
    return ContrastiveKernel.inWorkspace(reuseWorkspace, () -> {
      DataType type = ContrastiveKernel.computeType(embeddings.dataType());
      Normalized f = ContrastiveKernel.normalize(ContrastiveKernel.prepare(embeddings, type));
      CrossEntropy ce =
          ContrastiveKernel.sameIdCrossEntropy(
              ContrastiveKernel.scaledProduct(f.unit, f.unit, 1.0 / temperature), ids, ids, 0);
      // rows and columns are the same embeddings, so both paths land on them: (dZ + dZᵀ)·f / τ,
      // as two GEMMs: adding a transposed N×N view costs more than the second product
      INDArray gradUnit = Matmul.mm(ce.gradLogits, f.unit, false, false, 1.0 / temperature)
          .addi(Matmul.mm(ce.gradLogits, f.unit, true, false, 1.0 / temperature));
      INDArray grad = ContrastiveKernel.normalizeBackward(f, gradUnit);
      return LossResult.of(checkValue(ce.value), ContrastiveKernel.detach(grad, embeddings.dataType()));
    });
  }

  /**
   * The distributed form: this rank's rows against the embeddings gathered from all ranks, as
   * the reference computes it after {@code all_gather}. Row i's self column is
   * {@code localOffset + i}.
   *
   * <p>{@link LossResult#value()} is this rank's loss (mean over its rows). {@link
   * LossResult#gradient()} is d loss_r / d localEmbeddings through the rows only, and {@link
   * LossResult#columnGradient()} is d loss_r / d globalEmbeddings through the columns. A job
   * that, like the reference under DDP, minimises the mean of the ranks' losses gives rank r's
   * embeddings the gradient
   *
   * <pre>
   *   g_r = ( gradient_r + Σ_k columnGradient_k[rows of r] ) / ranks
   * </pre>
   *
   * which is the reduce-scatter that {@code torch.distributed.nn.all_gather} performs in its
   * backward, followed by DDP's averaging.
   *
   * @throws IllegalArgumentException if the local ids are not the global ids at the offset
   */
  public LossResult compute(
      INDArray localEmbeddings,
      INDArray localIds,
      INDArray globalEmbeddings,
      INDArray globalIds,
      long localOffset) {
    Shapes.checkMatrix("localEmbeddings", localEmbeddings);
    Shapes.checkMatrix("globalEmbeddings", globalEmbeddings);
    long n = localEmbeddings.rows();
    long total = globalEmbeddings.rows();
    checkArgument(
        globalEmbeddings.columns() == localEmbeddings.columns(),
        "globalEmbeddings: expected %s columns like localEmbeddings, found %s",
        localEmbeddings.columns(), globalEmbeddings.columns());
    checkArgument(
        localOffset >= 0 && localOffset + n <= total,
        "localOffset: expected 0 <= offset <= %s so that %s local rows fit in %s global rows, found %s",
        total - n, n, total, localOffset);
    long[] rowIds = Shapes.integerLabels("localIds", localIds, n);
    long[] columnIds = Shapes.integerLabels("globalIds", globalIds, total);
    for (int i = 0; i < n; i++) {
      if (rowIds[i] != columnIds[(int) (localOffset + i)]) {
        throw new IllegalArgumentException(
            "globalIds: expected the local ids at offset " + localOffset + ", found id "
                + columnIds[(int) (localOffset + i)] + " at global row " + (localOffset + i)
                + " where local row " + i + " has id " + rowIds[i]);
      }
    }
    ContrastiveKernel.checkFinite("localEmbeddings", localEmbeddings);
    ContrastiveKernel.checkFinite("globalEmbeddings", globalEmbeddings);
    return ContrastiveKernel.inWorkspace(reuseWorkspace, () -> {
      DataType type = ContrastiveKernel.computeType(localEmbeddings.dataType());
      Normalized rows = ContrastiveKernel.normalize(ContrastiveKernel.prepare(localEmbeddings, type));
      Normalized columns = ContrastiveKernel.normalize(ContrastiveKernel.prepare(globalEmbeddings, type));
      CrossEntropy ce =
          ContrastiveKernel.sameIdCrossEntropy(
              ContrastiveKernel.scaledProduct(rows.unit, columns.unit, 1.0 / temperature),
              rowIds, columnIds, localOffset);
      INDArray rowGrad = Matmul.mm(ce.gradLogits, columns.unit, false, false, 1.0 / temperature);
      INDArray columnGrad = Matmul.mm(ce.gradLogits, rows.unit, true, false, 1.0 / temperature);
      return LossResult.distributed(
          checkValue(ce.value),
          ContrastiveKernel.detach(ContrastiveKernel.normalizeBackward(rows, rowGrad), localEmbeddings.dataType()),
          ContrastiveKernel.detach(ContrastiveKernel.normalizeBackward(columns, columnGrad), globalEmbeddings.dataType()));
    });
  }

  private double checkValue(double value) {
    return ContrastiveKernel.checkFiniteLoss(
        "multi-positive contrastive loss", value, "temperature " + temperature);
  }

  @Override
  public String toString() {
    return "MultiPositiveContrastiveLoss{temperature=" + temperature + "}";
  }

  /** Defaults from the paper: temperature 0.1. */
  public static final class Builder {
    private double temperature = DEFAULT_TEMPERATURE;

    private Builder() {}

    /** Softmax temperature τ; StableRep uses 0.1. Must be finite and positive. */
    public Builder temperature(double temperature) {
      this.temperature = temperature;
      return this;
    }

    public MultiPositiveContrastiveLoss build() {
      checkArgument(
          Double.isFinite(temperature) && temperature > 0,
          "temperature: expected a finite value > 0 (StableRep uses 0.1), found %s", temperature);
      return new MultiPositiveContrastiveLoss(this);
    }
  }
}
