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

  /**
   * GroupNorm(a·x + b) is GroupNorm(x) up to the eps term, and each group comes out with mean 0 and
   * mean square v / (v + eps), where v is the group's population variance. The eps terms are
   * predicted exactly rather than ignored: a group of two nearly equal values has a tiny v, and
   * then eps (1e-12) moves the result by far more than rounding does.
   */
  @Property(tries = 15)
  void groupNormIsInvariantToScaleAndShiftAndStandardisesEachGroup(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 4) int groups, @ForAll @IntRange(min = 1, max = 3) int perGroup,
      @ForAll @IntRange(min = 1, max = 5) int h, @ForAll @IntRange(min = 2, max = 5) int w,
      @ForAll @DoubleRange(min = 0.05, max = 20) double a, @ForAll @DoubleRange(min = -50, max = 50) double b) {
    double eps = 1e-12;
    int c = groups * perGroup;
    int groupSize = perGroup * h * w;
    Random rng = new Random(seed);
    double[] v = new double[2 * c * h * w];
    for (int i = 0; i < v.length; i++) {
      v[i] = rng.nextGaussian() * 3 + 1;
    }
    INDArray x = Nd4j.createFromArray(v).reshape(2, c, h, w);
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("x", DataType.DOUBLE, -1, c, -1, -1);
    SDVariable y = ImageLayers.groupNorm(sd, in, groups, c, sd.constant(Nd4j.ones(DataType.DOUBLE, c)),
        sd.constant(Nd4j.zeros(DataType.DOUBLE, c)), eps);
    INDArray plain = sd.output(Map.of("x", x), y.name()).get(y.name());
    INDArray moved = sd.output(Map.of("x", x.mul(a).add(b)), y.name()).get(y.name());
    INDArray grouped = plain.reshape(2L * groups, groupSize);
    INDArray movedGrouped = moved.reshape(2L * groups, groupSize);
    for (int r = 0; r < 2 * groups; r++) {
      double var = populationVariance(v, r * groupSize, groupSize);
      double maxAbs = 0;
      for (int i = 0; i < groupSize; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(v[r * groupSize + i]));
      }
      // Rounding of a·x + b and of its mean, relative to the group's spread after scaling.
      double rounding = 1e-10 + 1e-13 * (Math.abs(b) + a * maxAbs) / (a * Math.sqrt(var));
      double epsFactor = Math.sqrt((var + eps) / (var + eps / (a * a)));
      INDArray row = grouped.getRow(r);
      assertThat(movedGrouped.getRow(r).sub(row.mul(epsFactor)).amaxNumber().doubleValue())
          .as("row %d of %d, variance %s", r, 2 * groups, var).isLessThan(rounding);
      assertThat(row.meanNumber().doubleValue()).isCloseTo(0, org.assertj.core.data.Offset.offset(1e-9));
      double meanSquare = row.mul(row).meanNumber().doubleValue();
      assertThat(meanSquare).as("row %d, variance %s", r, var)
          .isCloseTo(var / (var + eps), org.assertj.core.data.Offset.offset(1e-9));
    }
  }

  private static double populationVariance(double[] values, int from, int length) {
    double mean = 0;
    for (int i = 0; i < length; i++) {
      mean += values[from + i];
    }
    mean /= length;
    double sum = 0;
    for (int i = 0; i < length; i++) {
      double d = values[from + i] - mean;
      sum += d * d;
    }
    return sum / length;
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
