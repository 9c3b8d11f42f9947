package io.github.stablerep.augment;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.stablerep.augment.SimClrAugmentation.SampleParameters;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Distribution of the drawn parameters over 40 seeds x 500 samples (20,000 draws) of the
 * StableRep recipe on 256x256 inputs. Rates must lie within 5 binomial standard deviations of
 * their probabilities (a false alarm about once in 3.5 million per check; the seeds are fixed,
 * so the test is deterministic).
 */
class SimClrAugmentationStatisticsTest {

  private static final int SEEDS = 40;
  private static final int N = 500;
  private static final List<SampleParameters> DRAWS = new ArrayList<>();
  private static final List<SampleParameters> PAIRS = new ArrayList<>();

  @BeforeAll
  static void draw() {
    SimClrAugmentation a = SimClrAugmentation.stableRep(224);
    for (long seed = 0; seed < SEEDS; seed++) {
      DRAWS.addAll(a.sampleParameters(N, 256, 256, seed * 7919 + 1));
    }
    for (long seed = 0; seed < 4000; seed++) {
      PAIRS.addAll(a.sampleParameters(2, 256, 256, seed));
    }
  }

  static void assertRate(String what, Predicate<SampleParameters> event, double p) {
    assertRate(what, DRAWS, event, p);
  }

  static void assertRate(
      String what, List<SampleParameters> draws, Predicate<SampleParameters> event, double p) {
    long hits = draws.stream().filter(event).count();
    double rate = (double) hits / draws.size();
    double bound = 5 * Math.sqrt(p * (1 - p) / draws.size());
    assertTrue(Math.abs(rate - p) <= bound,
        what + ": rate " + rate + ", expected " + p + " +- " + bound);
  }

  @Test
  void applicationRatesMatchProbabilities() {
    assertRate("jitter", SampleParameters::jitter, 0.8);
    assertRate("grayscale", SampleParameters::grayscale, 0.2);
    assertRate("blur", SampleParameters::blur, 0.5);
    assertRate("flip", SampleParameters::flip, 0.5);
    assertRate("solarize", SampleParameters::solarize, 0.0);
    assertRate("downsample", s -> s.downsampleResolution() > 0, 0.0);
  }

  @Test
  void jitterOrderIsAUniformPermutation() {
    for (int position = 0; position < 4; position++) {
      for (int op = 0; op < 4; op++) {
        int pos = position;
        int o = op;
        assertRate("op " + op + " at " + position, s -> s.jitterOrder()[pos] == o, 0.25);
      }
    }
    for (SampleParameters s : DRAWS) {
      assertTrue(java.util.Arrays.stream(s.jitterOrder()).sorted().boxed().toList()
          .equals(List.of(0, 1, 2, 3)));
    }
  }

  @Test
  void factorsAndSigmasAreUniformInTheirRanges() {
    double[] lo = {0.6, 0.6, 0.6, -0.1, 0.1};
    double[] hi = {1.4, 1.4, 1.4, 0.1, 2.0};
    for (int k = 0; k < 5; k++) {
      double sum = 0;
      for (SampleParameters s : DRAWS) {
        double v = value(s, k);
        assertTrue(v >= lo[k] && v <= hi[k], "parameter " + k + " = " + v);
        sum += v;
      }
      double mean = sum / DRAWS.size();
      double width = hi[k] - lo[k];
      double sd = width / Math.sqrt(12 * DRAWS.size());
      assertTrue(Math.abs(mean - (lo[k] + hi[k]) / 2) <= 5 * sd, "mean of parameter " + k);
      // Fraction in the lower half of the range: 1/2 for a uniform distribution.
      int kk = k;
      assertRate("lower half of parameter " + k, s -> value(s, kk) < lo[kk] + width / 2, 0.5);
    }
  }

  static double value(SampleParameters s, int k) {
    return switch (k) {
      case 0 -> s.brightness();
      case 1 -> s.contrast();
      case 2 -> s.saturation();
      case 3 -> s.hue();
      default -> s.blurSigma();
    };
  }

  @Test
  void cropsLieInTheImageWithScaleAndRatioInRange() {
    double area = 256.0 * 256.0;
    int full = 0;
    for (SampleParameters s : DRAWS) {
      int h = s.cropHeight();
      int w = s.cropWidth();
      assertTrue(s.top() >= 0 && s.left() >= 0 && s.top() + h <= 256 && s.left() + w <= 256);
      if (h == 256 && w == 256) {
        full++; // the centre-crop fallback (or an accepted full-size draw)
        continue;
      }
      // w and h are rounded to integers: allow half a pixel on each side.
      assertTrue((w + 0.5) * (h + 0.5) >= 0.08 * area, "scale " + w * h / area);
      assertTrue((w - 0.5) * (h - 0.5) <= area, "scale " + w * h / area);
      assertTrue((w + 0.5) / (h - 0.5) >= 3.0 / 4.0, "ratio " + (double) w / h);
      assertTrue((w - 0.5) / (h + 0.5) <= 4.0 / 3.0, "ratio " + (double) w / h);
    }
    // On a square image an attempt is rejected only when w or h exceeds 256 (s*r > 1 or
    // s/r > 1), so ten rejections in a row, and with them the fallback, must stay rare.
    assertTrue(full < DRAWS.size() / 50, "full-image crops " + full);
  }

  @Test
  void fallbackIsTheCentreCrop() {
    // A 1x100 strip: no draw fits, ratio 100 > 4/3, so h = 1 and w = round(4/3) = 1, centred.
    SimClrAugmentation a = SimClrAugmentation.stableRep(8);
    for (SampleParameters s : a.sampleParameters(50, 1, 100, 3L)) {
      assertTrue(s.cropHeight() == 1 && s.cropWidth() == 1 && s.top() == 0 && s.left() == 49,
          s.toString());
    }
  }

  @Test
  void samplesInABatchAreIndependent() {
    List<SampleParameters> first = new ArrayList<>();
    List<SampleParameters> both = new ArrayList<>();
    for (int i = 0; i < PAIRS.size(); i += 2) {
      first.add(PAIRS.get(i));
      if (PAIRS.get(i).flip()) {
        both.add(PAIRS.get(i + 1));
      }
    }
    assertRate("flip of sample 0", first, SampleParameters::flip, 0.5);
    // Given sample 0 flipped, sample 1 still flips half the time.
    assertRate("flip of sample 1 given sample 0", both, SampleParameters::flip, 0.5);
    assertRate("grayscale of sample 1 given sample 0 flipped", both,
        SampleParameters::grayscale, 0.2);
  }
}
