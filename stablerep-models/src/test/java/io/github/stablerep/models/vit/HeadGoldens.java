package io.github.stablerep.models.vit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.stablerep.core.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
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

  /**
   * Relative L2 error at most {@code relTol}, and no element off by more than {@code relTol ·
   * max|expected|} (one bad entry cannot hide in the norm). Returns the relative L2 error.
   */
  static double assertClose(String what, INDArray expected, INDArray actual, double relTol) {
    assertTrue(
        Arrays.equals(expected.shape(), actual.shape()),
        what + ": shape " + Arrays.toString(actual.shape()) + " != " + Arrays.toString(expected.shape()));
    INDArray e = expected.castTo(DataType.DOUBLE);
    INDArray a = actual.castTo(DataType.DOUBLE);
    double scale = e.norm2Number().doubleValue();
    double diff = a.sub(e).norm2Number().doubleValue();
    double maxAbs = e.amaxNumber().doubleValue();
    double maxDiff = a.sub(e).amaxNumber().doubleValue();
    assertTrue(diff <= relTol * scale, what + ": relative L2 error " + (diff / scale) + " > " + relTol);
    assertTrue(
        maxDiff <= relTol * maxAbs,
        what + ": max abs error " + maxDiff + " > " + relTol + " * max|expected| " + maxAbs);
    return diff / scale;
  }
}
