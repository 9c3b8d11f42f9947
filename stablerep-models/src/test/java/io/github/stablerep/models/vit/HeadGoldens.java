package io.github.stablerep.models.vit;

import io.github.stablerep.core.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The goldens of tools/reference/head_reference.py and a comparison with a stated tolerance. */
final class HeadGoldens {

  private HeadGoldens() {}

  static Path dir() {
    URL url = HeadGoldens.class.getResource("/golden/head");
    if (url == null) {
      throw new IllegalStateException("missing golden/head; run tools/reference/head_reference.py");
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static INDArray npy(String name) {
    try {
      return Npy.read(dir().resolve(name + ".npy"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@link io.github.stablerep.core.Goldens#assertClose}: relative L2 and per-element bounds. */
  static double assertClose(String what, INDArray expected, INDArray actual, double relTol) {
    return io.github.stablerep.core.Goldens.assertClose(what, expected, actual, relTol);
  }
}
