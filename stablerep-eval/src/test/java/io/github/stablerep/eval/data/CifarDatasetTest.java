package io.github.stablerep.eval.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The CIFAR binary reader against files and arrays written by numpy (datasets_reference.py). */
class CifarDatasetTest {

  @TempDir Path tmp;

  @Test
  void cifar10MatchesNumpy() throws IOException {
    CifarDataset d = CifarDataset.cifar10(List.of(DatasetGoldens.dir().resolve("cifar10.bin")));
    assertThat(d.labels()).containsExactly(DatasetGoldens.ints("cifar10_labels"));
    assertThat(d.coarseLabels()).isEmpty();
    assertThat(readAll(d, 2)).isEqualTo(DatasetGoldens.npy("cifar10_images"));
  }

  @Test
  void cifar100MatchesNumpyBothLabelKinds() throws IOException {
    Path file = DatasetGoldens.dir().resolve("cifar100.bin");
    CifarDataset fine = CifarDataset.cifar100(List.of(file), CifarDataset.Cifar100Label.FINE);
    CifarDataset coarse = CifarDataset.cifar100(List.of(file), CifarDataset.Cifar100Label.COARSE);
    assertThat(fine.labels()).containsExactly(DatasetGoldens.ints("cifar100_fine"));
    assertThat(coarse.labels()).containsExactly(DatasetGoldens.ints("cifar100_coarse"));
    assertThat(fine.coarseLabels()).containsExactly(DatasetGoldens.ints("cifar100_coarse"));
    assertThat(readAll(fine, 3)).isEqualTo(DatasetGoldens.npy("cifar100_images"));
  }

  @Test
  void severalFilesReadAsOneAcrossBatchBoundaries() throws IOException {
    Path file = DatasetGoldens.dir().resolve("cifar10.bin");
    Path empty = Files.createFile(tmp.resolve("empty.bin"));
    CifarDataset d = CifarDataset.cifar10(List.of(file, empty, file));
    int[] once = DatasetGoldens.ints("cifar10_labels");
    int[] twice = new int[6];
    System.arraycopy(once, 0, twice, 0, 3);
    System.arraycopy(once, 0, twice, 3, 3);
    assertThat(d.labels()).containsExactly(twice);
    INDArray all = readAll(d, 4);
    INDArray expected = DatasetGoldens.npy("cifar10_images");
    assertThat(all.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(3, 6))).isEqualTo(expected);
  }

  @Test
  void sizeNotAWholeNumberOfRecords() throws IOException {
    byte[] bytes = Files.readAllBytes(DatasetGoldens.dir().resolve("cifar10.bin"));
    Path cut = Files.write(tmp.resolve("cut.bin"), Arrays.copyOf(bytes, bytes.length - 10));
    assertThatThrownBy(() -> CifarDataset.cifar10(List.of(cut)))
        .isInstanceOf(DatasetFormatException.class)
        .hasMessageContaining(cut.toString())
        .hasMessageContaining("expected a multiple of 3073 bytes")
        .hasMessageContaining("found 9209");
    // CIFAR-100 records are one byte longer
    Path c10 = DatasetGoldens.dir().resolve("cifar10.bin");
    assertThatThrownBy(() -> CifarDataset.cifar100(List.of(c10), CifarDataset.Cifar100Label.FINE))
        .isInstanceOf(DatasetFormatException.class)
        .hasMessageContaining("expected a multiple of 3074 bytes");
  }

  @Test
  void labelOutOfRangeNamesRecord() throws IOException {
    byte[] bytes = Files.readAllBytes(DatasetGoldens.dir().resolve("cifar10.bin"));
    bytes[3073] = 10;
    Path bad = Files.write(tmp.resolve("bad.bin"), bytes);
    assertThatThrownBy(() -> CifarDataset.cifar10(List.of(bad)))
        .isInstanceOf(DatasetFormatException.class)
        .hasMessageContaining(bad + ": record 1: expected a label in [0, 10), found 10");
  }

  private static INDArray readAll(ImageDataset d, int batch) throws IOException {
    List<INDArray> parts = new java.util.ArrayList<>();
    try (ImageDataset.Reader r = d.reader()) {
      for (Batch b = r.next(batch); !b.isEmpty(); b = r.next(batch)) {
        parts.add(b.stack());
      }
    }
    return org.nd4j.linalg.factory.Nd4j.concat(0, parts.toArray(new INDArray[0]));
  }
}
