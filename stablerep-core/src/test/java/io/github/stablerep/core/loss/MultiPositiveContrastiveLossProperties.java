package io.github.stablerep.core.loss;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Scale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Invariants of the multi-positive loss that hold for any batch, checked on random batches. */
class MultiPositiveContrastiveLossProperties {

  /**
   * A random batch: N embeddings of width D with ids drawn from a few captions. It holds the
   * seed, not the array: jqwik hashes generated values, and INDArray.hashCode crashes the JVM
   * in 1.0.0-M2.1.
   */
  record Batch(int width, long[] ids, long seed) {
    int n() {
      return ids.length;
    }

    /** Gaussian values from java.util.Random, so that every call returns the same array. */
    INDArray embeddings() {
      Random rnd = new Random(seed);
      float[] values = new float[ids.length * width];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) rnd.nextGaussian();
      }
      return Nd4j.create(values, new long[] {ids.length, width});
    }

    INDArray idArray() {
      return Nd4j.createFromArray(ids);
    }
  }

  @Provide
  Arbitrary<Batch> batches() {
    return Combinators.combine(
            Arbitraries.integers().between(2, 32),
            Arbitraries.integers().between(2, 24),
            Arbitraries.integers().between(1, 12),
            Arbitraries.longs())
        .as((n, d, captions, seed) -> {
          Random rnd = new Random(seed);
          long[] ids = new long[n];
          for (int i = 0; i < n; i++) {
            ids[i] = rnd.nextInt(captions);
          }
          return new Batch(d, ids, seed);
        });
  }

  private static final MultiPositiveContrastiveLoss LOSS = MultiPositiveContrastiveLoss.builder().build();

  private static double relTol(double v) {
    return 1e-5 * Math.max(1.0, Math.abs(v));
  }

  @Property(tries = 60)
  void invariantToPermutingTheBatch(@ForAll("batches") Batch b) {
    int[] perm = permutation(b.n(), new Random(b.seed() ^ 0x5DEECE66DL));
    INDArray permuted = Nd4j.create(DataType.FLOAT, b.n(), b.embeddings().columns());
    long[] ids = new long[b.n()];
    for (int i = 0; i < b.n(); i++) {
      permuted.putRow(i, b.embeddings().getRow(perm[i]));
      ids[i] = b.ids()[perm[i]];
    }
    LossResult a = LOSS.compute(b.embeddings(), b.idArray());
    LossResult p = LOSS.compute(permuted, Nd4j.createFromArray(ids));
    assertThat(p.value()).isCloseTo(a.value(), org.assertj.core.data.Offset.offset(relTol(a.value())));
    // permuting reorders the sums inside the GEMMs: fp32 rounding, up to ~1e-5 of the largest
    // entry; a gradient near zero is a sum of terms that cancel, each up to ~1e-2 here, so the
    // rounding floor is set by them (1.02e-7 seen at 10x the tries), not by the tiny result
    for (int i = 0; i < b.n(); i++) {
      INDArray expected = a.gradient().getRow(perm[i]);
      assertThat(p.gradient().getRow(i).sub(expected).amaxNumber().doubleValue())
          .isLessThanOrEqualTo(1e-4 * Math.max(1e-2, a.gradient().amaxNumber().doubleValue()));
    }
  }

  @Property(tries = 60)
  void invariantToRelabellingIds(@ForAll("batches") Batch b, @ForAll long offset, @ForAll @IntRange(min = 1, max = 1000) int stride) {
    long[] relabelled = new long[b.n()];
    for (int i = 0; i < b.n(); i++) {
      relabelled[i] = b.ids()[i] * stride + (offset >> 16); // injective on the small ids used
    }
    LossResult a = LOSS.compute(b.embeddings(), b.idArray());
    LossResult r = LOSS.compute(b.embeddings(), Nd4j.createFromArray(relabelled));
    assertThat(r.value()).isEqualTo(a.value());
    assertThat(r.gradient()).isEqualTo(a.gradient());
  }

  @Property(tries = 60)
  void invariantToScalingEmbeddings(@ForAll("batches") Batch b, @ForAll @DoubleRange(min = 1e-3, max = 1e3) @Scale(4) double scale) {
    LossResult a = LOSS.compute(b.embeddings(), b.idArray());
    LossResult s = LOSS.compute(b.embeddings().mul(scale), b.idArray());
    assertThat(s.value()).isCloseTo(a.value(), org.assertj.core.data.Offset.offset(relTol(a.value())));
    // d/d(cx) = (1/c) d/dx, since the loss only sees x/‖x‖
    assertThat(s.gradient().mul(scale).sub(a.gradient()).amaxNumber().doubleValue())
        .isLessThanOrEqualTo(1e-4 * Math.max(1e-3, a.gradient().amaxNumber().doubleValue()));
  }

  @Property(tries = 80)
  void nonNegativeAndFiniteAcrossTemperatures(
      @ForAll("batches") Batch b, @ForAll @DoubleRange(min = 0.01, max = 1.0) double temperature) {
    LossResult r = MultiPositiveContrastiveLoss.builder().temperature(temperature).build()
        .compute(b.embeddings().mul(100), b.idArray());
    assertThat(r.value()).isGreaterThanOrEqualTo(0.0).isFinite();
    assertThat(r.gradient().isNaN().any() || r.gradient().isInfinite().any()).isFalse();
  }

  @Property(tries = 40)
  void equalsLogNMinusOneWhenAllEmbeddingsAreEqual(
      @ForAll @IntRange(min = 2, max = 12) int captions, @ForAll @IntRange(min = 2, max = 6) int views,
      @ForAll @IntRange(min = 1, max = 32) int width, @ForAll @DoubleRange(min = 0.01, max = 1) double temperature) {
    int n = captions * views;
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = i % captions;
    }
    INDArray same = Nd4j.ones(DataType.FLOAT, n, width).muliRowVector(Nd4j.linspace(DataType.FLOAT, 1, width, 1));
    double value = MultiPositiveContrastiveLoss.builder().temperature(temperature).build()
        .compute(same, Nd4j.createFromArray(ids)).value();
    // fp32 cosines of identical rows are 1 ± a few ulp, magnified by 1/τ (up to 100) in the logits
    assertThat(value).isCloseTo(Math.log(n - 1), org.assertj.core.data.Offset.offset(1e-4 * Math.log(n - 1) + 1e-6));
  }

  @Property(tries = 40)
  void zeroWhenNoRowHasAPositive(@ForAll("batches") Batch b) {
    long[] distinct = new long[b.n()];
    for (int i = 0; i < b.n(); i++) {
      distinct[i] = 1000 + i;
    }
    LossResult r = LOSS.compute(b.embeddings(), Nd4j.createFromArray(distinct));
    assertThat(r.value()).isEqualTo(0.0);
    assertThat(r.gradient().amaxNumber().doubleValue()).isEqualTo(0.0);
  }

  @Property(tries = 30)
  void deterministicAcrossCalls(@ForAll("batches") Batch b) {
    LossResult a = LOSS.compute(b.embeddings(), b.idArray());
    LossResult c = LOSS.compute(b.embeddings().dup(), b.idArray());
    assertThat(c.value()).isEqualTo(a.value());
    assertThat(c.gradient()).isEqualTo(a.gradient());
  }

  private static int[] permutation(int n, Random rnd) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
