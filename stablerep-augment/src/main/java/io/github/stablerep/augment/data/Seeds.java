package io.github.stablerep.augment.data;

/** Seed derivation: a SplitMix64 finaliser chained over the parts. */
final class Seeds {
  private Seeds() {}

  static long mix(long... parts) {
    long h = 0x2545F4914F6CDD1DL;
    for (long p : parts) {
      h = finalise(h ^ finalise(p + 0x9E3779B97F4A7C15L));
    }
    return h;
  }

  private static long finalise(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
