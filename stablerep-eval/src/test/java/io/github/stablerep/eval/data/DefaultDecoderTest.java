package io.github.stablerep.eval.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.PngBytes;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Evaluation decodes as training does: the readers' no-decoder {@code open} methods decode with
 * {@link Images#read} (the same pixels, bit for bit) and inherit its limits, so a small file
 * declaring a huge image is refused before it is allocated, where a bare {@code javax.imageio}
 * decoder would allocate it.
 */
class DefaultDecoderTest {

  @TempDir Path tmp;

  /** A 64 × 48 JPEG of noise: lossy, so a decoder's own choices show in the pixels. */
  private static void jpeg(Path file) throws IOException {
    BufferedImage img = new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB);
    Random rnd = new Random(5);
    for (int y = 0; y < 48; y++) {
      for (int x = 0; x < 64; x++) {
        img.setRGB(x, y, rnd.nextInt(1 << 24));
      }
    }
    Files.createDirectories(file.getParent());
    assertThat(ImageIO.write(img, "jpg", file.toFile())).isTrue();
  }

  /** A valid-looking PNG of a few hundred bytes that declares 65536 × 65536 pixels. */
  private static void bomb(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, PngBytes.concat(PngBytes.SIGNATURE, PngBytes.ihdr(65536, 65536),
        PngBytes.chunk("IDAT", PngBytes.deflate(new byte[4096])), PngBytes.chunk("IEND", new byte[0])));
  }

  private static INDArray first(ImageDataset d) throws IOException {
    try (ImageDataset.Reader r = d.reader()) {
      return r.next(1).images().get(0);
    }
  }

  @Test
  void imageFolderDecodesWithImagesRead() throws IOException {
    Path root = tmp.resolve("folder");
    jpeg(root.resolve("a/photo.jpg"));
    INDArray got = first(ImageFolderDataset.open(root));
    assertThat(got.data().asFloat())
        .containsExactly(Images.read(root.resolve("a/photo.jpg")).data().asFloat());

    bomb(root.resolve("b/bomb.png"));
    ImageFolderDataset withBomb = ImageFolderDataset.open(root);
    try (ImageDataset.Reader r = withBomb.reader()) {
      r.next(1);
      assertThatThrownBy(() -> r.next(1)).isInstanceOf(DatasetFormatException.class)
          .hasMessageContaining("bomb.png").hasMessageContaining("expected dimensions with 1 to");
    }
  }

  @Test
  void manifestDecodesWithImagesRead() throws IOException {
    jpeg(tmp.resolve("photo.jpg"));
    bomb(tmp.resolve("bomb.png"));
    Path m = Files.writeString(tmp.resolve("m.csv"), "path,label\nphoto.jpg,0\nbomb.png,1\n");
    ManifestDataset d = ManifestDataset.open(m);
    try (ImageDataset.Reader r = d.reader()) {
      assertThat(r.next(1).images().get(0).data().asFloat())
          .containsExactly(Images.read(tmp.resolve("photo.jpg")).data().asFloat());
      assertThatThrownBy(() -> r.next(1)).isInstanceOf(DatasetFormatException.class)
          .hasMessageContaining("bomb.png").hasMessageContaining("expected dimensions with 1 to");
    }
  }
}
