package io.github.stablerep.eval;

import io.github.stablerep.core.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The digits goldens written by tools/reference/probe_reference.py. */
final class ProbeGoldens {

  private ProbeGoldens() {}

  static Path dir() {
    try {
      return Path.of(ProbeGoldens.class.getResource("/golden/probe").toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("missing golden/probe; run tools/reference/probe_reference.py", e);
    }
  }

  static INDArray npy(String name) {
    try {
      return Npy.read(dir().resolve(name + ".npy"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static int[] labels(String name) {
    INDArray a = npy(name);
    return a.reshape(a.length()).toIntVector();
  }

  static double scalar(String name) {
    return npy(name).getDouble(0);
  }
}
