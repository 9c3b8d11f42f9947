package io.github.stablerep.models.vit;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * What {@link VisionTransformer#define} added to a graph: its outputs and the names of its
 * trainable variables (in definition order, each prefixed with the model's {@code name}).
 */
public final class VitGraph {

  private final SDVariable tokens;
  private final SDVariable classToken;
  private final SDVariable pooled;
  private final List<String> variableNames;

  VitGraph(SDVariable tokens, SDVariable classToken, SDVariable pooled, List<String> variableNames) {
    this.tokens = tokens;
    this.classToken = classToken;
    this.pooled = pooled;
    this.variableNames = List.copyOf(variableNames);
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

  /** The trainable variables' names in {@code sd}, in definition order. */
  public List<String> variableNames() {
    return variableNames;
  }
}
