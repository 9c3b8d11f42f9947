package io.github.stablerep.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class DemoDataTest {
  @TempDir
  Path tmp;

  @Test
  void embeddedSubsetIsBalancedAndGroupsIntoCaptionsOfOneClass() throws Exception {
    DemoData d = DemoData.load(null, tmp.resolve("work"), 28, 20, 5);
    assertThat(d.classes()).hasSize(10).startsWith("T-shirt/top");
    assertThat(d.train().size()).isEqualTo(200);
    assertThat(d.test().size()).isEqualTo(50);
    assertThat(d.train().images().shape()).containsExactly(200, 3, 28, 28);
    // grayscale replicated: the three channels are equal
    assertThat(d.train().images().get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.point(0)))
        .isEqualTo(d.train().images().get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
            org.nd4j.linalg.indexing.NDArrayIndex.point(2)));
    List<Path> files = d.exportTrainImages(tmp.resolve("png"), n -> { });
    assertThat(Images.read(files.get(7)).shape()).containsExactly(3, 28, 28);
    CaptionDataset c = d.captionGroups(files, 0);
    assertThat(c.captions()).hasSize(20); // 20 per class in groups of 10
    Set<Path> seen = new HashSet<>();
    for (CaptionGroup g : c.captions()) {
      assertThat(g.size()).isEqualTo(DemoData.GROUP);
      int label = d.train().labels()[files.indexOf(g.images().get(0))];
      for (Path p : g.images()) {
        assertThat(d.train().labels()[files.indexOf(p)]).isEqualTo(label);
        assertThat(seen.add(p)).isTrue();
      }
      assertThat(g.caption()).contains(d.classes().get(label).toLowerCase(java.util.Locale.ROOT));
    }
    // the IDX files the embedded set was unpacked to are also a valid --data folder
    DemoData idx = DemoData.load(tmp.resolve("work").resolve("embedded"), tmp.resolve("w2"), 28, 20, 5);
    assertThat(idx.source()).startsWith("IDX folder");
    assertThat(idx.train().labels()).containsExactly(d.train().labels());
  }

  @Test
  void imageFolderWithTrainAndTestIsResizedAndLabelled() throws Exception {
    for (String split : List.of("train", "test")) {
      for (String cls : List.of("cat", "dog")) {
        for (int i = 0; i < 2; i++) {
          Path f = Files.createDirectories(tmp.resolve("folder").resolve(split).resolve(cls)).resolve(i + ".png");
          Images.writePng(f, Nd4j.rand(DataType.FLOAT, 3, 40, 56));
        }
      }
    }
    DemoData d = DemoData.load(tmp.resolve("folder"), tmp.resolve("work"), 28, 100, 100);
    assertThat(d.classes()).containsExactly("cat", "dog");
    assertThat(d.train().images().shape()).containsExactly(4, 3, 28, 28);
    assertThat(d.test().labels()).containsExactly(0, 0, 1, 1);
  }
}
