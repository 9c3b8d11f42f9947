package io.github.stablerep.augment.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.SimClrAugmentation;
import io.github.stablerep.augment.data.MultiViewSampler.EpochMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class MultiViewSamplerTest {
  @TempDir Path dir;

  /** Per path, the grey level its constant PNG was written with. */
  private final Map<Path, Integer> codes = new HashMap<>();
  private int nextCode = 1;

  /** Caption folders c0..c{captions-1} with {@code images} constant 4x4 PNGs each. */
  private CaptionDataset folders(int captions, int images, int side) throws Exception {
    for (int c = 0; c < captions; c++) {
      for (int i = 0; i < images; i++) {
        png(dir.resolve("root/c" + c + "/" + i + ".png"), side);
      }
    }
    return CaptionDataset.fromCaptionFolders(dir.resolve("root"));
  }

  private void png(Path p, int side) throws Exception {
    Files.createDirectories(p.getParent());
    int code = nextCode++;
    // +0.5 so that writePng's truncation lands on the code exactly.
    Images.writePng(p, Nd4j.valueArrayOf(new long[] {3, side, side}, (code + 0.5) / 255.0));
    codes.put(p.toAbsolutePath(), code);
  }

  private static void corrupt(Path p) throws Exception {
    Files.createDirectories(p.getParent());
    Files.write(p, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
  }

  private static List<MultiViewBatch> drain(MultiViewSampler sampler, int epoch) {
    List<MultiViewBatch> out = new ArrayList<>();
    try (MultiViewSampler.Epoch e = sampler.epoch(epoch)) {
      while (e.hasNext()) {
        out.add(e.next());
      }
    }
    return out;
  }

  /** Shape, view-major ids, m per caption, no duplicate image, pixels from the named file. */
  private void assertWellFormed(MultiViewBatch b, int n, int m) {
    assertThat(b.images().shape()[0]).isEqualTo((long) n * m);
    assertThat(b.positionalIds()).containsExactly(
        IntStream.range(0, n * m).map(r -> r % n).toArray());
    assertThat(new HashSet<>(b.captionIds())).hasSize(n);
    assertThat(new HashSet<>(b.paths())).hasSize(n * m);
    for (int r = 0; r < n * m; r++) {
      Path p = b.paths().get(r);
      // The row's caption is the folder the file lives in.
      assertThat(p.getParent().getFileName().toString())
          .isEqualTo(b.captionIds().get(r % n));
      if (codes.containsKey(p) && b.images().size(2) == 4) {
        assertThat(Math.round(b.images().getDouble(r, 1, 2, 3) * 255)).isEqualTo((long) codes.get(p));
      }
    }
  }

  @Test
  void captionsModeYieldsViewMajorBatchesOfDistinctImagesFromTheRightFiles() throws Exception {
    CaptionDataset ds = folders(7, 5, 4);
    try (MultiViewSampler s = MultiViewSampler.builder().dataset(ds).captionsPerBatch(3)
        .viewsPerCaption(4).seed(11).threads(2).prefetch(2).build()) {
      for (int epoch = 0; epoch < 3; epoch++) {
        List<MultiViewBatch> batches = drain(s, epoch);
        assertThat(batches).hasSize(2); // 7 captions / 3, last partial dropped
        Set<Path> seen = new HashSet<>();
        Set<String> captions = new HashSet<>();
        for (MultiViewBatch b : batches) {
          assertWellFormed(b, 3, 4);
          assertThat(b.epoch()).isEqualTo(epoch);
          for (Path p : b.paths()) {
            assertThat(seen.add(p)).as("seen twice in epoch: " + p).isTrue();
          }
          assertThat(b.captionIds()).allMatch(captions::add);
          for (int r = 0; r < 12; r++) {
            assertThat(ds.captions().get(b.captionIndices()[r]).id())
                .isEqualTo(b.captionIds().get(r % 3));
          }
        }
      }
      assertThat(s.stats().batches()).isEqualTo(6);
      assertThat(s.stats().decoded()).isEqualTo(6 * 12);
      assertThat(s.stats().skipped()).isZero();
      assertThat(s.stats().droppedGroups()).isEqualTo(3);
    }
  }

  @Test
  void imagesModeSeesEveryImageExactlyOncePerEpochWhenDivisible() throws Exception {
    CaptionDataset ds = folders(4, 6, 4);
    try (MultiViewSampler s = MultiViewSampler.builder().dataset(ds).captionsPerBatch(2)
        .viewsPerCaption(3).epochMode(EpochMode.IMAGES).threads(3).prefetch(3).build()) {
      for (int epoch = 0; epoch < 2; epoch++) {
        List<Path> all = new ArrayList<>();
        for (MultiViewBatch b : drain(s, epoch)) {
          assertWellFormed(b, 2, 3);
          all.addAll(b.paths());
        }
        assertThat(all).doesNotHaveDuplicates().hasSize(24);
      }
    }
  }

  @Test
  void sameSeedGivesIdenticalStreamsForAnyThreadCountAndDifferentEpochsDiffer()
      throws Exception {
    CaptionDataset ds = folders(8, 3, 12);
    SimClrAugmentation aug = SimClrAugmentation.stableRep(8);
    MultiViewSampler.Builder b = MultiViewSampler.builder().dataset(ds).captionsPerBatch(2)
        .viewsPerCaption(2).seed(5).augmentation(aug);
    List<MultiViewBatch> one;
    List<MultiViewBatch> many;
    List<MultiViewBatch> nextEpoch;
    try (MultiViewSampler s1 = b.threads(1).prefetch(1).build();
        MultiViewSampler s3 = b.threads(3).prefetch(4).build()) {
      one = drain(s1, 2);
      many = drain(s3, 2);
      nextEpoch = drain(s3, 3);
      assertThat(s3.toBuilder().build().seed()).isEqualTo(5); // toBuilder keeps settings
    }
    assertThat(one).hasSize(4);
    for (int i = 0; i < one.size(); i++) {
      assertThat(many.get(i).paths()).isEqualTo(one.get(i).paths());
      assertThat(many.get(i).captionIds()).isEqualTo(one.get(i).captionIds());
      assertThat(many.get(i).images()).isEqualTo(one.get(i).images());
      assertThat(many.get(i).images().shape()).containsExactly(4, 3, 8, 8);
    }
    assertThat(nextEpoch.stream().map(MultiViewBatch::paths).toList())
        .isNotEqualTo(one.stream().map(MultiViewBatch::paths).toList());
    // Different batches get different augmentation seeds.
    INDArray a = one.get(0).images();
    assertThat(a).isNotEqualTo(one.get(1).images());
  }

  /**
   * A resume's epoch(e, k) yields exactly batches k.. of the full epoch (paths, ids and
   * augmented pixels) and never decodes the k skipped ones.
   */
  @Test
  void epochFromABatchYieldsTheRestOfTheFullEpochWithoutDecodingTheSkippedBatches() throws Exception {
    CaptionDataset ds = folders(10, 3, 12);
    MultiViewSampler.Builder b = MultiViewSampler.builder().dataset(ds).captionsPerBatch(2)
        .viewsPerCaption(3).seed(9).augmentation(SimClrAugmentation.stableRep(8)).threads(2).prefetch(3);
    List<MultiViewBatch> full;
    try (MultiViewSampler s = b.build()) {
      full = drain(s, 1);
    }
    assertThat(full).hasSize(5);
    for (int from = 0; from <= full.size(); from++) {
      try (MultiViewSampler s = b.build()) {
        List<MultiViewBatch> rest = new ArrayList<>();
        try (MultiViewSampler.Epoch e = s.epoch(1, from)) {
          assertThat(e.batches()).isEqualTo(full.size());
          while (e.hasNext()) {
            rest.add(e.next());
          }
        }
        assertThat(rest).as("from batch %s", from).hasSize(full.size() - from);
        for (int i = 0; i < rest.size(); i++) {
          MultiViewBatch expected = full.get(from + i);
          assertThat(rest.get(i).paths()).isEqualTo(expected.paths());
          assertThat(rest.get(i).positionalIds()).isEqualTo(expected.positionalIds());
          assertThat(rest.get(i).images()).isEqualTo(expected.images());
        }
        // every decode is an image of a batch that was handed out: none for the skipped ones
        assertThat(s.stats().decoded()).as("from batch %s", from).isEqualTo((long) (full.size() - from) * 6);
      }
    }
    try (MultiViewSampler s = b.build()) {
      assertThatThrownBy(() -> s.epoch(1, 6)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("fromBatch").hasMessageContaining("[0, 5]").hasMessageContaining("6");
      assertThatThrownBy(() -> s.epoch(1, -1)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("fromBatch");
    }
  }

  @Test
  void corruptFilesAreSkippedCountedAndRefilledFromTheSameCaption() throws Exception {
    CaptionDataset clean = folders(4, 3, 4);
    Path bad = dir.resolve("root/c0/9_corrupt.png");
    corrupt(bad);
    CaptionDataset ds = CaptionDataset.fromCaptionFolders(dir.resolve("root"));
    assertThat(ds.imageCount()).isEqualTo(clean.imageCount() + 1);
    long badPicks = 0;
    try (MultiViewSampler s = MultiViewSampler.builder().dataset(ds).captionsPerBatch(2)
        .viewsPerCaption(3).seed(3).threads(2).build()) {
      for (int epoch = 0; epoch < 12; epoch++) {
        for (int bi = 0; bi < s.batchesPerEpoch(epoch); bi++) {
          for (EpochPlan.Slot slot : s.plan(epoch).batches.get(bi).slots()) {
            for (int i : slot.images()) {
              if (ds.captions().get(slot.caption()).images().get(i).equals(bad)) {
                badPicks++;
              }
            }
          }
        }
        for (MultiViewBatch b : drain(s, epoch)) {
          assertWellFormed(b, 2, 3);
          assertThat(b.paths()).doesNotContain(bad);
        }
      }
      SamplerStats st = s.stats();
      assertThat(badPicks).isPositive();
      assertThat(st.skipped()).isEqualTo(badPicks);
      assertThat(st.refilled()).isEqualTo(badPicks);
      assertThat(st.replacedCaptions()).isZero();
      assertThat(st.skippedByReason()).containsEntry("ImageDecodeException", badPicks);
      assertThat(st.firstSkips()).isNotEmpty()
          .allSatisfy(k -> assertThat(k.path()).isEqualTo(bad));
      assertThat(st.firstSkips().get(0).reason()).contains(bad.getFileName().toString());
      assertThat(st.decoded()).isEqualTo(st.batches() * 6);
    }
  }

  @Test
  void aCaptionWithoutEnoughReadableImagesIsReplacedAndCounted() throws Exception {
    folders(4, 2, 4);
    corrupt(dir.resolve("root/c9/0.png"));
    corrupt(dir.resolve("root/c9/1.png"));
    Files.createDirectories(dir.resolve("root/empty")); // 0 images: too small, excluded
    CaptionDataset ds = CaptionDataset.fromCaptionFolders(dir.resolve("root"));
    try (MultiViewSampler s = MultiViewSampler.builder().dataset(ds).captionsPerBatch(2)
        .viewsPerCaption(2).seed(1).build()) {
      assertThat(s.stats().captionsTooSmall()).isEqualTo(1);
      for (int epoch = 0; epoch < 6; epoch++) {
        for (MultiViewBatch b : drain(s, epoch)) {
          assertWellFormed(b, 2, 2);
          assertThat(b.captionIds()).doesNotContain("c9");
        }
      }
      assertThat(s.stats().replacedCaptions()).isPositive();
      assertThat(s.stats().skipped()).isEqualTo(2 * s.stats().replacedCaptions());
      assertThat(s.stats().skippedByReason()).containsOnlyKeys("ImageDecodeException");
    }
  }

  @Test
  void workerFailuresReachTheConsumerAndClosingStopsTheStream() throws Exception {
    png(dir.resolve("root/a/0.png"), 4);
    png(dir.resolve("root/b/0.png"), 6); // another size and no augmentation: cannot stack
    CaptionDataset ds = CaptionDataset.fromCaptionFolders(dir.resolve("root"));
    MultiViewSampler s = MultiViewSampler.builder().dataset(ds).captionsPerBatch(2)
        .viewsPerCaption(1).build();
    MultiViewSampler.Epoch e = s.epoch(0);
    assertThat(e.hasNext()).isTrue();
    assertThatThrownBy(e::next).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expected one size").hasMessageContaining("0.png");
    assertThat(e.hasNext()).isFalse();
    s.close();
    assertThatThrownBy(() -> s.epoch(1)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void prefetchBoundsTheBatchesInFlightAndCloseCancelsThem() throws Exception {
    CaptionDataset ds = folders(10, 1, 4);
    try (MultiViewSampler s = MultiViewSampler.builder().dataset(ds).captionsPerBatch(1)
        .viewsPerCaption(1).prefetch(3).build()) {
      MultiViewSampler.Epoch e = s.epoch(0);
      assertThat(e.batches()).isEqualTo(10);
      assertThat(e.submitted()).isEqualTo(3); // nothing consumed: only prefetch batches queued
      e.next();
      assertThat(e.submitted()).isEqualTo(4);
      e.close();
      assertThat(e.hasNext()).isFalse();
      assertThatThrownBy(e::next).isInstanceOf(java.util.NoSuchElementException.class);
    }
  }

  @Test
  void mixedSizesAreAugmentedOneByOne() throws Exception {
    png(dir.resolve("root/a/0.png"), 10);
    png(dir.resolve("root/b/0.png"), 12);
    CaptionDataset ds = CaptionDataset.fromCaptionFolders(dir.resolve("root"));
    try (MultiViewSampler s = MultiViewSampler.builder().dataset(ds).captionsPerBatch(2)
        .viewsPerCaption(1).augmentation(SimClrAugmentation.stableRep(8)).build()) {
      assertThat(drain(s, 0).get(0).images().shape()).containsExactly(2, 3, 8, 8);
    }
  }

  @Test
  void buildValidatesNamingFieldRangeAndFoundValue() throws Exception {
    CaptionDataset ds = folders(3, 2, 4);
    MultiViewSampler.Builder b = MultiViewSampler.builder().dataset(ds);
    assertThatThrownBy(() -> MultiViewSampler.builder().build())
        .hasMessageContaining("dataset").hasMessageContaining("null");
    assertThatThrownBy(() -> b.captionsPerBatch(0).build())
        .hasMessageContaining("captionsPerBatch: expected >= 1, found 0");
    assertThatThrownBy(() -> b.captionsPerBatch(1).viewsPerCaption(0).build())
        .hasMessageContaining("viewsPerCaption: expected >= 1, found 0");
    assertThatThrownBy(() -> b.viewsPerCaption(1).threads(0).build())
        .hasMessageContaining("threads: expected >= 1, found 0");
    assertThatThrownBy(() -> b.threads(1).prefetch(0).build())
        .hasMessageContaining("prefetch: expected >= 1, found 0");
    assertThatThrownBy(() -> b.prefetch(1).captionsPerBatch(2).viewsPerCaption(3).build())
        .hasMessageContaining("found 0 (of 3)");
    assertThatThrownBy(() -> b.viewsPerCaption(2).build().epoch(-1))
        .hasMessageContaining("epoch: expected >= 0, found -1");
  }
}
