package io.github.stablerep.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.core.io.Npy;
import io.github.stablerep.examples.TinyStableDiffusion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class DemoDataTest {
  @TempDir
  Path tmp;

  @Test
  void embeddedSubsetIsBalancedAndAlsoAnIdxFolder() throws Exception {
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

  /** Size and brightness terciles as tools/tiny-sd/prompts.py computes them, by NumPy. */
  @Test
  void contentTercilesMatchTheGeneratorsCaptionRule() throws Exception {
    DemoData d = DemoData.load(null, tmp.resolve("work"), 28, 20, 5);
    INDArray golden = Npy.read(Path.of(DemoDataTest.class.getResource("/golden/demo/content_terciles.npy").toURI()));
    int[][] t = DemoData.contentTerciles(d.train(), 10);
    for (int a = 0; a < 2; a++) {
      for (int i = 0; i < d.train().size(); i++) {
        assertThat(t[a][i]).as("attribute %s of image %s", a, i).isEqualTo(golden.getInt(a, i));
      }
    }
  }

  /** Real images grouped like the generated set: per caption, images of its class, size and brightness. */
  @Test
  void realCaptionGroupsFollowTheCaptionWords() throws Exception {
    DemoData d = DemoData.load(null, tmp.resolve("work"), 28, 200, 5);
    List<TinyStableDiffusion.Caption> captions = TinyStableDiffusion.captions(2);
    CaptionDataset real = d.realCaptionGroups(captions, 2, tmp.resolve("real"), n -> { });
    assertThat(real.captions()).hasSize(20);
    int[][] t = DemoData.contentTerciles(d.train(), 10);
    Set<Path> seen = new HashSet<>();
    for (int c = 0; c < captions.size(); c++) {
      CaptionGroup g = real.captions().get(c);
      TinyStableDiffusion.Caption cap = captions.get(c);
      assertThat(g.caption()).isEqualTo(cap.text());
      assertThat(g.size()).isEqualTo(2);
      for (Path p : g.images()) {
        assertThat(seen.add(p)).isTrue();
        INDArray im = Images.read(p);
        // find the training image it was written from: same class and the caption's terciles
        boolean found = false;
        for (int i = 0; i < d.train().size() && !found; i++) {
          found = d.train().labels()[i] == cap.label() && t[0][i] == cap.size() && t[1][i] == cap.brightness()
              && d.train().images().get(NDArrayIndex.point(i)).sub(im).amaxNumber().doubleValue() < 1e-6;
        }
        assertThat(found).as("%s is a training image of %s", p, cap.text()).isTrue();
      }
    }
  }
}
