package io.github.stablerep.eval;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** The seeded, stratified validation split shared by the L-BFGS and SGD probes. */
final class Splits {

  private Splits() {}

  /**
   * Per class, a seeded shuffle; round(fraction · count) rows go to validation, at least one
   * stays. Returns {fit rows, validation rows}, each ascending.
   */
  static int[][] stratified(int[] y, int classes, double fraction, long seed) {
    Random random = new Random(seed);
    List<List<Integer>> byClass = new ArrayList<>();
    for (int c = 0; c < classes; c++) {
      byClass.add(new ArrayList<>());
    }
    for (int i = 0; i < y.length; i++) {
      byClass.get(y[i]).add(i);
    }
    List<Integer> fit = new ArrayList<>();
    List<Integer> val = new ArrayList<>();
    for (List<Integer> members : byClass) {
      Collections.shuffle(members, random);
      int v = (int) Math.min(Math.round(fraction * members.size()), members.size() - 1);
      val.addAll(members.subList(0, Math.max(v, 0)));
      fit.addAll(members.subList(Math.max(v, 0), members.size()));
    }
    if (val.isEmpty()) {
      throw new IllegalArgumentException("trainY: a validation split of " + fraction
          + " needs at least one class with 2 or more rows, found " + y.length + " rows");
    }
    Collections.sort(fit);
    Collections.sort(val);
    return new int[][] {fit.stream().mapToInt(Integer::intValue).toArray(),
        val.stream().mapToInt(Integer::intValue).toArray()};
  }

  static int[] select(int[] y, int[] idx) {
    int[] out = new int[idx.length];
    for (int i = 0; i < idx.length; i++) {
      out[i] = y[idx[i]];
    }
    return out;
  }
}
