package io.github.stablerep.augment.data;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Which images go into which batch in one epoch: pure and seeded, decided before any decoding
 * so that thread timing cannot change it.
 */
final class EpochPlan {
  /** One caption slot of a batch: its dataset caption, m chosen images, and its spares. */
  record Slot(int caption, int[] images, int[] spares) {}

  /** One planned batch: n slots with distinct captions. */
  record Batch(int index, List<Slot> slots) {}

  final List<Batch> batches;
  final long droppedGroups;

  private EpochPlan(List<Batch> batches, long droppedGroups) {
    this.batches = batches;
    this.droppedGroups = droppedGroups;
  }

  /**
   * @param sizes images per caption (dataset order)
   * @param eligible captions with at least m images, ascending
   */
  static EpochPlan create(int[] sizes, int[] eligible, int n, int m, long seed, int epoch,
      MultiViewSampler.EpochMode mode) {
    SplittableRandom rng = new SplittableRandom(Seeds.mix(seed, epoch, 0x9E3779B97F4A7C15L));
    int[] order = eligible.clone();
    shuffle(order, rng);
    List<Slot> groups = new ArrayList<>();
    if (mode == MultiViewSampler.EpochMode.CAPTIONS) {
      for (int c : order) {
        int[] perm = permutation(sizes[c], rng);
        groups.add(new Slot(c, java.util.Arrays.copyOf(perm, m),
            java.util.Arrays.copyOfRange(perm, m, perm.length)));
      }
    } else {
      // Layer j holds the j-th group of every caption that has one, in the epoch's caption
      // order: consecutive groups then rarely share a caption, so the greedy packing below
      // seldom has to defer one.
      List<List<Slot>> perCaption = new ArrayList<>(order.length);
      int maxGroups = 0;
      for (int c : order) {
        int[] perm = permutation(sizes[c], rng);
        int g = sizes[c] / m;
        int[] spares = java.util.Arrays.copyOfRange(perm, g * m, perm.length);
        List<Slot> list = new ArrayList<>(g);
        for (int j = 0; j < g; j++) {
          list.add(new Slot(c, java.util.Arrays.copyOfRange(perm, j * m, (j + 1) * m), spares));
        }
        perCaption.add(list);
        maxGroups = Math.max(maxGroups, g);
      }
      for (int j = 0; j < maxGroups; j++) {
        for (List<Slot> list : perCaption) {
          if (j < list.size()) {
            groups.add(list.get(j));
          }
        }
      }
    }
    // Greedy packing into batches of n distinct captions; a group whose caption is already in
    // the batch waits for the next one. Leftovers that cannot fill a batch are dropped (and
    // counted), as the reference's loader drops its last partial batch.
    List<Batch> batches = new ArrayList<>(groups.size() / n + 1);
    List<Slot> deferred = new ArrayList<>();
    int head = 0;
    while (true) {
      List<Slot> batch = new ArrayList<>(n);
      Set<Integer> used = new HashSet<>();
      List<Slot> stillDeferred = new ArrayList<>();
      for (Slot s : deferred) {
        if (batch.size() < n && used.add(s.caption())) {
          batch.add(s);
        } else {
          stillDeferred.add(s);
        }
      }
      while (batch.size() < n && head < groups.size()) {
        Slot s = groups.get(head++);
        if (used.add(s.caption())) {
          batch.add(s);
        } else {
          stillDeferred.add(s);
        }
      }
      deferred = stillDeferred;
      if (batch.size() < n) {
        return new EpochPlan(List.copyOf(batches), batch.size() + deferred.size());
      }
      batches.add(new Batch(batches.size(), List.copyOf(batch)));
    }
  }

  static int[] permutation(int k, SplittableRandom rng) {
    int[] p = new int[k];
    for (int i = 0; i < k; i++) {
      p[i] = i;
    }
    shuffle(p, rng);
    return p;
  }

  static void shuffle(int[] a, SplittableRandom rng) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
