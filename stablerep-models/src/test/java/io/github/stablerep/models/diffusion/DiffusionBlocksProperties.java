package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.models.internal.ImageLayers;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Invariants of the composed GroupNorm and of the legacy-name remapping. */
class DiffusionBlocksProperties {

  /** GroupNorm(a·x + b) = GroupNorm(x) for a > 0, and each group comes out with mean 0, variance 1. */
  @Property(tries = 15)
  void groupNormIsInvariantToScaleAndShiftAndStandardisesEachGroup(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 4) int groups, @ForAll @IntRange(min = 1, max = 3) int perGroup,
      @ForAll @IntRange(min = 1, max = 5) int h, @ForAll @IntRange(min = 2, max = 5) int w,
      @ForAll @DoubleRange(min = 0.05, max = 20) double a, @ForAll @DoubleRange(min = -50, max = 50) double b) {
    int c = groups * perGroup;
    Random rng = new Random(seed);
    double[] v = new double[2 * c * h * w];
    for (int i = 0; i < v.length; i++) {
      v[i] = rng.nextGaussian() * 3 + 1;
    }
    INDArray x = Nd4j.createFromArray(v).reshape(2, c, h, w);
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("x", DataType.DOUBLE, -1, c, -1, -1);
    SDVariable y = ImageLayers.groupNorm(sd, in, groups, c, sd.constant(Nd4j.ones(DataType.DOUBLE, c)),
        sd.constant(Nd4j.zeros(DataType.DOUBLE, c)), 1e-12);
    INDArray plain = sd.output(Map.of("x", x), y.name()).get(y.name());
    INDArray moved = sd.output(Map.of("x", x.mul(a).add(b)), y.name()).get(y.name());
    assertThat(moved.sub(plain).amaxNumber().doubleValue()).isLessThan(1e-8);
    INDArray grouped = plain.reshape(2L * groups, (long) perGroup * h * w);
    INDArray input = x.reshape(2L * groups, (long) perGroup * h * w);
    for (int r = 0; r < 2 * groups; r++) {
      INDArray row = grouped.getRow(r);
      assertThat(row.meanNumber().doubleValue()).isCloseTo(0, org.assertj.core.data.Offset.offset(1e-9));
      if (row.length() > 1 && input.getRow(r).varNumber().doubleValue() > 0) {
        double var = row.mul(row).meanNumber().doubleValue();
        assertThat(var).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-9));
      }
    }
  }

  /** Legacy VAE attention names map to today's and nothing else is renamed. */
  @Property(tries = 50)
  void legacyNamesMapOnlyAttentionProjections(@ForAll @IntRange(min = 0, max = 9) int block,
      @ForAll @IntRange(min = 0, max = 3) int which, @ForAll boolean bias) {
    String[] legacy = {"query", "key", "value", "proj_attn"};
    String[] current = {"to_q", "to_k", "to_v", "to_out.0"};
    String suffix = bias ? ".bias" : ".weight";
    Map<String, INDArray> in = new LinkedHashMap<>();
    INDArray t = Nd4j.zeros(DataType.FLOAT, 1);
    in.put("decoder.mid_block.attentions." + block + "." + legacy[which] + suffix, t);
    in.put("decoder.mid_block.resnets." + block + ".conv1" + suffix, t);
    in.put("encoder.key.weight", t);   // not under attentions.N: left alone
    Map<String, INDArray> out = ModuleWeights.remapLegacy(in);
    assertThat(out.keySet()).containsExactly(
        "decoder.mid_block.attentions." + block + "." + current[which] + suffix,
        "decoder.mid_block.resnets." + block + ".conv1" + suffix,
        "encoder.key.weight");
  }
}
