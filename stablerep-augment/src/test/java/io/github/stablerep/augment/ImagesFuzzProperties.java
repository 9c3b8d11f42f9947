package io.github.stablerep.augment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Randomly mutated valid PNG, JPEG, BMP, GIF and TIFF bytes: Images.readBytes returns a [3,H,W]
 * image or throws ImageDecodeException naming the input, nothing else. Generated values are
 * seeds only. (A one-off run of 4000 tries over the same eight sources also passed.)
 */
class ImagesFuzzProperties {

  private static final String[] SOURCES = {"rgb_png.png", "rgba_png.png", "baseline_jpg.jpg",
      "progressive_jpg.jpg", "rgb_bmp.bmp", "p_gif.gif", "rgb_tif.tif", "l_png.png"};

  static byte[] source(int i) {
    try {
      Path dir = Path.of(ImagesFuzzProperties.class.getResource("/golden/images").toURI());
      return Files.readAllBytes(dir.resolve(SOURCES[i]));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] mutate(byte[] original, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    byte[] b = original.clone();
    int edits = 1 + rnd.nextInt(4);
    for (int k = 0; k < edits; k++) {
      switch (rnd.nextInt(4)) {
        case 0 -> b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8)); // bit flip
        case 1 -> b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256); // byte replace
        case 2 -> b = Arrays.copyOf(b, 1 + rnd.nextInt(b.length)); // truncation
        default -> { // inserted garbage
          int at = rnd.nextInt(b.length + 1);
          byte[] junk = new byte[1 + rnd.nextInt(16)];
          for (int j = 0; j < junk.length; j++) {
            junk[j] = (byte) rnd.nextInt(256);
          }
          byte[] c = new byte[b.length + junk.length];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(junk, 0, c, at, junk.length);
          System.arraycopy(b, at, c, at + junk.length, b.length - at);
          b = c;
        }
      }
    }
    return b;
  }

  @Property(tries = 400)
  void mutatedBytesDecodeOrThrowImageDecodeException(
      @ForAll @IntRange(min = 0, max = 7) int source, @ForAll long seed) {
    byte[] b = mutate(source(source), seed);
    try {
      INDArray x = Images.readBytes(b, "mutant-" + seed);
      assertEquals(3, x.rank());
      assertEquals(3, x.size(0));
    } catch (ImageDecodeException e) {
      assertTrue(e.getMessage().contains("mutant-" + seed), e.getMessage());
    }
  }
}
