package io.github.stablerep.core.optim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Scale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;

/**
 * Invariants of the schedule, clipping and AdamW on random inputs. Generated values are seeds
 * and primitives only: jqwik hashes them, and INDArray.hashCode crashes the JVM in 1.0.0-M2.1.
 */
class OptimProperties {

  /** Gaussian tensors from java.util.Random: Nd4j.randn(seed, shape) is not repeatable across calls. */
  private static Map<String, INDArray> randomTensors(long seed, double scale) {
    java.util.Random rnd = new java.util.Random(seed);
    Map<String, INDArray> m = new LinkedHashMap<>();
    m.put("w", gaussian(rnd, scale, 5, 3));
    m.put("b", gaussian(rnd, scale, 5));
    m.put("k", gaussian(rnd, scale, 2, 2, 3));
    return m;
  }

  private static INDArray gaussian(java.util.Random rnd, double scale, long... shape) {
    float[] v = new float[(int) java.util.Arrays.stream(shape).reduce(1, (x, y) -> x * y)];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (rnd.nextGaussian() * scale);
    }
    return Nd4j.create(v, shape);
  }

  private static Map<String, INDArray> dup(Map<String, INDArray> m) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, v.dup()));
    return out;
  }

  @Property(tries = 200)
  void scheduleIsBoundedAndMonotoneOnEachSide(
      @ForAll @DoubleRange(min = 1e-6, max = 1.0) @Scale(10) double baseLr,
      @ForAll @DoubleRange(min = 0.0, max = 1.0) double minFraction,
      @ForAll @IntRange(min = 0, max = 50) int warmup,
      @ForAll @IntRange(min = 1, max = 200) int afterWarmup) {
    WarmupCosineSchedule s = WarmupCosineSchedule.builder()
        .baseLr(baseLr).minLr(baseLr * minFraction).warmupSteps(warmup).totalSteps(warmup + afterWarmup).build();
    double previous = -1;
    for (int i = 0; i <= warmup + afterWarmup + 5; i++) {
      double lr = s.valueAt(i, 0);
      assertThat(lr).isBetween(0.0, baseLr);
      if (i > 0 && i <= warmup) {
        assertThat(lr).as("warm-up rises at %s", i).isGreaterThanOrEqualTo(previous);
      } else if (i > warmup) {
        assertThat(lr).as("cosine falls at %s", i).isLessThanOrEqualTo(previous);
        assertThat(lr).isGreaterThanOrEqualTo(s.minLr());
      }
      previous = lr;
    }
    assertThat(s.valueAt(warmup, 0)).isCloseTo(baseLr, org.assertj.core.data.Offset.offset(1e-12 * baseLr));
    assertThat(s.valueAt(warmup + afterWarmup, 0)).isCloseTo(s.minLr(), org.assertj.core.data.Offset.offset(1e-15));
  }

  @Property(tries = 100)
  void clippingNeverIncreasesTheNormAndSparesSmallGradients(
      @ForAll long seed,
      @ForAll @DoubleRange(min = 1e-4, max = 1e3) @Scale(8) double scale,
      @ForAll @DoubleRange(min = 1e-3, max = 10) @Scale(6) double maxNorm) {
    Map<String, INDArray> grads = randomTensors(seed, scale);
    Map<String, INDArray> before = dup(grads);
    double total = GradientClipping.clipByGlobalNorm(grads, maxNorm);
    double after = 0;
    for (INDArray g : grads.values()) {
      double n = g.norm2Number().doubleValue();
      after += n * n;
    }
    after = Math.sqrt(after);
    assertThat(after).isLessThanOrEqualTo(total * (1 + 1e-6));
    assertThat(after).isLessThanOrEqualTo(Math.max(maxNorm, 0) * (1 + 1e-5));
    if (total + GradientClipping.NORM_EPSILON <= maxNorm) {
      for (String k : grads.keySet()) {
        assertThat(grads.get(k).equals(before.get(k))).as("untouched %s", k).isTrue();
      }
    }
  }

  /**
   * With λ = 0, AdamW is Adam: checked against the textbook (torch) Adam update written out in
   * double precision here, element by element. ND4J's own Adam is no reference: it places ε
   * differently, and differed from torch by up to 6e-5 relative in runs of this property.
   * Java keeps fp32 parameters and state, so the stated tolerance is fp32 rounding over a few
   * steps.
   */
  @Property(tries = 30)
  void adamWWithoutDecayIsAdam(@ForAll long seed, @ForAll @IntRange(min = 1, max = 8) int steps) {
    double lr = 1e-2;
    double b1 = AdamW.DEFAULT_BETA1;
    double b2 = AdamW.DEFAULT_BETA2;
    double eps = AdamW.DEFAULT_EPSILON;
    AdamW opt = AdamW.builder().learningRate(lr).weightDecay(0).build();
    Map<String, INDArray> params = randomTensors(seed, 1.0);
    Map<String, double[]> reference = new LinkedHashMap<>();
    Map<String, double[]> m = new LinkedHashMap<>();
    Map<String, double[]> v = new LinkedHashMap<>();
    params.forEach((k, p) -> {
      reference.put(k, p.dup().data().asDouble());
      m.put(k, new double[(int) p.length()]);
      v.put(k, new double[(int) p.length()]);
    });
    for (int t = 1; t <= steps; t++) {
      Map<String, INDArray> grads = randomTensors(seed * 31 + t + 6, 1.0);
      opt.step(params, dup(grads));
      for (String k : reference.keySet()) {
        double[] g = grads.get(k).dup().data().asDouble();
        double[] p = reference.get(k);
        for (int i = 0; i < p.length; i++) {
          m.get(k)[i] = b1 * m.get(k)[i] + (1 - b1) * g[i];
          v.get(k)[i] = b2 * v.get(k)[i] + (1 - b2) * g[i] * g[i];
          double mHat = m.get(k)[i] / (1 - Math.pow(b1, t));
          double vHat = v.get(k)[i] / (1 - Math.pow(b2, t));
          p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
        }
      }
    }
    for (String k : params.keySet()) {
      double[] expected = reference.get(k);
      double[] actual = params.get(k).dup().data().asDouble();
      for (int i = 0; i < expected.length; i++) {
        assertThat(Math.abs(actual[i] - expected[i]))
            .as("%s[%d]", k, i)
            .isLessThanOrEqualTo(1e-6 * Math.max(1, Math.abs(expected[i])));
      }
    }
  }

  /** The fit path's pieces, applied as SameDiff applies them, give AdamW's eager update. */
  @Property(tries = 30)
  void torchAdamPlusDecoupledDecayIsAdamW(@ForAll long seed, @ForAll @IntRange(min = 1, max = 6) int steps) {
    WarmupCosineSchedule schedule = WarmupCosineSchedule.builder().baseLr(1e-2).warmupSteps(2).totalSteps(10).build();
    AdamW opt = AdamW.builder().learningRate(schedule).build();
    TorchAdam updater = new TorchAdam(schedule, AdamW.DEFAULT_BETA1, AdamW.DEFAULT_BETA2, AdamW.DEFAULT_EPSILON);
    DecoupledWeightDecay decay = new DecoupledWeightDecay(AdamW.DEFAULT_WEIGHT_DECAY, 2);
    Map<String, INDArray> params = randomTensors(seed, 1.0);
    Map<String, INDArray> fit = dup(params);
    Map<String, GradientUpdater> updaters = new LinkedHashMap<>();
    fit.forEach((k, p) -> {
      INDArray view = Nd4j.create(DataType.FLOAT, 1, 2 * p.length());
      GradientUpdater u = updater.instantiate(view, true);
      u.setStateViewArray(view, p.shape(), p.ordering(), true);
      updaters.put(k, u);
    });
    for (int t = 0; t < steps; t++) {
      Map<String, INDArray> grads = randomTensors(seed * 17 + t + 3, 1.0);
      opt.step(params, dup(grads));
      for (String k : fit.keySet()) {
        INDArray update = grads.get(k).dup();
        updaters.get(k).applyUpdater(update, t, 0);
        decay.apply(fit.get(k), update, updater.getLearningRate(t, 0), t, 0);
        fit.get(k).subi(update);
      }
    }
    for (String k : params.keySet()) {
      double diff = params.get(k).sub(fit.get(k)).amaxNumber().doubleValue();
      assertThat(diff).as(k).isLessThanOrEqualTo(1e-6 * Math.max(1, fit.get(k).amaxNumber().doubleValue()));
    }
  }

  @Property(tries = 30)
  void exportImportContinueIsBitIdentical(
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 6) int before, @ForAll @IntRange(min = 1, max = 6) int after) {
    WarmupCosineSchedule schedule = WarmupCosineSchedule.builder().baseLr(1e-2).warmupSteps(3).totalSteps(12).build();
    AdamW uninterrupted = AdamW.builder().learningRate(schedule).build();
    AdamW first = uninterrupted.toBuilder().build();
    Map<String, INDArray> a = randomTensors(seed, 1.0);
    Map<String, INDArray> b = dup(a);
    for (int t = 0; t < before; t++) {
      Map<String, INDArray> g = randomTensors(seed + 100 + t, 1.0);
      uninterrupted.step(a, dup(g));
      first.step(b, dup(g));
    }
    Map<String, INDArray> saved = first.exportState();
    Map<String, INDArray> c = dup(b);
    first.step(b, randomTensors(seed + 999, 5.0));   // the exported copies must not follow this
    AdamW resumed = first.toBuilder().build();
    resumed.importState(saved);
    for (int t = before; t < before + after; t++) {
      Map<String, INDArray> g = randomTensors(seed + 100 + t, 1.0);
      uninterrupted.step(a, dup(g));
      resumed.step(c, dup(g));
    }
    assertThat(resumed.stepCount()).isEqualTo(uninterrupted.stepCount());
    for (String k : a.keySet()) {
      assertThat(c.get(k).equals(a.get(k))).as("bit-identical %s", k).isTrue();
    }
  }
}
