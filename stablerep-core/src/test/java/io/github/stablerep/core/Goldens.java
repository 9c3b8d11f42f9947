package io.github.stablerep.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** Golden files written by the scripts in tools/reference, and comparisons with stated tolerances. */
public final class Goldens {

  private Goldens() {}

  public static Path dir(String resource) {
    URL url = Goldens.class.getResource("/golden/" + resource);
    if (url == null) {
      throw new IllegalStateException("missing golden resource " + resource + "; run tools/reference");
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  public static INDArray npy(Path dir, String name) {
    try {
      return Npy.read(dir.resolve(name + ".npy"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static double scalar(Path dir, String name) {
    return npy(dir, name).getDouble(0);
  }

  /**
   * Relative L2 error ‖actual − expected‖ / ‖expected‖ at most {@code relTol}, and no element
   * off by more than {@code relTol · max|expected|}: the second catches one bad entry that a
   * norm over thousands would hide. Returns the relative L2 error.
   */
  public static double assertClose(String what, INDArray expected, INDArray actual, double relTol) {
    assertTrue(
        Arrays.equals(expected.shape(), actual.shape()),
        what + ": shape " + Arrays.toString(actual.shape()) + " != " + Arrays.toString(expected.shape()));
    INDArray e = expected.castTo(DataType.DOUBLE);
    INDArray a = actual.castTo(DataType.DOUBLE);
    double scale = e.norm2Number().doubleValue();
    double diff = a.sub(e).norm2Number().doubleValue();
    double maxAbs = e.amaxNumber().doubleValue();
    double maxDiff = a.sub(e).amaxNumber().doubleValue();
    assertTrue(
        diff <= relTol * scale || (scale == 0 && diff <= relTol),
        what + ": relative L2 error " + (diff / scale) + " > " + relTol);
    assertTrue(
        maxDiff <= relTol * Math.max(maxAbs, 1e-30) || (maxAbs == 0 && maxDiff <= relTol),
        what + ": max abs error " + maxDiff + " > " + relTol + " * max|expected| " + maxAbs);
    return scale == 0 ? diff : diff / scale;
  }

  public static void assertRelative(String what, double expected, double actual, double relTol) {
    double tol = relTol * Math.max(Math.abs(expected), 1e-12);
    assertEquals(expected, actual, tol, what + ": relative error " + Math.abs(actual - expected) / Math.abs(expected));
  }
}
