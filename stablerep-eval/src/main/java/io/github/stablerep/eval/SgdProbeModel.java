package io.github.stablerep.eval;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The heads trained by {@link SgdProbe}, each with its validation top-1, and the chosen one
 * (best validation top-1; ties to the smaller learning rate). Immutable.
 */
public final class SgdProbeModel {

  /**
   * One head: its base and actual learning rate, its top-1 on the validation set, its mean
   * training cross-entropy per epoch, and the classifier. In {@link #model()}, {@code lambda()}
   * is the weight decay, {@code objective()} the last epoch's mean training loss and
   * {@code iterations()} the number of SGD steps.
   */
  public record Head(double baseLearningRate, double learningRate, double validationTop1,
      double[] epochLosses, LinearProbeModel model) {
    public Head {
      epochLosses = epochLosses.clone();
    }

    @Override
    public double[] epochLosses() {
      return epochLosses.clone();
    }
  }

  private final List<Head> heads;
  private final int best;

  SgdProbeModel(List<Head> heads) {
    this.heads = List.copyOf(heads);
    int b = 0;
    for (int h = 1; h < heads.size(); h++) {
      // strictly better only, as the reference's `meter.avg > max_acc` in list order
      if (heads.get(h).validationTop1() > heads.get(b).validationTop1()) {
        b = h;
      }
    }
    this.best = b;
  }

  /** All heads, in the order of the base learning rates. */
  public List<Head> heads() {
    return heads;
  }

  /** Index of the chosen head in {@link #heads()}. */
  public int bestIndex() {
    return best;
  }

  /** The chosen head. */
  public Head best() {
    return heads.get(best);
  }

  /** Predictions of the chosen head. */
  public int[] predict(INDArray x) {
    return best().model().predict(x);
  }

  /** The chosen head on a labelled (test) set. */
  public ProbeResult evaluate(INDArray testX, int[] testY) {
    return best().model().evaluate(testX, testY);
  }
}
