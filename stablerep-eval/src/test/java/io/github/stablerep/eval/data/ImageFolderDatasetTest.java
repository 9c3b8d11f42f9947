package io.github.stablerep.eval.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** ImageFolder indexing (torchvision's order and extensions) and the javax.imageio decoder. */
class ImageFolderDatasetTest {

  @TempDir Path tmp;

  @Test
  void indexesAsTorchvision() throws IOException {
    Path root = tmp.resolve("root");
    // class names deliberately out of creation order, one uppercase (sorts first, as in Python)
    png(root.resolve("dog/b.png"), 2, 2, 1);
    png(root.resolve("dog/a.PNG"), 2, 2, 2);     // extension check is case-insensitive
    png(root.resolve("dog/sub/c.png"), 2, 2, 3); // nested folders are walked
    Files.writeString(root.resolve("dog/notes.txt"), "not an image");
    png(root.resolve("Zebra/z.png"), 2, 2, 4);
    png(root.resolve("cat/x.png"), 2, 2, 5);
    Files.writeString(root.resolve("readme.txt"), "a file at the root is not a class");

    ImageFolderDataset d = ImageFolderDataset.open(root);
    assertThat(d.classes()).containsExactly("Zebra", "cat", "dog");
    assertThat(d.labels()).containsExactly(0, 1, 2, 2, 2);
    assertThat(d.files().stream().map(p -> root.relativize(p).toString()))
        .containsExactly("Zebra/z.png", "cat/x.png", "dog/a.PNG", "dog/b.png", "dog/sub/c.png");
  }

  @Test
  void decodesRgbAndGreyExactly() throws IOException {
    Path root = tmp.resolve("root");
    int[][] rgb = png(root.resolve("a/rgb.png"), 3, 5, 7);
    BufferedImage grey = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_GRAY);
    Random rnd = new Random(11);
    int[] g = new int[8];
    for (int k = 0; k < 8; k++) {
      g[k] = rnd.nextInt(256);
      grey.getRaster().setSample(k % 4, k / 4, 0, g[k]);
    }
    Files.createDirectories(root.resolve("b"));
    ImageIO.write(grey, "png", root.resolve("b/grey.png").toFile());

    ImageFolderDataset d = ImageFolderDataset.open(root);
    try (ImageDataset.Reader r = d.reader()) {
      Batch b = r.next(10);
      INDArray im = b.images().get(0);
      assertThat(im.shape()).containsExactly(3, 3, 5);
      for (int y = 0; y < 3; y++) {
        for (int x = 0; x < 5; x++) {
          int argb = rgb[y][x];
          assertThat(im.getFloat(0, y, x)).isEqualTo(((argb >> 16) & 0xFF) / 255f);
          assertThat(im.getFloat(1, y, x)).isEqualTo(((argb >> 8) & 0xFF) / 255f);
          assertThat(im.getFloat(2, y, x)).isEqualTo((argb & 0xFF) / 255f);
        }
      }
      INDArray gi = b.images().get(1);
      // grey is replicated into RGB from the stored samples (no colour conversion)
      assertThat(gi.shape()).containsExactly(3, 2, 4);
      for (int k = 0; k < 8; k++) {
        for (int c = 0; c < 3; c++) {
          assertThat(gi.getFloat(c, k / 4, k % 4)).isEqualTo(g[k] / 255f);
        }
      }
      assertThatThrownBy(b::stack).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("[3, 3, 5] at index 0 and [3, 2, 4] at index 1");
    }
  }

  @Test
  void customDecoderIsTheSeam() throws IOException {
    Path root = tmp.resolve("root");
    Files.createDirectories(root.resolve("only"));
    Files.writeString(root.resolve("only/fake.webp"), "not decodable by javax.imageio");
    ImageFolderDataset d = ImageFolderDataset.open(root, f -> Nd4j.ones(3, 1, 1));
    try (ImageDataset.Reader r = d.reader()) {
      assertThat(r.next(1).images().get(0).getFloat(0, 0, 0)).isEqualTo(1f);
    }
    ImageFolderDataset fallback = ImageFolderDataset.open(root);
    assertThatThrownBy(() -> fallback.reader().next(1))
        .isInstanceOf(DatasetFormatException.class)
        .hasMessageContaining("fake.webp")
        .hasMessageContaining("found no reader");
  }

  @Test
  void emptyClassAndMissingRootAreErrors() throws IOException {
    Path root = tmp.resolve("root");
    png(root.resolve("full/a.png"), 1, 1, 1);
    Files.createDirectories(root.resolve("empty"));
    Files.writeString(root.resolve("empty/a.txt"), "x");
    assertThatThrownBy(() -> ImageFolderDataset.open(root))
        .isInstanceOf(DatasetFormatException.class)
        .hasMessageContaining("found none in [empty]");
    assertThatThrownBy(() -> ImageFolderDataset.open(tmp.resolve("nope")))
        .isInstanceOf(DatasetFormatException.class)
        .hasMessageContaining("found nothing");
  }

  @Test
  void codePointOrderMatchesPython() {
    // U+FF21 (fullwidth A) is a single UTF-16 unit above the surrogates U+D83D..; Python puts
    // the emoji (U+1F600) after it, Java's String.compareTo before it.
    String emoji = new String(Character.toChars(0x1F600));
    String wide = "\uFF21";
    assertThat(emoji.compareTo(wide)).isNegative();
    assertThat(ImageFolderDataset.CODE_POINT_ORDER.compare(emoji, wide)).isPositive();
    assertThat(ImageFolderDataset.CODE_POINT_ORDER.compare("a", "ab")).isNegative();
    assertThat(ImageFolderDataset.CODE_POINT_ORDER.compare("B", "a")).isNegative();
  }

  /** Writes a random RGB PNG; returns its ARGB pixels [y][x]. */
  static int[][] png(Path file, int h, int w, long seed) throws IOException {
    Files.createDirectories(file.getParent());
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Random rnd = new Random(seed);
    int[][] px = new int[h][w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        px[y][x] = rnd.nextInt(1 << 24);
        img.setRGB(x, y, px[y][x]);
      }
    }
    ImageIO.write(img, "png", file.toFile());
    return px;
  }

}
