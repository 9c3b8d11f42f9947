package io.github.stablerep.core.loss;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The StableRep++ loss, its two parts, and its gradients with respect to every input: the
 * raw image features of the image-image part, the raw image and text embeddings of the
 * image-text part, and the log logit scale.
 */
public record ImageTextLossResult(
    double value,
    double imageLoss,
    double imageTextLoss,
    INDArray gradImageFeatures,
    INDArray gradImageEmbeddings,
    INDArray gradTextEmbeddings,
    double gradLogScale) {}
