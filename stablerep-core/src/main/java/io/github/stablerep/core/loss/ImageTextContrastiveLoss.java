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
import org.nd4j.linalg.factory.Nd4j;

/**
 * StableRep++: the multi-positive image loss plus a CLIP-style image-text loss in which the m
 * images of a caption are all positives of its text (the official {@code MultiPosConLossMM}).
 *
 * <pre>
 *   L = w_img · L_img + w_txt · ( CE(img → text) + CE(text → img) ) / 2
 * </pre>
 *
 * L_img is {@link MultiPositiveContrastiveLoss} at temperature τ over the image features. The
 * image-text logits are exp(s)·v_i·t_j for L2-normalised image embeddings v and text embeddings
 * t; CE(img → text) targets each image's own caption, CE(text → img) spreads each caption's
 * target evenly over its images. s is a learnable log logit scale initialised at ln(1/0.07) and,
 * as in CLIP and the reference training loop, clamped to [0, ln 100] after each optimiser step
 * (not inside the loss, so its gradient is the unclamped one); see {@link #clampLogScale}.
 */
public final class ImageTextContrastiveLoss {

  public static final double DEFAULT_LOG_SCALE = Math.log(1 / 0.07);
  public static final double MAX_LOG_SCALE = Math.log(100);

  private final double temperature;
  private final double imageWeight;
  private final double imageTextWeight;
  private final double initialLogScale;
  private final double maxLogScale;
  private final MultiPositiveContrastiveLoss imageLoss;

  private ImageTextContrastiveLoss(Builder b) {
    this.temperature = b.temperature;
    this.imageWeight = b.imageWeight;
    this.imageTextWeight = b.imageTextWeight;
    this.initialLogScale = b.initialLogScale;
    this.maxLogScale = b.maxLogScale;
    this.imageLoss = MultiPositiveContrastiveLoss.builder().temperature(temperature).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder()
        .temperature(temperature)
        .imageWeight(imageWeight)
        .imageTextWeight(imageTextWeight)
        .initialLogScale(initialLogScale)
        .maxLogScale(maxLogScale);
  }

  public double temperature() {
    return temperature;
  }

  public double imageWeight() {
    return imageWeight;
  }

  public double imageTextWeight() {
    return imageTextWeight;
  }

  public double initialLogScale() {
    return initialLogScale;
  }

  public double maxLogScale() {
    return maxLogScale;
  }

  /** s clamped to [0, maxLogScale], as the reference does to the parameter after each step. */
  public double clampLogScale(double logScale) {
    return Math.max(0, Math.min(maxLogScale, logScale));
  }

  /** Clamps the graph's log-scale variable in place; call after each optimiser step. */
  public void clampLogScale(Graph graph) {
    INDArray s = graph.logScale().getArr();
    s.assign(clampLogScale(s.getDouble(0)));
  }

  /** The variables {@link #define} adds; {@code loss} is the one to train. */
  public record Graph(SDVariable loss, SDVariable imageLoss, SDVariable imageTextLoss, SDVariable logScale) {}

  /**
   * Adds the loss and a trainable scalar log-scale variable named {@code logScaleName}.
   *
   * @param imageFeatures [N, D1] raw features for the image-image part
   * @param imageEmbeddings [N, D] raw image embeddings for the image-text part
   * @param textEmbeddings [T, D] raw text embeddings
   * @param imageIds [N] caption id of each image
   * @param textIds [T] caption id of each text
   */
  public Graph define(
      SameDiff sd,
      String logScaleName,
      SDVariable imageFeatures,
      SDVariable imageEmbeddings,
      SDVariable textEmbeddings,
      SDVariable imageIds,
      SDVariable textIds) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    SDVariable img = imageLoss.define(sd, imageFeatures, imageIds);
    SDVariable v = GraphOps.l2Normalize(sd, GraphOps.atLeastFloat(imageEmbeddings));
    SDVariable t = GraphOps.l2Normalize(sd, GraphOps.atLeastFloat(textEmbeddings));
    SDVariable s = sd.var(logScaleName, Nd4j.scalar(v.dataType(), initialLogScale));
    SDVariable scale = sd.math.exp(s);
    SDVariable vIds = sd.reshape(imageIds, -1);
    SDVariable tIds = sd.reshape(textIds, -1);
    SDVariable vToT = sd.eq(sd.reshape(vIds, -1, 1), sd.reshape(tIds, 1, -1)).castTo(v.dataType());
    SDVariable tToV = sd.eq(sd.reshape(tIds, -1, 1), sd.reshape(vIds, 1, -1)).castTo(v.dataType());
    SDVariable logitsV = sd.mmul(v, t, false, true, false).mul(scale);
    SDVariable logitsT = sd.mmul(t, v, false, true, false).mul(scale);
    SDVariable imgTxt =
        GraphOps.softTargetCrossEntropy(sd, null, logitsV, vToT)
            .add(GraphOps.softTargetCrossEntropy(sd, null, logitsT, tToV))
            .div(2.0);
    SDVariable total = img.mul(imageWeight).add(imgTxt.mul(imageTextWeight));
    return new Graph(total, img, imgTxt, s);
  }

  /**
   * The eager loss and all gradients.
   *
   * @param logScale the current log logit scale s (the loss uses exp(s))
   */
  public ImageTextLossResult compute(
      INDArray imageFeatures,
      INDArray imageEmbeddings,
      INDArray textEmbeddings,
      INDArray imageIds,
      INDArray textIds,
      double logScale) {
    Shapes.checkMatrix("imageEmbeddings", imageEmbeddings);
    Shapes.checkMatrix("textEmbeddings", textEmbeddings);
    Shapes.checkMatrix("imageFeatures", imageFeatures);
    checkArgument(
        imageFeatures.rows() == imageEmbeddings.rows(),
        "imageFeatures: expected %s rows like imageEmbeddings, found %s",
        imageEmbeddings.rows(), imageFeatures.rows());
    checkArgument(
        textEmbeddings.columns() == imageEmbeddings.columns(),
        "textEmbeddings: expected %s columns like imageEmbeddings, found %s",
        imageEmbeddings.columns(), textEmbeddings.columns());
    checkArgument(Double.isFinite(logScale), "logScale: expected a finite value, found %s", logScale);
    long[] vIds = Shapes.integerLabels("imageIds", imageIds, imageEmbeddings.rows());
    long[] tIds = Shapes.integerLabels("textIds", textIds, textEmbeddings.rows());
    ContrastiveKernel.checkFinite("imageEmbeddings", imageEmbeddings);
    ContrastiveKernel.checkFinite("textEmbeddings", textEmbeddings);

    LossResult img = imageLoss.compute(imageFeatures, imageIds);
    DataType type = ContrastiveKernel.computeType(imageEmbeddings.dataType());
    Normalized v = ContrastiveKernel.normalize(ContrastiveKernel.prepare(imageEmbeddings, type));
    Normalized t = ContrastiveKernel.normalize(ContrastiveKernel.prepare(textEmbeddings, type));
    double scale = Math.exp(logScale);
    INDArray cosine = Matmul.mm(v.unit, t.unit, false, true); // [N, T]
    CrossEntropy toText =
        ContrastiveKernel.sameIdCrossEntropy(cosine.mul(scale), vIds, tIds, -1);
    CrossEntropy toImage =
        ContrastiveKernel.sameIdCrossEntropy(cosine.transpose().mul(scale).dup('c'), tIds, vIds, -1);
    double imageText = (toText.value + toImage.value) / 2;

    // both directions share the cosine matrix: d/d cosine = (dZv + dZtᵀ) · scale · w / 2
    double half = imageTextWeight / 2;
    INDArray dCosine = toText.gradLogits.add(toImage.gradLogits.transpose());
    double gradLogScale = half * scale * dCosine.mul(cosine).sumNumber().doubleValue();
    dCosine.muli(half * scale);
    INDArray gradV = ContrastiveKernel.normalizeBackward(v, Matmul.mm(dCosine, t.unit));
    INDArray gradT = ContrastiveKernel.normalizeBackward(t, Matmul.mm(dCosine, v.unit, true, false));

    double value = ContrastiveKernel.checkFiniteLoss("image-text contrastive loss",
        imageWeight * img.value() + imageTextWeight * imageText, "logScale " + logScale);
    return new ImageTextLossResult(
        value,
        img.value(),
        imageText,
        img.gradient().muli(imageWeight),
        gradV.castTo(imageEmbeddings.dataType()),
        gradT.castTo(textEmbeddings.dataType()),
        gradLogScale);
  }

  @Override
  public String toString() {
    return "ImageTextContrastiveLoss{temperature=" + temperature + ", imageWeight=" + imageWeight
        + ", imageTextWeight=" + imageTextWeight + ", initialLogScale=" + initialLogScale
        + ", maxLogScale=" + maxLogScale + "}";
  }

  /** Defaults from StableRep++: τ = 0.1, both weights 1, s₀ = ln(1/0.07), s ≤ ln 100. */
  public static final class Builder {
    private double temperature = MultiPositiveContrastiveLoss.DEFAULT_TEMPERATURE;
    private double imageWeight = 1.0;
    private double imageTextWeight = 1.0;
    private double initialLogScale = DEFAULT_LOG_SCALE;
    private double maxLogScale = MAX_LOG_SCALE;

    private Builder() {}

    public Builder temperature(double temperature) {
      this.temperature = temperature;
      return this;
    }

    /** w_img, the weight of the image-image part (the reference's w1). */
    public Builder imageWeight(double imageWeight) {
      this.imageWeight = imageWeight;
      return this;
    }

    /** w_txt, the weight of the image-text part (the reference's w2). */
    public Builder imageTextWeight(double imageTextWeight) {
      this.imageTextWeight = imageTextWeight;
      return this;
    }

    public Builder initialLogScale(double initialLogScale) {
      this.initialLogScale = initialLogScale;
      return this;
    }

    public Builder maxLogScale(double maxLogScale) {
      this.maxLogScale = maxLogScale;
      return this;
    }

    public ImageTextContrastiveLoss build() {
      checkArgument(Double.isFinite(temperature) && temperature > 0,
          "temperature: expected a finite value > 0, found %s", temperature);
      checkArgument(Double.isFinite(imageWeight) && imageWeight >= 0,
          "imageWeight: expected a finite value >= 0, found %s", imageWeight);
      checkArgument(Double.isFinite(imageTextWeight) && imageTextWeight >= 0,
          "imageTextWeight: expected a finite value >= 0, found %s", imageTextWeight);
      checkArgument(Double.isFinite(maxLogScale) && maxLogScale >= 0,
          "maxLogScale: expected a finite value >= 0, found %s", maxLogScale);
      checkArgument(initialLogScale >= 0 && initialLogScale <= maxLogScale,
          "initialLogScale: expected a value in [0, maxLogScale=%s], found %s", maxLogScale, initialLogScale);
      return new ImageTextContrastiveLoss(this);
    }
  }
}
