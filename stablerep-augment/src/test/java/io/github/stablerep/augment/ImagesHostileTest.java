package io.github.stablerep.augment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The decompression bombs and lying headers of issue 13 §2-3, built from the golden images at
 * test time: each is refused with ImageDecodeException naming the file, before the library
 * allocates in proportion to what the file declares (measured with the thread's allocation
 * counter: under 64 MB of heap for every one of these sub-megabyte files).
 */
class ImagesHostileTest {

  private static final long HEAP_BUDGET = 64L << 20;
  private static Path golden;

  @TempDir Path tmp;

  @BeforeAll
  static void locate() throws URISyntaxException {
    golden = Path.of(ImagesHostileTest.class.getResource("/golden/images").toURI());
  }










  /** Reads {@code b} as a file and asserts the refusal names it and says {@code why}; returns heap allocated. */
  long refused(String name, byte[] b, String why) throws Exception {
    Path f = Files.write(tmp.resolve(name), b);
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = mx.getCurrentThreadAllocatedBytes();
    assertThatThrownBy(() -> Images.read(f))
        .isInstanceOf(ImageDecodeException.class)
        .hasMessageContaining(f.toString())
        .hasMessageContaining(why);
    long allocated = mx.getCurrentThreadAllocatedBytes() - before;
    assertThat(allocated).as("heap allocated refusing %s (%s bytes)", name, b.length).isLessThan(HEAP_BUDGET);
    return allocated;
  }

  @Test
  void pngDeclaringAHugeImageIsRefusedFromItsHeader() throws Exception {
    byte[] tiny = PngBytes.concat(PngBytes.SIGNATURE, PngBytes.ihdr(65536, 65536), PngBytes.chunk("IDAT", PngBytes.deflate(new byte[64])), PngBytes.chunk("IEND", new byte[0]));
    refused("bomb74.png", tiny, "found 65536x65536");
    // 16384^2 is exactly the old limit, 2^28: now beyond the default
    refused("bomb16k.png", PngBytes.concat(PngBytes.SIGNATURE, PngBytes.ihdr(16384, 16384), PngBytes.chunk("IDAT", PngBytes.deflate(new byte[64]))),
        "found 16384x16384");
    refused("zero.png", PngBytes.concat(PngBytes.SIGNATURE, PngBytes.ihdr(0, 7)), "found 0x7");
  }

  @Test
  void pngChunkLengthsMustFitTheFile() throws Exception {
    byte[] png = Files.readAllBytes(golden.resolve("rgb_png.png"));
    byte[] lying = png.clone();
    int idat = indexOf(png, "IDAT".getBytes(StandardCharsets.ISO_8859_1)) - 4;
    ByteBuffer.wrap(lying, idat, 4).putInt(1 << 30);
    refused("chunk2e30.png", lying, "expected a length within the");
    byte[] firstNotIhdr = PngBytes.concat(PngBytes.SIGNATURE, PngBytes.chunk("IDAT", new byte[13]));
    refused("noihdr.png", firstNotIhdr, "IHDR");
  }

  @Test
  void zlibBombInMetadataIsRefusedWithoutInflatingIt() throws Exception {
    byte[] png = Files.readAllBytes(golden.resolve("rgb_png.png"));
    byte[] profile = PngBytes.deflate(new byte[64 << 20]); // 64 MiB of zeros in ~64 KB
    byte[] iccp = PngBytes.concat("bomb".getBytes(StandardCharsets.ISO_8859_1), new byte[] {0, 0}, profile);
    byte[] ztxt = PngBytes.concat("Comment".getBytes(StandardCharsets.ISO_8859_1), new byte[] {0, 0}, profile);
    byte[] itxt = PngBytes.concat("Comment".getBytes(StandardCharsets.ISO_8859_1), new byte[] {0, 1, 0, 0, 0}, profile);
    for (String type : new String[] {"iCCP", "zTXt", "iTXt"}) {
      byte[] data = type.equals("iCCP") ? iccp : type.equals("zTXt") ? ztxt : itxt;
      byte[] bomb = PngBytes.concat(Arrays.copyOf(png, 33), PngBytes.chunk(type, data), Arrays.copyOfRange(png, 33, png.length));
      refused(type + "-bomb.png", bomb, "ImageLimits.maxMetadataBytes");
    }
    // within the limit, the same chunk is harmless
    byte[] small = PngBytes.concat(Arrays.copyOf(png, 33),
        PngBytes.chunk("zTXt", PngBytes.concat("Comment".getBytes(StandardCharsets.ISO_8859_1), new byte[] {0, 0}, PngBytes.deflate(new byte[100]))),
        Arrays.copyOfRange(png, 33, png.length));
    assertThat(Images.readBytes(small, "small-ztxt").shape()).containsExactly(3, 24, 32);
  }

  @Test
  void gifScreenAndFramesAreChecked() throws Exception {
    byte[] gif = Files.readAllBytes(golden.resolve("p_gif.gif"));
    byte[] screen = gif.clone();
    ByteBuffer.wrap(screen, 6, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putShort((short) 16384).putShort((short) 16384);
    refused("screen.gif", screen, "16384x16384");
    byte[] frame = gif.clone();
    int descriptor = frameDescriptor(gif);
    ByteBuffer.wrap(frame, descriptor + 5, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .putShort((short) 0xFFFF).putShort((short) 0xFFFF);
    refused("frame.gif", frame, "65535x65535");
  }

  @Test
  void jpegDimensionsAreCheckedBeforeDecoding() throws Exception {
    for (String name : new String[] {"baseline_jpg.jpg", "progressive_jpg.jpg"}) {
      byte[] jpg = Files.readAllBytes(golden.resolve(name));
      int sof = sofOffset(jpg);
      byte[] b30k = jpg.clone();
      ByteBuffer.wrap(b30k, sof + 5, 4).putShort((short) 30000).putShort((short) 30000);
      refused("30k-" + name, b30k, "found 30000x30000");
      byte[] b16k = jpg.clone();
      ByteBuffer.wrap(b16k, sof + 5, 4).putShort((short) 16384).putShort((short) 16384);
      refused("16k-" + name, b16k, "found 16384x16384");
    }
  }

  @Test
  void bmpHeadersMustFitTheFile() throws Exception {
    byte[] bmp = Files.readAllBytes(golden.resolve("rgb_bmp.bmp"));
    byte[] palette = bmp.clone();
    ByteBuffer.wrap(palette, 46, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(Integer.MAX_VALUE);
    refused("palette.bmp", palette, "colours declared");
    byte[] offset = bmp.clone();
    ByteBuffer.wrap(offset, 10, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(-1);
    refused("offset.bmp", offset, "pixel offset");
  }

  @ParameterizedTest
  @ValueSource(strings = {"baseline_jpg.jpg", "progressive_jpg.jpg"})
  void everyTruncatedJpegIsRefused(String name) throws Exception {
    // PIL raises "image file is truncated" for all of these; libjpeg only warns and fills grey
    byte[] jpg = Files.readAllBytes(golden.resolve(name));
    int accepted = 0;
    StringBuilder which = new StringBuilder();
    for (int n = 1; n < jpg.length; n += Math.max(1, jpg.length / 110)) {
      try {
        Images.readBytes(Arrays.copyOf(jpg, n), name + "[0:" + n + "]");
        accepted++;
        which.append(' ').append(n);
      } catch (ImageDecodeException e) {
        assertThat(e.getMessage()).contains(name + "[0:" + n + "]");
      }
    }
    assertThat(accepted).as("truncations accepted:%s of %s bytes", which, jpg.length).isZero();
  }

  @Test
  void limitsAreConfigurable() throws Exception {
    Path f = golden.resolve("rgb_png.png"); // 32 x 24 = 768 pixels
    ImageLimits tight = ImageLimits.builder().maxPixels(767).build();
    assertThatThrownBy(() -> Images.read(f, tight)).isInstanceOf(ImageDecodeException.class)
        .hasMessageContaining("1 to 767 pixels (ImageLimits.maxPixels), found 32x24");
    INDArray x = Images.read(f, tight.toBuilder().maxPixels(768).build());
    assertThat(x.shape()).containsExactly(3, 24, 32);
    ImageLimits small = ImageLimits.builder().maxFileBytes(10).build();
    assertThatThrownBy(() -> Images.read(f, small)).isInstanceOf(ImageDecodeException.class)
        .hasMessageContaining("at most 10 bytes (ImageLimits.maxFileBytes)");
    assertThatThrownBy(() -> ImageLimits.builder().maxPixels(1L << 29).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxPixels");
    assertThat(ImageLimits.DEFAULT.maxPixels()).isEqualTo(1L << 23);
  }

  static int indexOf(byte[] b, byte[] what) {
    outer:
    for (int i = 0; i + what.length <= b.length; i++) {
      for (int j = 0; j < what.length; j++) {
        if (b[i + j] != what[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new IllegalArgumentException("not found");
  }

  /** The offset of the SOF0/SOF2 marker; height and width are at +5 and +7. */
  static int sofOffset(byte[] jpg) {
    for (int i = 2; i + 1 < jpg.length; i++) {
      if ((jpg[i] & 0xFF) == 0xFF && ((jpg[i + 1] & 0xFF) == 0xC0 || (jpg[i + 1] & 0xFF) == 0xC2)) {
        return i;
      }
    }
    throw new IllegalArgumentException("no SOF");
  }

  /** The first image descriptor of a GIF (after the header, colour table and extensions). */
  static int frameDescriptor(byte[] gif) {
    int pos = 13 + ((gif[10] & 0x80) != 0 ? 3 << ((gif[10] & 7) + 1) : 0);
    while ((gif[pos] & 0xFF) == 0x21) {
      pos += 2;
      while ((gif[pos] & 0xFF) != 0) {
        pos += 1 + (gif[pos] & 0xFF);
      }
      pos++;
    }
    return pos;
  }
}
