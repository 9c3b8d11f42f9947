package io.github.stablerep.eval.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.NpyException;
import io.github.stablerep.core.io.SafeTensorsException;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.CifarDataset;
import io.github.stablerep.eval.data.DatasetFormatException;
import io.github.stablerep.eval.data.ImageDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * jqwik over byte mutations of the valid npy, CIFAR and checkpoint files of {@link
 * HostileCorpus} (issue 13, "done means"; images, IDX and safetensors have their own): each
 * mutant is read, or refused with the reader's documented exception naming the file.
 */
class MutatedBinariesProperties {

  private static Path dir;
  private static byte[] npy;
  private static byte[] cifar;
  private static byte[] checkpoint;

  @BeforeContainer
  static void sources() throws IOException {
    dir = Files.createTempDirectory("mutated-binaries");
    for (HostileCorpus.Case c : HostileCorpus.generate(13)) {
      if (!c.name().startsWith("valid")) {
        continue;
      }
      byte[] bytes = c.files().values().iterator().next();
      switch (c.reader()) {
        case HostileCorpus.NPY -> npy = bytes;
        case HostileCorpus.CIFAR -> cifar = bytes;
        case HostileCorpus.CHECKPOINT -> checkpoint = bytes;
        default -> { }
      }
    }
    assertThat(npy).isNotNull();
    assertThat(cifar).isNotNull();
    assertThat(checkpoint).isNotNull();
  }

  @AfterContainer
  static void cleanUp() throws IOException {
    try (var s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static Path mutant(byte[] valid, long seed, String name) throws IOException {
    return Files.write(dir.resolve(name), HostileCorpus.mutate(valid, new SplittableRandom(seed)));
  }

  @Property(tries = 200)
  void npyMutantsAreReadOrRefusedWithNpyException(@ForAll long seed) throws Exception {
    Path file = mutant(npy, seed, "m.npy");
    try {
      INDArray a = Npy.read(file);
      assertThat(a.length()).isNotNegative();
    } catch (NpyException e) {
      assertThat(e.getMessage()).contains(file.toString());
    }
  }

  @Property(tries = 200)
  void cifarMutantsAreReadOrRefusedWithDatasetFormatException(@ForAll long seed) throws Exception {
    Path file = mutant(cifar, seed, "m.bin");
    try {
      CifarDataset d = CifarDataset.cifar10(List.of(file));
      try (ImageDataset.Reader r = d.reader()) {
        for (int n = 0; n < d.size(); ) {
          Batch b = r.next(2);
          assertThat(b.images()).isNotEmpty();
          n += b.images().size();
        }
      }
    } catch (DatasetFormatException e) {
      assertThat(e.getMessage()).contains(file.toString());
    }
  }

  @Property(tries = 100)
  void checkpointMutantsAreReadOrRefusedWithSafeTensorsException(@ForAll long seed) throws Exception {
    Path file = mutant(checkpoint, seed, "m.ckpt");
    try {
      assertThat(TrainingCheckpoint.read(file).step()).isNotNegative();
    } catch (SafeTensorsException e) {
      assertThat(e.getMessage()).contains(file.toString());
    }
  }
}
