package io.github.stablerep.eval.data;

import io.github.stablerep.core.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The goldens written by tools/reference/datasets_reference.py. */
final class DatasetGoldens {

  /** Where Debian's dataset-fashion-mnist puts the files; .ci/run installs the package. */
  static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

  private DatasetGoldens() {}

  static Path dir() {
    try {
      return Path.of(DatasetGoldens.class.getResource("/golden/datasets").toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException(
          "missing golden/datasets; run tools/reference/datasets_reference.py", e);
    }
  }

  static INDArray npy(String name) {
    try {
      return Npy.read(dir().resolve(name + ".npy"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static int[] ints(String name) {
    INDArray a = npy(name);
    return a.reshape(a.length()).toIntVector();
  }
}
