package io.github.stablerep.examples.programs;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What the example programs share and a user does not need to copy: drawing toy images, so that
 * each program runs without a dataset, and reading {@code --name value} arguments.
 */
final class ToyImages {

  private ToyImages() {}

  /**
   * A [3, size, size] image in [0, 1]: a disc, square or (any other name) horizontal bar of
   * half-size {@code r} centred at ({@code cx}, {@code cy}), colour {@code fg} on {@code bg}, plus
   * Gaussian noise of standard deviation {@code noise}.
   */
  static INDArray shape(String shape, int size, int cx, int cy, int r, float[] fg, float[] bg, double noise,
      Random rnd) {
    float[] px = new float[3 * size * size];
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        int dx = x - cx;
        int dy = y - cy;
        boolean inside = switch (shape) {
          case "disc" -> dx * dx + dy * dy <= r * r;
          case "square" -> Math.abs(dx) <= r && Math.abs(dy) <= r;
          default -> Math.abs(dx) <= 2 * r && Math.abs(dy) <= r / 3;
        };
        for (int ch = 0; ch < 3; ch++) {
          float v = (inside ? fg[ch] : bg[ch]) + (float) noise * (float) rnd.nextGaussian();
          px[ch * size * size + y * size + x] = Math.min(1f, Math.max(0f, v));
        }
      }
    }
    return Nd4j.create(px, new long[] {3, size, size}, 'c');
  }

  /** {@code --name value} pairs; an unknown name or a missing value is one clear error. */
  static Map<String, String> parse(String[] args, String... names) {
    List<String> known = List.of(names);
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      String a = args[i];
      if (!a.startsWith("--") || !known.contains(a.substring(2))) {
        throw new IllegalArgumentException("unknown argument '" + a + "'; expected one of --" + String.join(", --", known));
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("option " + a + " expects a value");
      }
      out.put(a.substring(2), args[i + 1]);
    }
    return out;
  }
}
