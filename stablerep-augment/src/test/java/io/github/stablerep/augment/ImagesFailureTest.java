package io.github.stablerep.augment;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.factory.Nd4j;

/** Bad files give ImageDecodeException naming the file; nothing else escapes. */
class ImagesFailureTest {

  private static Path dir;

  @BeforeAll
  static void locate() throws URISyntaxException {
    dir = Path.of(ImagesFailureTest.class.getResource("/golden/images").toURI());
  }

  static void assertDecodeFailure(Path file) {
    ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> Images.read(file));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void emptyFile(@TempDir Path tmp) throws IOException {
    Path f = Files.write(tmp.resolve("empty.png"), new byte[0]);
    assertDecodeFailure(f);
  }

  @Test
  void garbage(@TempDir Path tmp) throws IOException {
    byte[] b = new byte[1000];
    new java.util.Random(1).nextBytes(b);
    assertDecodeFailure(Files.write(tmp.resolve("garbage.jpg"), b));
    assertDecodeFailure(Files.write(tmp.resolve("text.png"), "not an image".getBytes()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"rgb_png.png", "baseline_jpg.jpg", "progressive_jpg.jpg", "rgb_bmp.bmp",
      "p_gif.gif", "rgb_tif.tif"})
  void truncatedFiles(String name, @TempDir Path tmp) throws IOException {
    byte[] b = Files.readAllBytes(dir.resolve(name));
    // Header only: every format's pixel data is gone.
    assertDecodeFailure(Files.write(tmp.resolve("head_" + name), Arrays.copyOf(b, 12)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"rgb_png.png", "baseline_jpg.jpg", "progressive_jpg.jpg"})
  void truncatedPixelData(String name, @TempDir Path tmp) throws IOException {
    // Headers intact, half the entropy-coded / compressed data gone: libjpeg would fill the
    // rest with grey and only warn; PIL and Images refuse.
    byte[] b = Files.readAllBytes(dir.resolve(name));
    assertDecodeFailure(Files.write(tmp.resolve("half_" + name), Arrays.copyOf(b, b.length / 2)));
  }

  @Test
  void decompressionBombIsRefusedBeforeDecoding(@TempDir Path tmp) throws IOException {
    // A valid PNG header declaring 65536 x 65536 (2^32 pixels) with a correct CRC.
    byte[] b = Files.readAllBytes(dir.resolve("rgb_png.png"));
    ByteBuffer.wrap(b, 16, 8).putInt(65536).putInt(65536);
    CRC32 crc = new CRC32();
    crc.update(b, 12, 17);
    ByteBuffer.wrap(b, 29, 4).putInt((int) crc.getValue());
    Path f = Files.write(tmp.resolve("bomb.png"), b);
    ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> Images.read(f));
    assertTrue(e.getMessage().contains("65536x65536"), e.getMessage());
  }

  @Test
  void missingFileIsAnIoException(@TempDir Path tmp) {
    assertThrows(NoSuchFileException.class, () -> Images.read(tmp.resolve("absent.png")));
  }

  @Test
  void writePngValidatesShape(@TempDir Path tmp) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Images.writePng(tmp.resolve("x.png"), Nd4j.zeros(4, 2, 2)));
    assertTrue(e.getMessage().contains("[3, H, W]") && e.getMessage().contains("[4, 2, 2]"),
        e.getMessage());
  }
}
