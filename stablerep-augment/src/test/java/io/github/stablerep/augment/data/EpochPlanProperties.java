package io.github.stablerep.augment.data;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.data.MultiViewSampler.EpochMode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** The epoch plan is pure, so its invariants are checked over many random datasets. */
class EpochPlanProperties {

  static int[] eligible(int[] sizes, int m) {
    return IntStream.range(0, sizes.length).filter(c -> sizes[c] >= m).toArray();
  }

  static List<String> describe(EpochPlan plan) {
    List<String> out = new ArrayList<>();
    for (EpochPlan.Batch b : plan.batches) {
      for (EpochPlan.Slot s : b.slots()) {
        out.add(b.index() + ":" + s.caption() + ":" + java.util.Arrays.toString(s.images())
            + java.util.Arrays.toString(s.spares()));
      }
    }
    return out;
  }

  @Property(tries = 300)
  void batchesHaveNDistinctCaptionsOfMDistinctImagesEachSeenAtMostOnce(
      @ForAll @Size(min = 1, max = 30) List<@IntRange(min = 0, max = 12) Integer> sizeList,
      @ForAll @IntRange(min = 1, max = 6) int n, @ForAll @IntRange(min = 1, max = 4) int m,
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 100) int epoch,
      @ForAll EpochMode mode) {
    int[] sizes = sizeList.stream().mapToInt(Integer::intValue).toArray();
    int[] eligible = eligible(sizes, m);
    EpochPlan plan = EpochPlan.create(sizes, eligible, n, m, seed, epoch, mode);
    Set<Long> seen = new HashSet<>();
    long scheduled = 0;
    for (int bi = 0; bi < plan.batches.size(); bi++) {
      EpochPlan.Batch b = plan.batches.get(bi);
      assertThat(b.index()).isEqualTo(bi);
      assertThat(b.slots()).hasSize(n);
      assertThat(b.slots().stream().map(EpochPlan.Slot::caption).distinct().count()).isEqualTo(n);
      for (EpochPlan.Slot s : b.slots()) {
        assertThat(sizes[s.caption()]).isGreaterThanOrEqualTo(m);
        assertThat(s.images()).hasSize(m).doesNotHaveDuplicates();
        Set<Integer> spares = new HashSet<>();
        for (int sp : s.spares()) {
          spares.add(sp);
        }
        for (int i : s.images()) {
          assertThat(i).isBetween(0, sizes[s.caption()] - 1);
          assertThat(spares).doesNotContain(i);
          assertThat(seen.add(((long) s.caption() << 32) | i)).as("image seen twice").isTrue();
        }
        scheduled++;
      }
    }
    // Conservation: every planned group is either in a batch or counted as dropped.
    long groups = mode == EpochMode.CAPTIONS ? eligible.length
        : IntStream.of(eligible).mapToLong(c -> sizes[c] / m).sum();
    assertThat(scheduled + plan.droppedGroups).isEqualTo(groups);
    if (mode == EpochMode.CAPTIONS) {
      assertThat(plan.batches).hasSize(eligible.length / n);
    }
  }

  @Property(tries = 200)
  void equalSizedDivisibleDatasetsSeeEveryImageExactlyOnce(
      @ForAll @IntRange(min = 1, max = 5) int n, @ForAll @IntRange(min = 1, max = 5) int batches,
      @ForAll @IntRange(min = 1, max = 4) int m, @ForAll @IntRange(min = 1, max = 3) int groups,
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 50) int epoch,
      @ForAll EpochMode mode) {
    int captions = n * batches;
    int k = mode == EpochMode.CAPTIONS ? m : m * groups;
    int[] sizes = IntStream.generate(() -> k).limit(captions).toArray();
    EpochPlan plan = EpochPlan.create(sizes, eligible(sizes, m), n, m, seed, epoch, mode);
    assertThat(plan.droppedGroups).isZero();
    Set<Long> seen = new HashSet<>();
    for (EpochPlan.Batch b : plan.batches) {
      for (EpochPlan.Slot s : b.slots()) {
        for (int i : s.images()) {
          seen.add(((long) s.caption() << 32) | i);
        }
      }
    }
    assertThat(seen).hasSize(captions * k);
  }

  @Property(tries = 100)
  void sameSeedAndEpochGiveTheSamePlan(
      @ForAll @Size(min = 1, max = 20) List<@IntRange(min = 0, max = 9) Integer> sizeList,
      @ForAll @IntRange(min = 1, max = 4) int n, @ForAll @IntRange(min = 1, max = 3) int m,
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 100) int epoch,
      @ForAll EpochMode mode) {
    int[] sizes = sizeList.stream().mapToInt(Integer::intValue).toArray();
    assertThat(describe(EpochPlan.create(sizes, eligible(sizes, m), n, m, seed, epoch, mode)))
        .isEqualTo(describe(EpochPlan.create(sizes, eligible(sizes, m), n, m, seed, epoch, mode)));
  }
}
