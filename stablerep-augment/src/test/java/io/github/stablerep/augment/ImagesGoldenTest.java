package io.github.stablerep.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.stablerep.core.io.Npy;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Images.read against PIL 9.4's {@code Image.open(f).convert("RGB")} on files PIL wrote
 * (tools/reference/images_reference.py). Lossless formats must match exactly (x * 255 rounds to
 * PIL's byte). JPEG decoders differ legitimately in IDCT and chroma upsampling: tolerance mean
 * |Δ| ≤ 2/255 and max |Δ| ≤ 16/255, asserted per variant (measured values printed).
 */
class ImagesGoldenTest {

  private static Path dir;

  @BeforeAll
  static void locate() throws URISyntaxException {
    dir = Path.of(ImagesGoldenTest.class.getResource("/golden/images").toURI());
  }

  /** Per-pixel |Java byte − PIL byte| as {mean, max}, after checking the shape. */
  static double[] diff(String file, String golden) throws IOException {
    INDArray x = Images.read(dir.resolve(file));
    INDArray expected = Npy.read(dir.resolve(golden + ".npy")).castTo(DataType.DOUBLE);
    assertEquals(DataType.FLOAT, x.dataType());
    assertArrayEquals(expected.shape(), x.shape(), file);
    assertTrue(x.minNumber().doubleValue() >= 0 && x.maxNumber().doubleValue() <= 1, file);
    double[] a = flat(x);
    double[] e = flat(expected);
    double sum = 0;
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      double d = Math.abs(Math.round(a[i] * 255) - e[i]);
      sum += d;
      max = Math.max(max, d);
    }
    double[] r = {sum / a.length, max};
    System.out.printf("%s: mean |diff| %.4f, max %.0f (in 1/255)%n", file, r[0], r[1]);
    return r;
  }

  static double[] flat(INDArray a) {
    return a.castTo(DataType.DOUBLE).reshape(a.length()).toDoubleVector();
  }

  @ParameterizedTest
  @CsvSource({
    "rgb_png.png, rgb_png", "rgba_png.png, rgba_png", "l_png.png, l_png", "la_png.png, la_png",
    "p_png.png, p_png", "l16_png.png, l16_png", "rgb_bmp.bmp, rgb_bmp", "p_gif.gif, p_gif",
    "rgb_tif.tif, rgb_tif", "ramp_l_png.png, ramp_l_png"
  })
  void losslessFormatsMatchPilExactly(String file, String golden) throws IOException {
    double[] d = diff(file, golden);
    assertEquals(0.0, d[1], file + ": max |diff| in 1/255");
  }

  @ParameterizedTest
  @CsvSource({
    "baseline_jpg.jpg, baseline_jpg", "progressive_jpg.jpg, progressive_jpg",
    "grey_jpg.jpg, grey_jpg"
  })
  void jpegVariantsMatchPilWithinTolerance(String file, String golden) throws IOException {
    double[] d = diff(file, golden);
    assertTrue(d[0] <= 2.0, file + ": mean |diff| " + d[0] + " > 2/255");
    assertTrue(d[1] <= 16.0, file + ": max |diff| " + d[1] + " > 16/255");
  }

  @Test
  void writePngTruncatesAsToPilImage(@TempDir Path tmp) throws IOException {
    INDArray x = Npy.read(dir.resolve("write_input.npy")).castTo(DataType.FLOAT);
    Path out = tmp.resolve("out.png");
    Images.writePng(out, x);
    INDArray back = Images.read(out);
    double[] a = flat(back);
    double[] e = flat(Npy.read(dir.resolve("write_expected.npy")));
    for (int i = 0; i < a.length; i++) {
      assertEquals(e[i], Math.round(a[i] * 255), "pixel " + i);
    }
    // Atomic replace: writing again over the file leaves only the file, no temporaries.
    Images.writePng(out, back);
    try (var files = Files.list(tmp)) {
      assertEquals(1, files.count());
    }
    assertArrayEquals(flat(back), flat(Images.read(out)));
  }
}
