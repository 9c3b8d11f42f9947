package io.github.stablerep.augment.data;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.data.MultiViewSampler.EpochMode;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class EpochPlanTest {
  @Test
  void differentEpochsAndSeedsGiveDifferentOrders() {
    int[] sizes = IntStream.generate(() -> 10).limit(40).toArray();
    int[] eligible = IntStream.range(0, 40).toArray();
    for (EpochMode mode : EpochMode.values()) {
      Set<List<String>> plans = new HashSet<>();
      for (int epoch = 0; epoch < 10; epoch++) {
        plans.add(EpochPlanProperties.describe(
            EpochPlan.create(sizes, eligible, 8, 6, 7L, epoch, mode)));
      }
      plans.add(EpochPlanProperties.describe(
          EpochPlan.create(sizes, eligible, 8, 6, 8L, 0, mode)));
      assertThat(plans).as(mode.name()).hasSize(11);
    }
  }

  @Test
  void aCaptionWithManyGroupsIsNeverTwiceInOneBatch() {
    // One caption holds most images: packing must defer its groups, then drop what is left.
    int[] sizes = {40, 2, 2, 2};
    EpochPlan plan = EpochPlan.create(sizes, new int[] {0, 1, 2, 3}, 2, 2, 1L, 0,
        EpochMode.IMAGES);
    for (EpochPlan.Batch b : plan.batches) {
      assertThat(b.slots().get(0).caption()).isNotEqualTo(b.slots().get(1).caption());
    }
    // Greedy packing is not optimal (here it may pair the small captions among themselves),
    // but every group is either handed out or counted as dropped.
    assertThat(plan.batches).isNotEmpty();
    assertThat(plan.droppedGroups).isEqualTo(20 + 3 - 2L * plan.batches.size());
  }
}
