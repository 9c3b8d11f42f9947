package io.github.stablerep.core.internal;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ops.impl.broadcast.BiasAdd;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's {@code biasadd} with a faster bias gradient; {@code core.train.Gradients.createGradientFunction}
 * substitutes it for {@link BiasAdd} in the gradient function it builds.
 *
 * <p>M2.1's backward ({@code biasadd_bp}) sums the incoming gradient over rows with a column
 * reduction that runs far below memory speed, many times slower than the same sum as a matrix
 * product 1ᵀ·G (benchmarks/README.md, "Figures behind library comments"). This op's gradient is that product, plus G
 * itself for the input through an identity op (SameDiff's session passes an identity's input
 * through, at a negligible cost in a ViT step's profile). The
 * forward op is ND4J's own, so outputs are unchanged; the bias gradient differs from ND4J's by
 * summation order only. Layouts it does not handle (channels first on more than two dimensions,
 * a bias of unknown length) get ND4J's own gradient.
 */
public final class LeanBiasAdd extends BiasAdd {

  /** For ND4J's reflective instantiation, which is how the gradient function's copy is made. */
  public LeanBiasAdd() {}

  /**
   * The copy's properties: ND4J's registry only knows {@link BiasAdd}'s fields, so without this
   * it would log a warning per op and leave {@code nchw} at its default.
   */
  @Override
  public void setPropertiesForFunction(Map<String, Object> properties) {
    if (properties.get("nchw") instanceof Boolean channelsFirst) {
      nchw = channelsFirst;
    }
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> gradient) {
    boolean channelsFirst = bArgs().length > 0 ? bArgs()[0] : nchw;
    long[] biasShape = arg(1).getShape();
    long[] inputShape = arg(0).getShape();
    boolean lastAxis = !channelsFirst || (inputShape != null && inputShape.length == 2);
    if (!lastAxis || biasShape == null || biasShape.length != 1) {
      return super.doDiff(gradient);
    }
    SDVariable g = gradient.get(0);
    // a reshape op copies its input; a matrix needs none
    SDVariable rowsByChannels = inputShape != null && inputShape.length == 2 ? g : sameDiff.reshape(g, -1, biasShape[0]);
    SDVariable rows = sameDiff.reshape(sameDiff.sizeAt(rowsByChannels, 0), 1);     // INT64
    SDVariable shape = sameDiff.concat(0, sameDiff.constant(Nd4j.createFromArray(1L)), rows);
    SDVariable ones = sameDiff.fill(shape, g.dataType(), 1.0);                         // [1, rows]
    SDVariable biasGradient = sameDiff.reshape(sameDiff.mmul(ones, rowsByChannels), -1);  // [C]
    return List.of(sameDiff.identity(g), biasGradient);
  }
}
