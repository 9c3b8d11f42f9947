package io.github.stablerep.models.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.FloatRange;
import net.jqwik.api.constraints.IntRange;

/**
 * Invariants of the Java kernels: attention is invariant to the order of the keys (with their
 * values) and to a vector added to every key (softmax ignores a per-query constant), GroupNorm
 * is invariant to a positive scale and a shift of each group, and every kernel is deterministic
 * although its work is split across threads.
 */
class GraphKernelsProperties {

  static float[] gaussian(Random rng, int n, float scale) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) rng.nextGaussian() * scale;
    }
    return a;
  }

  static float maxAbsDiff(float[] a, float[] b) {
    float m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  static float[] cross(float[] packed, int n, int t, int s, int heads, int d) {
    FloatBuffer out = FloatBuffer.allocate(n * t * heads * d);
    FusedAttention.computeCross(FloatBuffer.wrap(packed), out, n, t, s, heads, d, (float) (1 / Math.sqrt(d)));
    return out.array();
  }

  @Property(tries = 20)
  void crossAttentionIgnoresKeyOrderAndAVectorAddedToEveryKey(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 40) int t, @ForAll @IntRange(min = 1, max = 30) int s,
      @ForAll @IntRange(min = 1, max = 3) int heads, @ForAll @IntRange(min = 1, max = 9) int d) {
    Random rng = new Random(seed);
    int n = 2;
    int inner = heads * d;
    int block = (t + 2 * s) * inner;
    float[] packed = gaussian(rng, n * block, 2f);
    float[] base = cross(packed, n, t, s, heads, d);

    List<Integer> order = new ArrayList<>();
    for (int j = 0; j < s; j++) {
      order.add(j);
    }
    Collections.shuffle(order, rng);
    float[] shuffled = packed.clone();
    float[] shift = gaussian(rng, inner, 3f);
    float[] shifted = packed.clone();
    for (int b = 0; b < n; b++) {
      for (int j = 0; j < s; j++) {
        int from = order.get(j);
        for (int c = 0; c < inner; c++) {
          int k = b * block + (t + j) * inner + c;
          shuffled[k] = packed[b * block + (t + from) * inner + c];
          shuffled[k + s * inner] = packed[b * block + (t + s + from) * inner + c];
          shifted[k] += shift[c];
        }
      }
    }
    assertThat(maxAbsDiff(cross(shuffled, n, t, s, heads, d), base)).as("keys permuted").isLessThan(2e-5f);
    assertThat(maxAbsDiff(cross(shifted, n, t, s, heads, d), base)).as("a vector added to every key")
        .isLessThan(2e-4f);
    assertThat(cross(packed, n, t, s, heads, d)).as("deterministic").isEqualTo(base);
  }

  @Property(tries = 20)
  void groupNormIgnoresAPositiveScaleAndAShiftOfTheInput(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 4) int groups, @ForAll @IntRange(min = 1, max = 4) int perGroup,
      @ForAll @IntRange(min = 2, max = 40) int spatial, @ForAll @FloatRange(min = 0.1f, max = 10f) float a,
      @ForAll @FloatRange(min = -5f, max = 5f) float b) {
    Random rng = new Random(seed);
    int n = 3;
    int channels = groups * perGroup;
    float[] x = gaussian(rng, n * channels * spatial, 2f);
    float[] moved = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      moved[i] = a * x[i] + b;
    }
    float[] gamma = gaussian(rng, channels, 1f);
    float[] beta = gaussian(rng, channels, 1f);
    for (boolean silu : new boolean[] {false, true}) {
      FloatBuffer y = FloatBuffer.allocate(x.length);
      FloatBuffer z = FloatBuffer.allocate(x.length);
      FloatBuffer again = FloatBuffer.allocate(x.length);
      // eps far below the variance of 2-sigma data, scaled with a^2 so that it cancels exactly
      FusedGroupNorm.compute(FloatBuffer.wrap(x), y, n, channels, spatial, groups, gamma, beta, 1e-6f, silu);
      FusedGroupNorm.compute(FloatBuffer.wrap(moved), z, n, channels, spatial, groups, gamma, beta, 1e-6f * a * a,
          silu);
      FusedGroupNorm.compute(FloatBuffer.wrap(x), again, n, channels, spatial, groups, gamma, beta, 1e-6f, silu);
      assertThat(maxAbsDiff(z.array(), y.array())).as("a·x + b, silu %s", silu).isLessThan(5e-4f);
      assertThat(again.array()).as("deterministic").isEqualTo(y.array());
    }
  }
}
