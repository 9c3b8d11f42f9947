package io.github.stablerep.models.diffusion;

import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * What {@link ClipTextEncoder#define} added to a graph: its two outputs and the names of its
 * variables (in transformers' state-dict order, each prefixed with the encoder's name).
 */
public final class ClipTextEncoderGraph {

  private final SDVariable tokenIds;
  private final SDVariable lastHiddenState;
  private final SDVariable pooled;
  private final List<String> variableNames;

  ClipTextEncoderGraph(SDVariable tokenIds, SDVariable lastHiddenState, SDVariable pooled, List<String> variableNames) {
    this.tokenIds = tokenIds;
    this.lastHiddenState = lastHiddenState;
    this.pooled = pooled;
    this.variableNames = List.copyOf(variableNames);
  }

  /** The token ids the graph was built on, [N, L]. */
  public SDVariable tokenIds() {
    return tokenIds;
  }

  /**
   * Every token's state after the final LayerNorm, [N, L, D]: transformers' {@code
   * last_hidden_state}, the conditioning Stable Diffusion's UNet cross-attends to.
   */
  public SDVariable lastHiddenState() {
    return lastHiddenState;
  }

  /** The state at each row's end token, [N, D]: transformers' {@code pooler_output}. */
  public SDVariable pooled() {
    return pooled;
  }

  public List<String> variableNames() {
    return variableNames;
  }
}
